"""Action executions through python-mistralclient: run-action and async completion."""
from __future__ import annotations

from tests.api.helpers import api_error, as_json, create_wf, finish, unique, wait_for


def test_run_action_sync(mistral):
    ae = mistral.action_executions.create("std.echo", {"output": "Hello Workflow!"})
    assert ae.state == "SUCCESS"
    assert as_json(ae.output) == {"result": "Hello Workflow!"}
    assert ae.id is None  # not stored


def test_run_action_save_result(mistral):
    ae = mistral.action_executions.create("std.echo", {"output": "saved"}, save_result=True)
    assert ae.id
    assert ae.name == "std.echo"
    assert ae.state in ("RUNNING", "SUCCESS")
    done = wait_for(lambda: (lambda a: a if a.state == "SUCCESS" else None)(
        mistral.action_executions.get(ae.id)))
    assert as_json(done.output) == {"result": "saved"}
    assert done.task_execution_id is None
    assert done.workflow_name is None
    assert ae.id in [a.id for a in mistral.action_executions.list()]


def test_run_action_save_result_run_sync(mistral):
    ae = mistral.action_executions.create("std.echo", {"output": "both"}, save_result=True,
                                          run_sync=True)
    assert ae.id
    got = mistral.action_executions.get(ae.id)
    assert got.state == "SUCCESS"
    assert as_json(got.output) == {"result": "both"}


def test_failing_action(mistral):
    ae = mistral.action_executions.create("std.fail")
    assert ae.state == "ERROR"
    assert "result" in as_json(ae.output)


def test_unknown_action_is_400(mistral):
    err = api_error(mistral.action_executions.create, "std.no_such_action", {})
    assert err.error_code == 400
    assert err.error_message == "Failed to find action [action_name=std.no_such_action]"


def test_missing_action_input_is_400(mistral):
    err = api_error(mistral.action_executions.create, "std.echo", {"delay": 0})
    assert err.error_code == 400
    assert "Invalid input" in err.error_message
    assert "missing=['output']" in err.error_message


def test_unknown_action_execution_is_404(mistral):
    assert api_error(mistral.action_executions.get, "nope-nope").error_code == 404


def test_async_action_completed_by_update(mistral):
    name = unique("async")
    create_wf(mistral, name, """
tasks:
  wait_for_human:
    action: std.async_noop
    publish:
      answer: <% task().result %>
    on-success: [after]
  after:
    action: std.echo output=<% $.answer.value %>
""")
    ex = mistral.executions.create(name)

    def running_action():
        tasks = mistral.tasks.list(ex.id)
        if not tasks:
            return None
        acts = mistral.action_executions.list(tasks[0].id)
        return acts[0] if acts and acts[0].state == "RUNNING" else None

    ae = wait_for(running_action)
    assert ae.name == "std.async_noop"
    # it stays RUNNING until somebody reports its result
    assert mistral.executions.get(ex.id).state == "RUNNING"
    upd = mistral.action_executions.update(ae.id, state="SUCCESS", output={"value": 42})
    assert upd.state == "SUCCESS"
    done = finish(mistral, ex.id)
    assert done.state == "SUCCESS"
    assert as_json(done.output) == {"answer": {"value": 42}}
    tasks = {t.name: t for t in mistral.tasks.list(ex.id)}
    assert as_json(mistral.tasks.get(tasks["wait_for_human"].id).result) == {"value": 42}
    assert as_json(mistral.tasks.get(tasks["after"].id).result) == 42


def test_async_output_is_taken_as_is(mistral):
    # Mistral makes the whole dict sent the action's result, even with a "result" key in it
    name = unique("async")
    create_wf(mistral, name, """
tasks:
  wait:
    action: std.async_noop
    publish:
      got: <% task().result %>
""")
    ex = mistral.executions.create(name)

    def running_action():
        tasks = mistral.tasks.list(ex.id)
        acts = mistral.action_executions.list(tasks[0].id) if tasks else []
        return acts[0] if acts and acts[0].state == "RUNNING" else None

    ae = wait_for(running_action)
    mistral.action_executions.update(ae.id, state="SUCCESS", output={"result": "r", "n": 1})
    done = finish(mistral, ex.id)
    assert done.state == "SUCCESS"
    assert as_json(done.output) == {"got": {"result": "r", "n": 1}}
    assert as_json(mistral.action_executions.get(ae.id).output) == {"result": {"result": "r", "n": 1}}


def test_run_action_timeout_sync(mistral):
    import time as _time
    started = _time.time()
    ae = mistral.action_executions.create("std.sleep", {"seconds": 5}, timeout=0.5)
    assert ae.state == "ERROR"
    assert as_json(ae.output) == {"result": "Action timed out [timeout(s)=0.5]."}
    assert _time.time() - started < 4


def test_run_action_timeout_saved_async(mistral):
    ae = mistral.action_executions.create("std.async_noop", {}, save_result=True, timeout=0.5)
    assert mistral.action_executions.get(ae.id).state == "RUNNING"
    done = wait_for(lambda: (lambda a: a if a.state != "RUNNING" else None)(
        mistral.action_executions.get(ae.id)), timeout=10)
    assert done.state == "ERROR"
    assert as_json(done.output) == {"result": "Action timed out [timeout(s)=0.5]."}


def test_run_action_timeout_that_is_not_reached(mistral):
    ae = mistral.action_executions.create("std.echo", {"output": "quick"}, timeout=5)
    assert ae.state == "SUCCESS" and as_json(ae.output) == {"result": "quick"}


def test_run_action_bad_timeout_is_400(mistral):
    err = api_error(mistral.action_executions.create, "std.echo", {"output": 1}, timeout="soon")
    assert err.error_code == 400 and "timeout" in err.error_message
