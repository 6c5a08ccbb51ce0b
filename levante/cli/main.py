"""``levante`` command line: a Mistral-compatible client plus ``levante server``.

    levante [--url URL] [-f FORMAT] [-c COLUMN] <command> [args] [options]
    levante server ...        (delegated to levante.cli.server.run_server)
    levante --version

The client commands mirror the ``mistral`` CLI (python-mistralclient): same
command names, arguments, columns.  Errors print ``ERROR: <message>`` on
stderr and exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Sequence, TextIO

from levante import __version__
from levante.cli import (action_executions, actions, code_sources, environments,  # noqa: F401
                         executions, maintenance, members, queues, tasks, tokens, triggers,
                         workbooks, workflows)
from levante.cli.base import COMMANDS, DATA, LIST, SHOW, CommandSpec, Context
from levante.cli.client import DEFAULT_URL, URL_ENV, CLIError
from levante.cli.output import (DATA_FORMATS, LIST_FORMATS, SHOW_FORMATS, Data, Listing,
                                Failed, OutputError, Record, Text, emit_data, emit_list, emit_one,
                                use_colour)

ALL_FORMATS = sorted(set(LIST_FORMATS) | set(SHOW_FORMATS))
SERVER_COMMAND = "server"


def _add_url(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "--url", "--os-mistral-url", dest="url", metavar="URL", default=default,
        help="API base URL including /v2 (default: $%s or %s)"
             % (URL_ENV, DEFAULT_URL))


def _add_format_options(parser: argparse.ArgumentParser, kind: str) -> None:
    formats = {LIST: LIST_FORMATS, DATA: DATA_FORMATS}.get(kind, SHOW_FORMATS)
    group = parser.add_argument_group("output formatters")
    group.add_argument("-f", "--format", dest="formatter", choices=formats,
                       default=argparse.SUPPRESS,
                       help="the output format, defaults to table")
    if kind != DATA:
        group.add_argument("-c", "--column", dest="columns", action="append",
                           metavar="COLUMN", default=argparse.SUPPRESS,
                           help="specify the column(s) to include, can be repeated")
    group.add_argument("--noindent", action="store_true",
                       default=argparse.SUPPRESS,
                       help="json: whether to disable indenting the JSON")
    if kind == LIST:
        group.add_argument("--quote", dest="quote_mode",
                           choices=["all", "minimal", "none", "nonnumeric"],
                           default="nonnumeric",
                           help="csv: when to include quotes")
        group.add_argument("--sort-column", dest="sort_columns",
                           action="append", default=[], metavar="SORT_COLUMN",
                           help="column(s) to sort the data by, can be repeated")
        direction = group.add_mutually_exclusive_group()
        direction.add_argument("--sort-ascending", dest="sort_direction",
                               action="store_const", const="asc", default="asc",
                               help="sort the column(s) in ascending order")
        direction.add_argument("--sort-descending", dest="sort_direction",
                               action="store_const", const="desc",
                               help="sort the column(s) in descending order")
    elif kind == SHOW:
        group.add_argument("--prefix", default="",
                           help="shell: add a prefix to all variable names")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="levante",
        description="Levante: a Mistral-compatible workflow service. "
                    "Client commands talk to the REST API v2; "
                    "'levante server' runs the service.")
    parser.add_argument("--version", action="version",
                        version="levante %s" % __version__)
    _add_url(parser, None)
    parser.add_argument("--os-auth-token", "--token", dest="auth_token", metavar="TOKEN", default=None,
                        help="credential sent as X-Auth-Token (default: $LEVANTE_TOKEN, else the "
                             "credential file a token-mode server wrote for this URL)")
    parser.add_argument("-f", "--format", dest="formatter", choices=ALL_FORMATS,
                        default=None, help="output format (default table)")
    parser.add_argument("-c", "--column", dest="columns", action="append",
                        metavar="COLUMN", default=None,
                        help="column(s) to include, can be repeated")
    parser.add_argument("--noindent", action="store_true", default=False,
                        help="json: disable indenting")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show tracebacks on errors")

    sub = parser.add_subparsers(dest="command", metavar="<command>")
    sub.add_parser(SERVER_COMMAND, add_help=False,
                   help="run the Levante server (see 'levante server --help')")
    sub.add_parser("help", help="show help for a command",
                   add_help=False).add_argument("topic", nargs="?")
    for name in sorted(COMMANDS):
        spec = COMMANDS[name]
        cmd = sub.add_parser(name, help=spec.help, description=spec.help)
        for arg in spec.args:
            arg.add_to(cmd)
        _add_url(cmd, argparse.SUPPRESS)
        if spec.kind in (LIST, SHOW, DATA):
            _add_format_options(cmd, spec.kind)
    return parser


def render(spec: CommandSpec, result, args, stdout: TextIO) -> None:
    if result is None:
        return
    if isinstance(result, Text):
        stdout.write(result.text)
        return
    fmt = args.formatter or "table"
    colour = fmt == "table" and use_colour(stdout)
    if isinstance(result, Data):
        if fmt not in DATA_FORMATS:
            raise OutputError("format '%s' is not available for %s (choose "
                              "from %s)" % (fmt, spec.name, ", ".join(DATA_FORMATS)))
        emit_data(result, fmt, stdout, noindent=args.noindent)
    elif isinstance(result, Listing):
        if fmt not in LIST_FORMATS:
            raise OutputError("format '%s' is not available for %s (choose "
                              "from %s)" % (fmt, spec.name, ", ".join(LIST_FORMATS)))
        emit_list(result, fmt, stdout, columns=args.columns,
                  sort_columns=getattr(args, "sort_columns", None),
                  sort_descending=getattr(args, "sort_direction", "asc") == "desc",
                  noindent=args.noindent,
                  quote=getattr(args, "quote_mode", "nonnumeric"), colour=colour)
    elif isinstance(result, Record):
        if fmt not in SHOW_FORMATS:
            raise OutputError("format '%s' is not available for %s (choose "
                              "from %s)" % (fmt, spec.name, ", ".join(SHOW_FORMATS)))
        emit_one(result, fmt, stdout, columns=args.columns,
                 noindent=args.noindent, prefix=getattr(args, "prefix", ""), colour=colour)
    else:  # pragma: no cover - programming error
        raise TypeError("unexpected command result %r" % (result,))


def _run_server(argv: list[str]) -> int:
    try:
        from levante.cli.server import run_server  # lazy: heavy imports
    except ImportError as exc:
        sys.stderr.write("ERROR: the Levante server is not available: %s\n" % exc)
        return 1
    return run_server(argv)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None, transport=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == SERVER_COMMAND:
        return _run_server(argv[1:])

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    if argv and argv[0] == "help":
        topic = argv[1:2]
        if topic and topic[0] == SERVER_COMMAND:
            return _run_server(["--help"])
        argv = topic + ["--help"]
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not args.command:
        parser.print_help(stdout)
        return 0

    spec = COMMANDS[args.command]
    ctx = Context(args.url, stdout=stdout, stderr=stderr, transport=transport,
                  token=getattr(args, "auth_token", None))
    try:
        result = spec.func(ctx, args)
        failed = result if isinstance(result, Failed) else None
        render(spec, failed.result if failed else result, args, stdout)
        stdout.flush()
        if failed:
            raise CLIError(failed.message)
    except (CLIError, OutputError) as exc:
        if args.debug:
            traceback.print_exc(file=stderr)
        stderr.write("ERROR: %s\n" % (getattr(exc, "message", None) or exc))
        return 1
    except KeyboardInterrupt:
        stderr.write("Interrupted\n")
        return 130
    except BrokenPipeError:
        if stdout is sys.stdout:  # e.g. `levante execution-list | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # unexpected: keep the CLI's error contract
        if args.debug:
            traceback.print_exc(file=stderr)
        stderr.write("ERROR: %s: %s\n" % (type(exc).__name__, exc))
        return 1
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
