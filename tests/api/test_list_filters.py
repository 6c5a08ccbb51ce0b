"""List filters as Mistral takes them, on every list endpoint, through the real
python-mistralclient library and `mistral` CLI: ``field=value``,
``field=OP:value`` (eq, neq, gt, gte, lt, lte, in, nin, has), ``tags``,
``nulls``, dates compared as dates, ``is_system``, and paging on /v2/actions."""
from __future__ import annotations

import json

import httpx

from tests.api.helpers import api_error, create_wf, finish, unique, wf_yaml
from tests.api.lang_helpers import define, finished
from tests.api.test_action_execution_rules import mistral_cli

PAST = "2020-01-01"
FUTURE = "2999-01-01 00:00:00"


def _names(items) -> set:
    return {i.name for i in items}


def test_dates_are_compared_as_dates_on_every_list(mistral, server):
    name = unique()
    create_wf(mistral, name, "tasks:\n  t:\n    action: std.noop\n")
    ex = finish(mistral, mistral.executions.create(name).id)
    env = unique("env")
    mistral.environments.create(name=env, variables={"a": 1})
    wb = unique("wb")
    mistral.workbooks.create(f"version: '2.0'\nname: {wb}\nworkflows:\n  w:\n    tasks:\n"
                             f"      t:\n        action: std.noop\n")
    ae = mistral.action_executions.create("std.echo", {"output": 1}, save_result=True, run_sync=True)
    (task,) = mistral.tasks.list(ex.id)
    cron = unique("cron")
    mistral.cron_triggers.create(cron, name, pattern="0 0 1 1 *")
    evt = mistral.event_triggers.create(unique("evt"), mistral.workflows.get(name).id, "levante",
                                        f"executions.{name}", "WORKFLOW_SUCCEEDED")
    try:
        lists = {
            "workflows": (mistral.workflows.list, name, "name"),
            "workbooks": (mistral.workbooks.list, wb, "name"),
            "environments": (mistral.environments.list, env, "name"),
            "executions": (mistral.executions.list, ex.id, "id"),
            "tasks": (mistral.tasks.list, task.id, "id"),
            "action_executions": (mistral.action_executions.list, ae.id, "id"),
            "cron_triggers": (mistral.cron_triggers.list, cron, "name"),
            "event_triggers": (mistral.event_triggers.list, evt.id, "id"),
        }
        for what, (list_, mine, key) in lists.items():
            def keys(**f):
                return {getattr(i, key) for i in list_(**f)}
            assert mine in keys(created_at=f"gte:{PAST}"), what
            assert mine in keys(created_at=f"gt:{PAST}T00:00:00"), what
            assert mine not in keys(created_at=f"lt:{PAST}"), what
            assert mine in keys(created_at=f"lte:{FUTURE}"), what
            assert mine not in keys(created_at=f"gte:{FUTURE}"), what
        # equal to the second as shown
        shown = mistral.executions.get(ex.id).created_at
        assert ex.id in {e.id for e in mistral.executions.list(created_at=shown)}
        assert ex.id not in {e.id for e in mistral.executions.list(created_at=f"neq:{shown}")}
        # not a date: a clear 400
        r = httpx.get(f"{server.url}/executions", params={"created_at": "gte:last tuesday"})
        assert r.status_code == 400 and "is not a date" in r.json()["faultstring"]
    finally:
        mistral.cron_triggers.delete(cron)
        mistral.event_triggers.delete(evt.id)


