"""Workflow definitions through python-mistralclient: CRUD, validation, errors."""
from __future__ import annotations

import json

from tests.api.helpers import ECHO, api_error, create_wf, finish, unique, wf_yaml

DEMO = """
description: greets somebody
tags: [demo, api]
input:
  - name
  - greeting: "Hello"
output:
  message: <% $.message %>
tasks:
  say:
    action: std.echo output="<% $.greeting %>, <% $.name %>!"
    publish:
      message: <% task().result %>
"""


def test_create_get_list(mistral):
    name = unique()
    wfs = mistral.workflows.create(wf_yaml(name, DEMO))
    assert len(wfs) == 1
    wf = wfs[0]
    assert wf.name == name
    assert wf.input == 'name, greeting="Hello"'
    assert wf.tags == ["demo", "api"]
    assert wf.scope == "private"
    assert wf.namespace == ""
    assert "say:" in wf.definition

    got = mistral.workflows.get(name)
    assert got.id == wf.id
    assert got.name == name
    assert got.input == 'name, greeting="Hello"'
    assert json.loads(got.interface) == {"input": ["name", {"greeting": "Hello"}], "output": ["message"]}
    assert got.updated_at is None
    # by id too
    assert mistral.workflows.get(wf.id).name == name

    listed = {w.name: w for w in mistral.workflows.list()}
    assert name in listed
    assert listed[name].id == wf.id


def test_create_several_in_one_document(mistral):
    a, b = unique("a"), unique("b")
    text = wf_yaml(a, ECHO) + "\n".join(wf_yaml(b, ECHO).splitlines()[2:]) + "\n"
    wfs = mistral.workflows.create(text)
    assert sorted(w.name for w in wfs) == sorted([a, b])


def test_update(mistral):
    name = unique()
    wf = create_wf(mistral, name, ECHO)
    changed = ECHO.replace('output="hi"', 'output="changed"')
    updated = mistral.workflows.update(wf_yaml(name, changed))
    assert [w.name for w in updated] == [name]
    assert updated[0].id == wf.id
    assert updated[0].updated_at
    got = mistral.workflows.get(name)
    assert 'output="changed"' in got.definition
    assert got.updated_at is not None


def test_update_unknown_workflow_is_404(mistral):
    err = api_error(mistral.workflows.update, wf_yaml(unique("nope"), ECHO))
    assert err.error_code == 404


def test_delete(mistral):
    name = unique()
    create_wf(mistral, name, ECHO)
    mistral.workflows.delete(name)
    err = api_error(mistral.workflows.get, name)
    assert err.error_code == 404
    assert name not in [w.name for w in mistral.workflows.list()]


def test_duplicate_is_409(mistral):
    name = unique()
    create_wf(mistral, name, ECHO)
    err = api_error(mistral.workflows.create, wf_yaml(name, ECHO))
    assert err.error_code == 409
    assert "Duplicate entry for WorkflowDefinition" in err.error_message
    assert name in err.error_message


def test_invalid_yaml_is_400_with_line_number(mistral):
    name = unique()
    text = wf_yaml(name, ECHO) + "   broken: [\n"
    # the mis-indented key is on line 7 of the document
    err = api_error(mistral.workflows.create, text)
    assert err.error_code == 400
    assert "could not be parsed" in err.error_message
    assert "line 7" in err.error_message
    assert api_error(mistral.workflows.get, name).error_code == 404


def test_tab_indentation_reports_its_line(mistral):
    name = unique()
    text = f'---\nversion: "2.0"\n{name}:\n  tasks:\n    t1:\n\taction: std.noop\n'
    err = api_error(mistral.workflows.create, text)
    assert err.error_code == 400
    assert "could not be parsed" in err.error_message
    assert "line 6" in err.error_message


def test_unknown_task_in_transition_is_400(mistral):
    body = ECHO + "    on-success: [missing_task]\n"
    err = api_error(mistral.workflows.create, wf_yaml(unique(), body))
    assert err.error_code == 400
    assert "Task 'missing_task' not found." in err.error_message


def test_unknown_action_is_accepted_and_fails_when_run(mistral):
    # As Mistral: the action may be created later; the task fails if it is still missing.
    name = unique()
    body = "tasks:\n  t:\n    action: std.no_such_action\n"
    mistral.workflows.create(wf_yaml(name, body))
    ex = finish(mistral, mistral.executions.create(name).id)
    assert ex.state == "ERROR"
    assert "Failed to find action [action_name=std.no_such_action" in ex.state_info
    report = mistral.workflows.validate(wf_yaml(name, body))
    assert report["valid"] is False
    assert "Action 'std.no_such_action' not found." in report["error"]


def test_validate(mistral):
    name = unique()
    ok = mistral.workflows.validate(wf_yaml(name, ECHO))
    assert ok["valid"] is True
    bad = mistral.workflows.validate(wf_yaml(unique(), ECHO + "    on-success: [missing_task]\n"))
    assert bad["valid"] is False
    assert "missing_task" in bad["error"]
    broken = mistral.workflows.validate(wf_yaml(unique(), ECHO) + "   broken: [\n")
    assert broken["valid"] is False
    assert broken["error"]
    # validating stores nothing
    assert api_error(mistral.workflows.get, name).error_code == 404
