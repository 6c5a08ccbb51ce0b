"""Command registry and helpers shared by the resource modules.

A command is a function ``func(ctx, args)`` registered with ``@command``; it
returns a ``Listing`` (kind "list"), a ``Record`` (kind "show"), a ``Text``
or None (it may also write to ``ctx.stdout`` itself).  ``main.py`` builds one
argparse sub-parser per registered command and renders the result.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import textwrap
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence, TextIO

from levante.cli.client import CLIError, Client
from levante.cli.output import Data, Failed, Listing, Record, Text  # noqa: F401 (re-export)

LIST = "list"
SHOW = "show"
DATA = "data"       # one JSON value (Data): -f table|json|yaml|value
PLAIN = "plain"

DEFAULT_LIMIT = 100


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------


class Arg:
    """Deferred ``parser.add_argument(*flags, **kwargs)``."""

    def __init__(self, *flags: str, **kwargs: Any):
        self.flags = flags
        self.kwargs = kwargs

    def add_to(self, parser) -> None:
        parser.add_argument(*self.flags, **self.kwargs)


@dataclass
class CommandSpec:
    name: str
    func: Callable[["Context", Any], Any]
    help: str
    kind: str = PLAIN
    args: list[Arg] = field(default_factory=list)


COMMANDS: dict[str, CommandSpec] = {}


def command(name: str, help: str, kind: str = PLAIN,
            args: Iterable[Arg] = ()) -> Callable:
    """Register ``func`` as the CLI command ``name``."""

    def decorator(func: Callable) -> Callable:
        existing = COMMANDS.get(name)
        if existing is not None and (
                (existing.func.__module__, existing.func.__qualname__)
                != (func.__module__, func.__qualname__)):
            raise ValueError("duplicate command %s" % name)
        COMMANDS[name] = CommandSpec(name, func, help, kind, list(args))
        return func

    return decorator


class Context:
    """What a command gets besides its arguments."""

    def __init__(self, url: str | None = None, *,
                 stdout: TextIO | None = None, stderr: TextIO | None = None,
                 transport=None, client: Client | None = None, token: str | None = None):
        self.url = url
        self.token = token
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._transport = transport
        self._client = client

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.url, transport=self._transport, token=self.token)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


# --------------------------------------------------------------------------
# common argument sets
# --------------------------------------------------------------------------


def lister_args(limit_default: int | None = None) -> list[Arg]:
    """The paging/sorting/filter options every mistral list command has."""
    args = [
        Arg("--marker", nargs="?", default="",
            help="The last id of the previous page; list entries after it."),
        Arg("--limit", type=int, nargs="?", default=limit_default,
            help="Maximum number of entries to return in a single result."),
        Arg("--sort_keys", nargs="?", default="created_at",
            help="Comma-separated list of sort keys. Default: created_at."),
        Arg("--sort_dirs", nargs="?", default="asc",
            help="Comma-separated list of sort directions. Default: asc."),
        Arg("--filter", dest="filters", action="append",
            help="Filters (key=value). Can be repeated."),
    ]
    if limit_default is not None:
        args.append(Arg("--oldest", action="store_true", default=False,
                        help="Display the entries starting from the oldest "
                             "instead of the newest."))
    return args


def execution_lister_args() -> list[Arg]:
    return lister_args(limit_default=DEFAULT_LIMIT)


def newest_first(args) -> bool:
    """mistral's execution-style listers: when no explicit ordering/paging is
    asked for, request newest first (``sort_dirs=desc``) and reverse the
    page for display.  Returns True if the result must be reversed."""
    if (args.marker == "" and args.sort_dirs == "asc"
            and args.sort_keys == "created_at" and not args.oldest):
        args.sort_dirs = "desc"
        return True
    return False


def get_filters(args) -> dict[str, str]:
    filters: dict[str, str] = {}
    for item in getattr(args, "filters", None) or []:
        parts = item.split("=")
        if len(parts) != 2:
            raise CLIError("Invalid filter: %s" % item)
        filters[parts[0]] = parts[1]
    return filters


def list_params(args=None, *, fields: Sequence[str] | None = None,
                filters: dict[str, Any] | None = None,
                namespace: str | None = None) -> list[tuple[str, Any]]:
    """Query parameters in mistralclient's order (only the ones set)."""
    params: list[tuple[str, Any]] = []
    if args is not None:
        if args.marker:
            params.append(("marker", args.marker))
        if args.limit and args.limit > 0:
            params.append(("limit", args.limit))
        if args.sort_keys:
            params.append(("sort_keys", args.sort_keys))
        if args.sort_dirs:
            params.append(("sort_dirs", args.sort_dirs))
    if fields:
        params.append(("fields", ",".join(fields)))
    for key, value in (filters or {}).items():
        params.append((key, value))
    if namespace:
        params.append(("namespace", namespace))
    return params