def test_operators_names_and_tags(mistral):
    a, b, c = unique("a"), unique("b"), unique("c")
    for n, tags in ((a, ["red", "big"]), (b, ["red"]), (c, [])):
        text = wf_yaml(n, "tasks:\n  t:\n    action: std.noop\n")
        if tags:
            text = text.replace(f"{n}:\n", f"{n}:\n  tags: {json.dumps(tags)}\n", 1)
        mistral.workflows.create(text)
    mine = {a, b, c}

    def names(**f):
        return _names(mistral.workflows.list(**f)) & mine

    assert names(name=a) == {a}
    assert names(name=f"eq:{a}") == {a}
    assert names(name=f"neq:{a}") == {b, c}
    assert names(name=f"in:{a},{c}") == {a, c}
    assert names(name=f"nin:{a},{c}") == {b}
    assert names(name=f"has:{b[2:8]}") == {b}
    assert names(name=f"gt:{a}") & {a} == set()
    assert names(tags="red") == {a, b}
    assert names(tags="red,big") == {a}
    assert names(tags="big,red") == {a}
    assert names(tags="green") == set()
    assert names(scope="private") == mine
    assert names(scope="public") == set()
    assert names(namespace="") == mine
    # An unknown field is a 400, not silently ignored (is_system is for actions only).
    err = api_error(mistral.workflows.list, colour="red")
    assert err.error_code == 400 and err.error_message == 'Unknown argument: "colour"'
    assert api_error(mistral.workflows.list, is_system="false").error_code == 400


def test_namespace_filter(mistral):
    ns = unique("ns")
    name = unique()
    mistral.workflows.create(wf_yaml(name, "tasks:\n  t:\n    action: std.noop\n"), namespace=ns)
    other = unique()
    create_wf(mistral, other, "tasks:\n  t:\n    action: std.noop\n")
    assert _names(mistral.workflows.list(namespace=ns)) == {name}
    assert name not in _names(mistral.workflows.list(namespace=f"neq:{ns}"))
    wb = unique("wb")
    mistral.workbooks.create(f"version: '2.0'\nname: {wb}\nworkflows:\n  w:\n    tasks:\n"
                             f"      t:\n        action: std.noop\n", namespace=ns)
    assert _names(mistral.workbooks.list(namespace=ns)) == {wb}


def test_executions_roots_only_and_state_filters(mistral, server):
    n = define(mistral, """
        version: '2.0'
        WF_CHILD:
          tasks:
            t:
              action: std.noop
        WF_PARENT:
          tasks:
            call:
              workflow: WF_CHILD
    """, "WF_CHILD", "WF_PARENT")
    parent = finished(mistral, mistral.executions.create(n["WF_PARENT"]).id)
    assert parent.state == "SUCCESS"
    wfs = f"in:{n['WF_CHILD']},{n['WF_PARENT']}"
    everything = mistral.executions.list(workflow_name=wfs)
    assert {e.workflow_name for e in everything} == {n["WF_CHILD"], n["WF_PARENT"]}
    roots = mistral.executions.list(workflow_name=wfs, nulls="root_execution_id")
    assert [e.id for e in roots] == [parent.id]
    assert mistral.executions.list(workflow_name=wfs, state="neq:SUCCESS") == []
    assert len(mistral.executions.list(workflow_name=wfs, state="in:SUCCESS,ERROR")) == 2
    err = api_error(mistral.executions.list, nulls="state")
    assert err.error_code == 400 and err.error_message == "The field 'state' can't hold None value."
    err = api_error(mistral.executions.list, nulls="colour")
    assert err.error_code == 400 and err.error_message == "'colour' is not a valid field name."

    # the mistral CLI's --rootsonly and --filter
    shown = mistral_cli(server.url, "execution-list", "--rootsonly", "--filter",
                        f"workflow_name={wfs}", "-f", "json")
    assert shown.returncode == 0, shown.stderr
    assert [e["ID"] for e in json.loads(shown.stdout)] == [parent.id]
    shown = mistral_cli(server.url, "execution-list", "--filter", f"workflow_name={wfs}",
                        "--filter", f"created_at=gte:{PAST}", "-f", "json")
    assert len(json.loads(shown.stdout)) == 2


