"""Workbooks through python-mistralclient, and running a workbook's workflow."""
from __future__ import annotations

from tests.api.helpers import api_error, as_json, finish, unique


def workbook_yaml(name: str, greeting: str = "hello") -> str:
    return f"""---
version: "2.0"
name: {name}
tags: [wbtag]
workflows:
  wf:
    input:
      - who: world
    output:
      said: <% $.said %>
    tasks:
      speak:
        action: std.echo output="{greeting} <% $.who %>"
        publish:
          said: <% task().result %>
  other:
    tasks:
      noop:
        action: std.noop
"""


def test_workbook_crud(mistral):
    name = unique("wb")
    wb = mistral.workbooks.create(workbook_yaml(name))
    assert wb.name == name
    assert wb.tags == ["wbtag"]
    assert "workflows:" in wb.definition

    got = mistral.workbooks.get(name)
    assert got.name == name
    assert got.definition == wb.definition
    assert name in [w.name for w in mistral.workbooks.list()]

    # its workflows are registered as <workbook>.<workflow>
    names = [w.name for w in mistral.workflows.list()]
    assert f"{name}.wf" in names and f"{name}.other" in names

    updated = mistral.workbooks.update(workbook_yaml(name, greeting="goodbye"))
    assert updated.name == name
    assert "goodbye" in mistral.workbooks.get(name).definition
    assert "goodbye" in mistral.workflows.get(f"{name}.wf").definition

    mistral.workbooks.delete(name)
    assert api_error(mistral.workbooks.get, name).error_code == 404
    assert api_error(mistral.workflows.get, f"{name}.wf").error_code == 404


def test_duplicate_workbook_is_409(mistral):
    name = unique("wb")
    mistral.workbooks.create(workbook_yaml(name))
    assert api_error(mistral.workbooks.create, workbook_yaml(name)).error_code == 409


def test_run_workbook_workflow(mistral):
    name = unique("wb")
    mistral.workbooks.create(workbook_yaml(name))
    ex = mistral.executions.create(f"{name}.wf", workflow_input={"who": "there"})
    assert ex.workflow_name == f"{name}.wf"
    ex = finish(mistral, ex.id)
    assert ex.state == "SUCCESS"
    assert as_json(ex.output) == {"said": "hello there"}

    # after an update the new definition runs
    mistral.workbooks.update(workbook_yaml(name, greeting="goodbye"))
    ex = finish(mistral, mistral.executions.create(f"{name}.wf").id)
    assert ex.state == "SUCCESS"
    assert as_json(ex.output) == {"said": "goodbye world"}