def listing(headings: Sequence[str], formatter: Callable[[dict], Sequence[Any]],
            items: Iterable[dict]) -> Listing:
    """Rows for ``items``; like mistral, an empty list shows one blank row."""
    rows = [formatter(item) for item in items]
    if not rows:
        rows = [tuple("" for _ in headings)]
    return Listing(list(headings), rows)


# --------------------------------------------------------------------------
# value helpers (mistralclient's display rules)
# --------------------------------------------------------------------------


def seg(value: Any) -> str:
    """Quote one URL path segment."""
    return urllib.parse.quote(str(value), safe="")


def cut(value: Any, length: int = 25) -> Any:
    if value and isinstance(value, str) and len(value) > length:
        return "%s..." % value[:length]
    return value


def wrap(value: Any, width: int = 25) -> Any:
    if value and isinstance(value, str) and len(value) > width:
        return textwrap.fill(value, width)
    return value


def tags_str(tags: Any) -> str:
    if isinstance(tags, str):
        tags = [tags] if tags else []
    return wrap(", ".join(str(t) for t in (tags or []))) or "<none>"


def _parse_ts(value: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        pass
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def duration_str(start: Any, end: Any, now: datetime.datetime | None = None) -> str:
    """Human duration like mistralclient: ``0:00:01``, ``...`` just after a
    start, ``0:01:05...`` while still running."""
    if not start:
        return ""
    start_dt = _parse_ts(start)
    if start_dt is None:
        return ""
    if end:
        end_dt = _parse_ts(end)
        if end_dt is None:
            return ""
        return str(end_dt - start_dt)
    delta = (now or utcnow()) - start_dt
    if delta < datetime.timedelta(seconds=2):
        return "..."
    delta -= datetime.timedelta(microseconds=delta.microseconds)
    return "%s..." % delta


# --------------------------------------------------------------------------
# reading files and JSON/YAML arguments
# --------------------------------------------------------------------------


def read_file(path: str) -> str:
    """Content of ``path`` (``-`` = stdin)."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, "r", encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise CLIError("can't open '%s': %s" % (path, exc.strerror or exc)) from exc


def load_content(content: str | None) -> Any:
    """YAML (a superset of JSON) text to data; empty -> {}."""
    if content is None or content == "":
        return {}
    import yaml

    try:
        return yaml.safe_load(content)
    except yaml.YAMLError:
        try:
            return json.loads(content)
        except ValueError as exc:
            raise CLIError("Cannot parse as YAML or JSON: %s" % exc) from exc


def load_json(value: str) -> Any:
    """An input argument: a path to a JSON (or YAML) file, else JSON text."""
    if os.path.isfile(value):
        text = read_file(value)
        try:
            return json.loads(text)
        except ValueError:
            return load_content(text)
    try:
        return json.loads(value)
    except ValueError as exc:
        raise CLIError(
            "%r is neither a readable file nor valid JSON: %s" % (value, exc)
        ) from exc


def load_env(value: str | None) -> Any:
    """``-e/--env``: a path to a JSON/YAML file, else JSON/YAML text."""
    if value and os.path.isfile(value):
        return load_content(read_file(value))
    return load_content(value)


def parse_json_field(value: Any) -> Any:
    """Fields like ``variables`` may come as a JSON string or as data."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def do_on_many(ctx: Context, action: Callable[[str], Any],
               resources: Sequence[str], success_msg: str, error_msg: str) -> None:
    """Run ``action`` on each resource; report each; fail if any failed."""
    failed = False
    for resource in resources:
        try:
            action(resource)
            ctx.stdout.write(success_msg % resource + "\n")
        except CLIError as exc:
            failed = True
            ctx.stderr.write("%s\n" % exc.message)
    if failed:
        raise CLIError(error_msg)
