"""``std.javascript`` / ``std.js``: Mistral's semantics (the script is a function
body, ``$`` is the context, the returned value is the result), limits, errors;
then on a real server, in a workflow and through run-action."""
from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from levante.actions.base import ActionDef, Outcome
from levante.actions.registry import Registry
from levante.actions.std import BUILTINS
from levante.actions.std.javascript import JavaScriptError, evaluate
from tests.conftest import wait_for_state


def run(name: str = "std.javascript", **given) -> Outcome:
    cls, _ = BUILTINS[name]
    return ActionDef.from_class(name, cls).run(given, None)


# ---------------------------------------------------------------- semantics

@pytest.mark.parametrize("script, context, expected", [
    ("return 1 + 2", None, 3),
    ("return $.a * 2", {"a": 21}, 42),
    ("return $.items.map(function (x) { return x * x; })", {"items": [1, 2, 3]}, [1, 4, 9]),
    ("return {n: $.name, ok: true, none: null}", {"name": "v8"}, {"n": "v8", "ok": True, "none": None}),
    ("return 'hello ' + $", "world", "hello world"),
    ("return 1.5", None, 1.5),
    ("var x = 1;", None, None),                      # no return: null, like Mistral
    ("return undefined", None, None),
    ("return $", None, None),
    ("const d = new Date(0); return d.toISOString()", None, "1970-01-01T00:00:00.000Z"),
    ("let s = 0; for (const k of Object.keys($)) s += $[k]; return s", {"a": 1, "b": 2}, 3),
    ("return [1, 'a', [true]]", None, [1, "a", [True]]),
    ("return JSON.stringify($)", {"k": [1]}, '{"k":[1]}'),
])
def test_script_is_a_function_body_with_dollar_as_context(script, context, expected):
    out = run(script=script, context=context)
    assert out.kind == "ok", out.value
    assert out.value == expected


def test_alias_std_js_is_the_same_action():
    out = run("std.js", script="return $.x + 1", context={"x": 1})
    assert (out.kind, out.value) == ("ok", 2)
    reg = Registry(load_plugins=False)
    for name in ("std.javascript", "std.js"):
        d = reg.get(name)
        assert d is not None
        assert d.input_display() == "script, context=null"
        assert "JavaScript" in d.description


def test_context_may_hold_any_json_and_is_a_copy():
    ctx = {"s": "quote \" and </script> and \u2028", "n": [1, {"x": None}]}
    assert run(script="$.s += '!'; return $", context=ctx).value == {
        "s": ctx["s"] + "!", "n": [1, {"x": None}]}
    assert ctx["s"].endswith("\u2028")          # the caller's value is untouched


def test_script_cannot_break_out_of_its_function():
    # Mistral pastes the script into "function f() { ... }"; here it is compiled
    # on its own, so stray braces are a syntax error, not code outside.
    out = run(script="return 1; } globalThis.x = 2; {")
    assert out.kind == "error"
    assert "SyntaxError" in out.value


def test_each_run_has_fresh_globals():
    assert run(script="globalThis.leak = 42; return 1").value == 1
    assert run(script="return typeof globalThis.leak").value == "undefined"


@pytest.mark.parametrize("script, fragment", [
    ("throw new Error('boom')", "Error: boom"),
    ("throw new TypeError('bad type')", "TypeError: bad type"),
    ("throw 'plain string'", "plain string"),
    ("return nosuchvar.x", "ReferenceError: nosuchvar is not defined"),
    ("retur 1", "SyntaxError"),
    ("const a = {}; a.self = a; return a", "TypeError"),    # a cycle cannot be a result
])
def test_errors_fail_the_action_with_the_js_message(script, fragment):
    out = run(script=script)
    assert out.kind == "error"
    assert out.value.startswith("JavaScriptAction failed: ")
    assert fragment in out.value


def test_missing_script_is_an_input_error():
    out = run()
    assert out.kind == "error"
    assert "missing=['script']" in out.value


def test_non_string_script_is_an_error():
    out = run(script=42)
    assert out.kind == "error" and "script must be a string" in out.value


def test_time_limit():
    started = time.time()
    with pytest.raises(JavaScriptError, match="longer than 300 ms"):
        evaluate("while (true) {}", timeout_ms=300)
    assert time.time() - started < 5


def test_time_limit_from_environment(monkeypatch):
    monkeypatch.setenv("LEVANTE_JS_TIMEOUT_MS", "200")
    out = run(script="for (;;) {}")
    assert out.kind == "error"
    assert "longer than 200 ms" in out.value


