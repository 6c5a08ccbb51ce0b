"""``std.javascript`` (alias ``std.js``): run a JavaScript snippet on V8 (mini-racer).

Mistral's semantics: ``script`` is the *body* of a function, so its ``return``
value is the action's result (no ``return``: the result is null); ``context``
is visible to the script as ``$``. Results cross back as JSON, so objects,
arrays, strings, numbers, booleans and null come out as the same Python
values; ``undefined`` becomes null.

Every run gets a fresh V8 context (no globals leak from one run to the next),
a time limit (env ``LEVANTE_JS_TIMEOUT_MS``, default 10000) and a heap limit
(env ``LEVANTE_JS_MAX_MEMORY_MB``, default 256). A thrown error, a syntax
error, the time limit or the memory limit make the action fail with
``JavaScriptAction failed: <message>``.
"""
from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any

from mistral_lib import actions

DEFAULT_TIMEOUT_MS = 10_000
DEFAULT_MAX_MEMORY_MB = 256

# The script is handed to ``new Function`` as a string literal, so it is
# compiled strictly as a function body with ``$`` as its one parameter; the
# outcome comes back as one JSON envelope: {"r": result} or {"e": message}.
_WRAPPER = """(function () {
  var out;
  try {
    var f = new Function('$', %(script)s);
    var v = f(%(context)s);
    out = {r: v === undefined ? null : v};
    return JSON.stringify(out);
  } catch (err) {
    var msg = (err instanceof Error) ? (err.name + ': ' + err.message) : String(err);
    return JSON.stringify({e: msg});
  }
})()"""

_init_lock = threading.Lock()

#: Data address space V8 maps read-write for the process on the first run
#: (measured: one 512 MiB region), counted by a memory limit (levante.memory).
V8_PROCESS_RESERVE_MB = 512


def memory_reserve_mb() -> int:
    """What one std.javascript run needs of the server's memory limit: V8's
    own region and one heap at its limit (0 without mini-racer). V8 ends the
    process when an allocation is refused, so the limit must leave this room."""
    import importlib.util

    if importlib.util.find_spec("py_mini_racer") is None:
        return 0
    return V8_PROCESS_RESERVE_MB + _limit("LEVANTE_JS_MAX_MEMORY_MB", DEFAULT_MAX_MEMORY_MB)


def _limit(env: str, default: int) -> int:
    try:
        value = int(os.environ.get(env, default))
    except ValueError:
        return default
    return value if value > 0 else default


def evaluate(script: str, context: Any = None, timeout_ms: int | None = None,
             max_memory_mb: int | None = None) -> Any:
    """Run ``script`` as a function body with ``$`` = ``context``; return its result.

    Raises ``JavaScriptError`` with the script's error message.
    """
    if _in_event_loop():
        # mini-racer would attach to the running asyncio loop and then refuse a
        # time limit; run on a plain thread instead (the caller blocks either way).
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                result["value"] = _evaluate(script, context, timeout_ms, max_memory_mb)
            except BaseException as e:      # handed back to the caller below
                result["error"] = e

        t = threading.Thread(target=work, name="levante-js", daemon=True)
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        return result.get("value")
    return _evaluate(script, context, timeout_ms, max_memory_mb)


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _evaluate(script: str, context: Any, timeout_ms: int | None,
              max_memory_mb: int | None) -> Any:
    try:
        from py_mini_racer import MiniRacer
        from py_mini_racer import JSOOMException, JSTimeoutException
    except ImportError as e:      # pragma: no cover - mini-racer is a dependency
        raise JavaScriptError("the mini-racer package is not installed") from e
    if not isinstance(script, str):
        raise JavaScriptError(f"script must be a string, got {type(script).__name__}")
    timeout_ms = timeout_ms or _limit("LEVANTE_JS_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)
    max_memory_mb = max_memory_mb or _limit("LEVANTE_JS_MAX_MEMORY_MB", DEFAULT_MAX_MEMORY_MB)
    try:
        ctx_json = json.dumps(context, default=str)
    except (TypeError, ValueError) as e:
        raise JavaScriptError(f"context is not JSON-serializable: {e}") from e
    source = _WRAPPER % {"script": json.dumps(script), "context": ctx_json}
    with _init_lock:            # V8's one-time initialisation is not re-entrant
        racer = MiniRacer()
    try:
        raw = racer.eval(source, timeout_sec=timeout_ms / 1000.0,
                         max_memory=max_memory_mb * 1024 * 1024)
    except JSTimeoutException as e:
        _drain(racer)
        raise JavaScriptError(f"the script ran longer than {timeout_ms} ms") from e
    except JSOOMException as e:
        raise JavaScriptError(f"the script used more than {max_memory_mb} MB of memory") from e
    except Exception as e:      # anything else V8 reports
        raise JavaScriptError(_first_line(str(e))) from e
    finally:
        try:
            racer.close()
        except Exception:       # pragma: no cover - best effort
            pass
    if not isinstance(raw, str):
        raise JavaScriptError("the script's result could not be read")
    out = json.loads(raw)
    if "e" in out:
        raise JavaScriptError(out["e"])
    return out.get("r")


def _drain(racer: Any) -> None:
    """Wait until V8 has finished cancelling a timed-out script: one more tiny
    evaluation queues behind it, so the cancellation's callback arrives while
    the context's event loop still runs (not after ``close()``)."""
    try:
        racer.eval("0", timeout_sec=5)
    except Exception:           # pragma: no cover - best effort
        pass


def _first_line(msg: str) -> str:
    line = msg.strip().splitlines()[0] if msg.strip() else msg
    # V8 prefixes "<anonymous>:1: "; the rest is the message itself.
    if line.startswith("<anonymous>:"):
        parts = line.split(": ", 1)
        if len(parts) == 2:
            return parts[1]
    return line


class JavaScriptError(Exception):
    pass


class JavaScriptAction(actions.Action):
    """Evaluates a JavaScript snippet and returns what it returns.

    ``script`` is the body of a function: use ``return`` to give the result.
    ``context`` is visible to the script as ``$``. Runs on V8 with a time limit
    (``LEVANTE_JS_TIMEOUT_MS``, default 10 s) and a memory limit
    (``LEVANTE_JS_MAX_MEMORY_MB``, default 256).
    """

    def __init__(self, script, context=None):
        self.script = script
        self.js_context = context

    def run(self, context):
        try:
            return evaluate(self.script, self.js_context)
        except JavaScriptError as e:
            return actions.Result(error=f"JavaScriptAction failed: {e}")

    def test(self, context):
        return self.script