def test_boolean_and_integer_fields(mistral):
    ae = mistral.action_executions.create("std.echo", {"output": 1}, save_result=True, run_sync=True)
    assert ae.id in {a.id for a in mistral.action_executions.list(name="std.echo", accepted="true")}
    assert ae.id not in {a.id for a in mistral.action_executions.list(name="std.echo", accepted="false")}
    name = unique()
    create_wf(mistral, name, "tasks:\n  t:\n    action: std.noop\n")
    cron = unique("cron")
    mistral.cron_triggers.create(cron, name, pattern="0 0 1 1 *", count=5)
    try:
        assert cron in _names(mistral.cron_triggers.list(remaining_executions="gt:4"))
        assert cron not in _names(mistral.cron_triggers.list(remaining_executions="lt:5"))
        assert api_error(mistral.cron_triggers.list, remaining_executions="gt:many").error_code == 400
    finally:
        mistral.cron_triggers.delete(cron)


def test_filters_on_nested_lists(mistral, server):
    name = unique()
    create_wf(mistral, name, """
tasks:
  one:
    action: std.echo output=1
    on-success: [two]
  two:
    action: std.echo output=2
""")
    ex = finish(mistral, mistral.executions.create(name).id)
    assert [t.name for t in mistral.tasks.list(ex.id, name="two")] == ["two"]
    r = httpx.get(f"{server.url}/executions/{ex.id}/tasks", params={"name": "in:one,two",
                                                                    "created_at": f"gte:{PAST}"})
    assert sorted(t["name"] for t in r.json()["tasks"]) == ["one", "two"]
    (one,) = mistral.tasks.list(ex.id, name="one")
    assert len(mistral.action_executions.list(one.id, state="SUCCESS")) == 1
    assert mistral.action_executions.list(one.id, state="ERROR") == []


# ---------------------------------------------------------------- /v2/actions

ACTIONS = """---
version: '2.0'
{a}:
  base: std.echo
  base-input:
    output: 1
{b}:
  base: std.echo
  base-input:
    output: 2
"""


def test_actions_are_paged_sorted_and_filtered(mistral, server):
    page = mistral.actions.list(limit=2, sort_keys="name", sort_dirs="asc")
    assert len(page) == 2
    names = [a.name for a in page]
    assert names == sorted(names)
    after = mistral.actions.list(limit=2, marker=names[-1], sort_keys="name", sort_dirs="asc")
    assert [a.name for a in after][0] > names[-1]
    desc = [a.name for a in mistral.actions.list(sort_keys="name", sort_dirs="desc")]
    assert desc == sorted(desc, reverse=True)
    r = httpx.get(f"{server.url}/actions", params={"limit": 2, "sort_keys": "name"}).json()
    assert "marker=" in r["next"] and len(r["actions"]) == 2
    assert [a.name for a in mistral.actions.list(name="in:std.noop,std.echo")] == ["std.echo", "std.noop"]
    assert _names(mistral.actions.list(name="std.echo", is_system="false")) == {"std.echo"}
    assert mistral.actions.list(is_system="true") == []
    assert "std.echo" not in _names(mistral.actions.list(name="nin:std.echo,std.noop"))

    # namespace: the default namespace (built-ins included) unless another is asked for
    ns = unique("ns")
    a, b = unique("act"), unique("act")
    mistral.actions.create(ACTIONS.format(a=a, b=b), namespace=ns)
    assert _names(mistral.actions.list(namespace=ns)) == {a, b}
    default = _names(mistral.actions.list())
    assert "std.echo" in default and a not in default
    local = unique("act")
    mistral.actions.create(ACTIONS.format(a=local, b=unique("act")))
    assert local in _names(mistral.actions.list(created_at=f"gte:{PAST}"))
    assert "std.echo" not in _names(mistral.actions.list(created_at=f"gte:{PAST}"))

    shown = mistral_cli(server.url, "action-list", "--limit", "3", "--filter", "name=has:std.", "-f", "json")
    assert shown.returncode == 0, shown.stderr
    assert len(json.loads(shown.stdout)) == 3
    err = api_error(mistral.actions.list, sort_keys="colour")
    assert err.error_code == 400