def test_memory_limit():
    with pytest.raises(JavaScriptError, match="more than 32 MB"):
        evaluate("const a = []; for (;;) a.push(new Array(100000).fill(1.5));",
                 timeout_ms=20000, max_memory_mb=32)
    # and the engine still works afterwards
    assert evaluate("return 7") == 7


def test_memory_limit_from_environment(monkeypatch):
    monkeypatch.setenv("LEVANTE_JS_MAX_MEMORY_MB", "24")
    monkeypatch.setenv("LEVANTE_JS_TIMEOUT_MS", "20000")
    out = run(script="const a = []; for (;;) a.push(new Array(100000).fill(2.5));")
    assert out.kind == "error"
    assert "more than 24 MB" in out.value


def test_runs_in_parallel_threads():
    results, errors = {}, []

    def work(i):
        try:
            results[i] = evaluate("let s = 0; for (let k = 0; k < 20000; k++) s += $.i; return s",
                                  {"i": i})
        except Exception as e:      # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert results == {i: i * 20000 for i in range(12)}


# ---------------------------------------------------------------- on a server

JS_WF = """
version: '2.0'
{name}:
  input:
    - numbers
    - factor: 3
  output:
    scaled: <% $.scaled %>
    summary: <% $.summary %>
  tasks:
    scale:
      action: std.javascript
      input:
        context: <% $ %>
        script: |
          return $.numbers.map(function (n) {{ return n * $.factor; }});
      publish:
        scaled: <% task().result %>
      on-success: summarize
    summarize:
      action: std.js
      input:
        context:
          values: <% $.scaled %>
        script: |
          var total = $.values.reduce(function (a, b) {{ return a + b; }}, 0);
          return {{count: $.values.length, total: total}};
      publish:
        summary: <% task().result %>
"""

JS_FAIL_WF = """
version: '2.0'
{name}:
  tasks:
    bad:
      action: std.js
      input:
        script: "throw new RangeError('out of range: ' + 42)"
"""


def test_workflow_uses_javascript_with_dollar_context(mistral):
    name = f"js_{uuid.uuid4().hex[:8]}"
    mistral.workflows.create(JS_WF.format(name=name))
    ex = mistral.executions.create(name, workflow_input={"numbers": [1, 2, 3]})
    ex = wait_for_state(lambda: mistral.executions.get(ex.id))
    assert ex.state == "SUCCESS", ex.state_info
    import json

    assert json.loads(ex.output) == {"scaled": [3, 6, 9], "summary": {"count": 3, "total": 18}}


def test_workflow_javascript_error_fails_the_task_with_the_message(mistral):
    name = f"jsfail_{uuid.uuid4().hex[:8]}"
    mistral.workflows.create(JS_FAIL_WF.format(name=name))
    ex = mistral.executions.create(name)
    ex = wait_for_state(lambda: mistral.executions.get(ex.id))
    assert ex.state == "ERROR"
    task = mistral.tasks.list(workflow_execution_id=ex.id)[0]
    assert "JavaScriptAction failed: RangeError: out of range: 42" in task.state_info


def test_run_action_javascript(mistral, server):
    ae = mistral.action_executions.create("std.js", {"script": "return $.a + $.b",
                                                     "context": {"a": 2, "b": 5}})
    assert ae.state == "SUCCESS"
    import json

    assert json.loads(ae.output) == {"result": 7}
    # the same through plain HTTP, with the error case
    r = httpx.post(f"{server.url}/action_executions",
                   json={"name": "std.javascript", "input": {"script": "throw new Error('no')"}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "ERROR"
    assert "JavaScriptAction failed: Error: no" in body["output"]


def test_action_list_shows_javascript(server):
    r = httpx.get(f"{server.url}/actions/std.javascript")
    assert r.status_code == 200
    assert r.json()["input"] == "script, context=null"
    names = {a["name"] for a in httpx.get(f"{server.url}/actions").json()["actions"]}
    assert {"std.javascript", "std.js"} <= names


def test_works_when_called_from_async_code(monkeypatch):
    # The API runs some actions on its event loop (run-action); mini-racer must
    # not attach to that loop (it would refuse the time limit).
    import asyncio

    monkeypatch.setenv("LEVANTE_JS_TIMEOUT_MS", "200")

    async def main():
        return evaluate("return $ * 2", 21), run(script="while (true) {}")

    value, out = asyncio.run(main())
    assert value == 42
    assert out.kind == "error" and "longer than 200 ms" in out.value
