"""Task executions through python-mistralclient."""
from __future__ import annotations

from tests.api.helpers import api_error, as_json, create_wf, finish, unique

TWO = """
input:
  - who: you
tasks:
  first:
    action: std.echo output="hi <% $.who %>"
    publish:
      greeting: <% task().result %>
    on-success: [second]
  second:
    action: std.echo output=<% [$.greeting, 2] %>
"""


def test_list_and_get(mistral):
    name = unique()
    create_wf(mistral, name, TWO)
    ex = finish(mistral, mistral.executions.create(name, workflow_input={"who": "me"}).id)
    assert ex.state == "SUCCESS"

    tasks = mistral.tasks.list(ex.id)
    assert sorted(t.name for t in tasks) == ["first", "second"]
    for t in tasks:
        assert t.state == "SUCCESS"
        assert t.workflow_execution_id == ex.id
        assert t.workflow_name == name
    # the filter form gives the same tasks
    filtered = mistral.tasks.list(workflow_execution_id=ex.id)
    assert sorted(t.id for t in filtered) == sorted(t.id for t in tasks)

    by_name = {t.name: t for t in tasks}
    first = mistral.tasks.get(by_name["first"].id)
    assert first.type == "ACTION"
    assert first.state == "SUCCESS"
    assert as_json(first.result) == "hi me"
    assert as_json(first.published) == {"greeting": "hi me"}
    assert isinstance(first.runtime_context, str)
    assert first.processed is True
    assert first.started_at and first.finished_at

    second = mistral.tasks.get(by_name["second"].id)
    assert as_json(second.result) == ["hi me", 2]
    assert as_json(second.published) == {}


def test_task_action_executions(mistral):
    name = unique()
    create_wf(mistral, name, TWO)
    ex = finish(mistral, mistral.executions.create(name).id)
    first = [t for t in mistral.tasks.list(ex.id) if t.name == "first"][0]
    (ae,) = mistral.action_executions.list(first.id)
    assert ae.name == "std.echo"
    assert ae.state == "SUCCESS"
    assert ae.task_execution_id == first.id
    assert ae.accepted is True
    assert as_json(mistral.action_executions.get(ae.id).output) == {"result": "hi you"}
    assert as_json(ae.input) == {"output": "hi you"}


def test_unknown_task_is_404(mistral):
    err = api_error(mistral.tasks.get, "00000000-0000-0000-0000-000000000000")
    assert err.error_code == 404
    assert err.error_message == "Task execution not found [id=00000000-0000-0000-0000-000000000000]"
