"""``levante server``: every role in one process by default.

The composition root: :func:`build_runtime` makes a Runtime and the services
beside it (notifications, queues, triggers) and wires them together; the
runtime imports none of them.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8989


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="levante server", description="Run the Levante service.")
    p.add_argument("--host", default=os.environ.get("LEVANTE_HOST", DEFAULT_HOST),
                   help="address to listen on (default 127.0.0.1; env LEVANTE_HOST)")
    p.add_argument("--port", type=int, default=int(os.environ.get("LEVANTE_PORT", DEFAULT_PORT)),
                   help="port to listen on (default 8989; env LEVANTE_PORT)")
    p.add_argument("--db", default=os.environ.get("LEVANTE_DB"),
                   help="SQLAlchemy database URL (env LEVANTE_DB; default sqlite:///levante.sqlite "
                        "in the current directory)")
    p.add_argument("--role", action="append", choices=["all", "api", "engine", "executor", "scheduler"],
                   help="roles to run in this process (repeatable; default all)")
    p.add_argument("--executor-workers", type=int, default=int(os.environ.get("LEVANTE_EXECUTOR_WORKERS", 16)),
                   help="threads that run actions (default 16)")
    p.add_argument("--log-file", default=os.environ.get("LEVANTE_LOG_FILE"),
                   help="write logs to this file (default stderr)")
    p.add_argument("--log-level", default=os.environ.get("LEVANTE_LOG_LEVEL", "INFO"))
    p.add_argument("--config", default=os.environ.get("LEVANTE_CONFIG"),
                   help="YAML file of settings such as http_denied_cidrs (env LEVANTE_CONFIG; "
                        "LEVANTE_* environment variables override it)")
    p.add_argument("--transport-url", default=None, metavar="URL",
                   help="message broker whose OpenStack notifications fire event triggers, e.g. "
                        "rabbit://user:password@host:5672/ (setting transport_url; env "
                        "LEVANTE_TRANSPORT_URL; needs pip install 'levante[broker]')")
    p.add_argument("--auth", default=None, choices=["none", "token", "oidc", "keystone"],
                   help="authentication mode (env LEVANTE_AUTH or config 'auth:'; default none, "
                        "which only listens on loopback)")
    p.add_argument("--notify", default=os.environ.get("LEVANTE_NOTIFY"), metavar="JSON",
                   help="notify targets added to every execution's, as a JSON list like "
                        "'[{\"type\": \"webhook\", \"url\": \"https://...\"}]' (env LEVANTE_NOTIFY)")
    return p


def build_runtime(db_url: str, roles: tuple[str, ...] | None = None, executor_workers: int = 16,
                  notify: list[dict] | None = None):
    """A Runtime on ``db_url`` with its services: its own event bus, notifier (notify
    jobs and live streams, whose hub the API reaches as ``runtime.services["hub"]``;
    ``notify``: the server-wide targets, None: from $LEVANTE_NOTIFY), queue service
    (the zaqar.* actions' backend and the queues API's) and triggers (event, cron,
    broker; their live state is ``runtime.services["event_triggers"]``). Not started."""
    from levante import triggers
    from levante.triggers import EventTriggers
    from levante.notify import Notifier
    from levante.queues.service import QueueService
    from levante.runtime.events import EventBus
    from levante.runtime.service import ROLES, Runtime
    from levante.store.notifications import NOTIFY

    roles = tuple(roles or ROLES)
    bus = EventBus()
    runtime = Runtime(db_url, roles=roles, executor_workers=executor_workers, events=bus)
    notifier = Notifier(runtime.db, bus, defaults=notify, deliver="executor" in roles)
    runtime.executions.param_checks.append(notifier.check_params)
    runtime.add_service(notifier)
    runtime.services["hub"] = notifier.hub      # the API's live streams subscribe to it
    runtime.wakers[NOTIFY] = notifier.delivery.wake.set     # other processes' notify jobs
    queues = QueueService(runtime.db)
    runtime.backends["queues"] = queues
    event_triggers = EventTriggers()    # known exchanges, change hooks, broker listener
    runtime.services["event_triggers"] = event_triggers     # the API's trigger routes tell it
    triggers.install(runtime, event_triggers, queues)
    return runtime


def setup_logging(log_file: str | None, level: str) -> None:
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    # Record fields the format above never shows, not gathered for every
    # record (the logging HOWTO's "Optimization"): the caller's file and line
    # (a walk up the stack), thread, process and multiprocessing names.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def settle() -> None:
    """Once everything is built, before the first request or job: warm up the
    expression engines, then take what start-up made out of the garbage
    collector's full passes (``gc.freeze``). Those objects (modules, routes,
    schemas, parser tables: some 160,000) live as long as the process; left in,
    each full pass walks them all, some 80 ms during which the process
    answers nothing."""
    from levante import expr

    expr.warm_up()
    gc.collect()
    gc.freeze()


def run_server(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_file, args.log_level)
    from levante.config import SettingsError, reload_settings

    if args.config:
        os.environ["LEVANTE_CONFIG"] = args.config
    if args.transport_url is not None:
        os.environ["LEVANTE_TRANSPORT_URL"] = args.transport_url
    if args.auth:
        # One mode for every part of the process (the broker listener scopes notifications by it).
        os.environ["LEVANTE_AUTH"] = args.auth
    try:
        settings = reload_settings()    # read (and check) the settings now, not at the first use
    except SettingsError as e:
        sys.stderr.write(f"ERROR: {e}\n")
        return 2
    logging.getLogger("levante.server").info(
        "settings: http_denied_cidrs=%s http_allowed_hosts=%s", ",".join(settings.http_denied_cidrs),
        ",".join(settings.http_allowed_hosts))
    from levante.runtime.service import ROLES
    from levante.store.db import DEFAULT_URL

    roles = tuple(ROLES) if not args.role or "all" in args.role else tuple(args.role)
    db_url = args.db or DEFAULT_URL
    # The mistral.* actions call this service's own API; a wildcard address is
    # reached through loopback.
    api_host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(
        args.host, f"[{args.host}]" if ":" in args.host else args.host)
    os.environ.setdefault("LEVANTE_API_URL", f"http://{api_host}:{args.port}/v2")
    from levante.notify import TargetError, parse_default

    try:
        notify = parse_default(args.notify, "--notify (LEVANTE_NOTIFY)")
    except TargetError as e:
        sys.stderr.write(f"levante server: error: {e}\n")
        return 2
    from levante.auth.setup import build as build_auth, check_bind
    from levante.errors import AuthSetupError

    mode = args.auth or settings.auth
    try:
        check_bind(mode, args.host)
    except AuthSetupError as e:
        sys.stderr.write(f"levante server: error: {e}\n")
        return 2
    from levante import memory
    from levante.actions.std import javascript

    try:
        reserve = memory.apply_limit(
            settings.memory_limit_mb, args.executor_workers + max(1, settings.engine_workers),
            extra_mb=javascript.memory_reserve_mb(),
            extra_what="std.javascript (V8's region and one heap of LEVANTE_JS_MAX_MEMORY_MB)")
    except (memory.LimitError, OSError) as e:
        sys.stderr.write(f"levante server: error: {e}\n")
        return 2
    if reserve is not None:
        logging.getLogger("levante.server").info(
            "memory limit: %d MB of data (RLIMIT_DATA; setting memory_limit_mb), of which about "
            "%d MB is reserved by the server's own threads and start-up", settings.memory_limit_mb,
            reserve)
    runtime = build_runtime(db_url, roles=roles, executor_workers=args.executor_workers, notify=notify)
    try:
        auth = build_auth(mode, settings, runtime.db, args.host, os.environ["LEVANTE_API_URL"],
                          serves_api="api" in roles)
    except AuthSetupError as e:
        runtime.stop()
        sys.stderr.write(f"levante server: error: {e}\n")
        return 2
    if auth.mode != "none":
        # mistral.* actions, sub-workflows and queue actions act as the execution's project.
        runtime.executor.credentials = auth.execution_credential
    logging.getLogger("levante.server").info("auth mode: %s", auth.mode)
    runtime.start()
    log = logging.getLogger("levante.server")
    try:
        # uvicorn stops serving on SIGTERM, then raises the signal again once it
        # is done: with the default handler that killed the process before the
        # runtime below was stopped (threads cut off, SQLite left unclosed).
        signal.signal(signal.SIGTERM, _terminate)
        if "api" in roles:
            import uvicorn

            from levante.api.app import create_app

            app = create_app(runtime, auth, args.host)
            settle()
            log.info("role=api listening on http://%s:%d/v2", args.host, args.port)
            # Event streams stay open until their execution ends: on shutdown,
            # give requests a few seconds, then close what is left.
            uvicorn.run(app, host=args.host, port=args.port, log_config=None,
                        access_log=False, server_header=False, timeout_graceful_shutdown=5)
        else:
            import threading

            stop = threading.Event()
            settle()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            stop.wait()
    except (Terminated, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)      # a second SIGTERM does not wait
        runtime.stop()
        log.info("role=runtime stopped")
    return 0


class Terminated(BaseException):
    """SIGTERM arrived: leave what is running the way Ctrl-C does, through the
    ``finally`` that stops the runtime."""


def _terminate(_signum, _frame) -> None:
    raise Terminated()
