"""Language, engine and definition behaviours that follow Mistral 23, through
the real python-mistralclient (issue: behaviours that differed from Mistral 23).

Each test says what Mistral 23 does; Levante must do the same.
"""
from __future__ import annotations

import json
import textwrap
import uuid

import httpx

from tests.api.helpers import api_error
from tests.api.lang_helpers import actions_of, define, finished, output, settled, tasks_by_name


# ------------------------------------------------------------------ engine commands

def test_fail_command_with_a_quoted_message_containing_spaces(mistral):
    """Mistral 23 accepts `fail(msg='...')` at create; the message becomes the
    execution's state_info and the output's `result`."""
    n = define(mistral, """
        version: '2.0'
        WF_FAIL:
          tasks:
            t:
              action: std.fail
              on-error:
                - fail(msg='custom failure message')
    """, "WF_FAIL")
    ex = finished(mistral, mistral.executions.create(n["WF_FAIL"]).id)
    assert ex.state == "ERROR"
    assert ex.state_info == "custom failure message"
    assert output(ex)["result"] == "custom failure message"


def test_succeed_and_pause_commands_with_quoted_messages(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_OK:
          tasks:
            t:
              action: std.fail
              on-error:
                - succeed(msg='it failed, and that is fine')
        WF_PAUSE:
          tasks:
            t:
              action: std.noop
              on-success:
                - pause(msg="waiting for the operator's go, then resume")
                - after
            after:
              action: std.echo output="resumed"
              publish:
                said: <% task().result %>
    """, "WF_OK", "WF_PAUSE")
    ex = finished(mistral, mistral.executions.create(n["WF_OK"]).id)
    assert ex.state == "SUCCESS"
    assert ex.state_info == "it failed, and that is fine"
    ex = settled(mistral, mistral.executions.create(n["WF_PAUSE"]).id)
    assert ex.state == "PAUSED"
    assert ex.state_info == "waiting for the operator's go, then resume"
    mistral.executions.update(ex.id, "RUNNING")
    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS"
    assert output(ex) == {"said": "resumed"}


# ------------------------------------------------------------------ task input

def test_task_input_may_be_one_expression(mistral):
    """Mistral 23 accepts `input: <% $.params %>` and runs the action with that mapping."""
    n = define(mistral, """
        version: '2.0'
        WF_IN:
          input: [params]
          tasks:
            t:
              action: std.echo
              input: <% $.params %>
              publish:
                got: <% task().result %>
    """, "WF_IN")
    ex = finished(mistral, mistral.executions.create(
        n["WF_IN"], workflow_input={"params": {"output": "via expression"}}).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"got": "via expression"}
    (t,) = mistral.tasks.list(ex.id)
    (a,) = actions_of(mistral, t.id)
    assert json.loads(a.input) == {"output": "via expression"}


# ------------------------------------------------------------------ keep-result

def test_keep_result_false_empties_the_action_output(mistral):
    """Mistral 23: with `keep-result: false` the task still publishes from the
    result, then the action execution's output is `{}` and the task result null."""
    n = define(mistral, """
        version: '2.0'
        WF_KEEP:
          tasks:
            t:
              action: std.echo output="big"
              keep-result: false
              publish:
                size: <% len(task().result) %>
    """, "WF_KEEP")
    ex = finished(mistral, mistral.executions.create(n["WF_KEEP"]).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"size": 3}
    t = mistral.tasks.get(tasks_by_name(mistral, ex.id)["t"].id)
    assert json.loads(t.result) is None
    (a,) = actions_of(mistral, t.id)
    assert json.loads(mistral.action_executions.get(a.id).output) == {}


# ------------------------------------------------------------------ reverse workflows

def test_reverse_workflow_without_or_with_an_unknown_task_name_is_refused(mistral):
    """Mistral 23 answers 400 at POST /v2/executions and stores no execution."""
    n = define(mistral, """
        version: '2.0'
        WF_REV:
          type: reverse
          tasks:
            a:
              action: std.noop
            b:
              action: std.noop
              requires: [a]
    """, "WF_REV")
    before = {e.id for e in mistral.executions.list(limit=1000)}
    err = api_error(mistral.executions.create, n["WF_REV"])
    assert err.error_code == 400
    assert "Invalid task name" in err.error_message and "task_name" in err.error_message
    err = api_error(mistral.executions.create, n["WF_REV"], task_name="nope")
    assert err.error_code == 400
    assert "task_name=nope" in err.error_message and "a, b" in err.error_message
    after = {e.id for e in mistral.executions.list(limit=1000)}
    assert after == before
    ex = finished(mistral, mistral.executions.create(n["WF_REV"], task_name="b").id)
    assert ex.state == "SUCCESS"


# ------------------------------------------------------------------ output-on-error

def test_output_on_error_is_exactly_its_keys_plus_result(mistral):
    """Mistral 23: {"result": <failure>} merged with the evaluated output-on-error;
    the variables the tasks published do not leak in."""
    n = define(mistral, """
        version: '2.0'
        WF_OOE:
          output-on-error:
            stage: <% $.stage %>
          tasks:
            prepare:
              action: std.noop
              publish:
                stage: prepared
                other: not in the output
              on-success: deploy
            deploy:
              action: std.fail error_data="image not found"
    """, "WF_OOE")
    ex = finished(mistral, mistral.executions.create(n["WF_OOE"]).id)
    assert ex.state == "ERROR"
    out = output(mistral.executions.get(ex.id))
    assert set(out) == {"result", "stage"}
    assert out["stage"] == "prepared"
    assert out["result"].startswith("Failure caused by error in tasks: deploy")


# ------------------------------------------------------------------ workbooks and namespaces

def test_deleting_a_workbook_deletes_its_workflows_and_actions(mistral):
    for namespace in ("", "wbns"):
        name = f"wb_{uuid.uuid4().hex[:10]}"
        mistral.workbooks.create(textwrap.dedent(f"""\
            version: '2.0'
            name: {name}
            actions:
              shout:
                base: std.echo output=<% $.x %>
                input: [x]
            workflows:
              main:
                tasks:
                  t:
                    action: shout x=1
            """), namespace=namespace)
        assert f"{name}.main" in [w.name for w in mistral.workflows.list(namespace=namespace)]
        mistral.workbooks.delete(name, namespace=namespace)
        assert f"{name}.main" not in [w.name for w in mistral.workflows.list()]
        assert f"{name}.shout" not in [a.name for a in mistral.actions.list()]
        assert api_error(mistral.workflows.get, f"{name}.main", namespace=namespace).error_code == 404


def test_namespaces_isolate_lists_lookups_and_starts(mistral):
    """Mistral 23: `namespace=ns1` lists and finds only ns1's workflows (by
    name; an id is found in any namespace); an execution starts a workflow of
    its namespace only, and a sub-workflow is looked up in the parent's
    namespace, then among the workflows of no namespace."""
    tag = uuid.uuid4().hex[:8]
    ns1, ns2 = f"ns1_{tag}", f"ns2_{tag}"
    shared, child, glob = f"shared_{tag}", f"child_{tag}", f"glob_{tag}"

    def doc(value: str) -> str:
        return textwrap.dedent(f"""\
            version: '2.0'
            {shared}:
              tasks:
                t:
                  workflow: {child}
                  publish:
                    got: <% task().result.said %>
            {child}:
              output:
                said: {value}
              tasks:
                t:
                  action: std.noop
            """)

    mistral.workflows.create(doc("from ns1"), namespace=ns1)
    (in_ns2, _) = mistral.workflows.create(doc("from ns2"), namespace=ns2)
    mistral.workflows.create(textwrap.dedent(f"""\
        version: '2.0'
        {glob}:
          tasks:
            t:
              workflow: {child}
        """))
    assert sorted(w.name for w in mistral.workflows.list(namespace=ns1)) == sorted([shared, child])
    assert {w.namespace for w in mistral.workflows.list(namespace=ns2)} == {ns2}
    assert mistral.workflows.get(shared, namespace=ns2).id == in_ns2.id
    assert mistral.workflows.get(in_ns2.id).namespace == ns2
    assert api_error(mistral.workflows.get, shared).error_code == 404
    assert api_error(mistral.workflows.get, glob, namespace=ns1).error_code == 404
    assert api_error(mistral.executions.create, glob, namespace=ns1).error_code == 404

    ex = finished(mistral, mistral.executions.create(shared, namespace=ns2).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"got": "from ns2"}
    # The child is not global: from the default namespace it cannot be found.
    ex = finished(mistral, mistral.executions.create(glob).id)
    assert ex.state == "ERROR"
    assert f"Workflow not found [workflow_identifier={child}" in ex.state_info


def test_sub_workflow_falls_back_to_the_global_namespace(mistral):
    tag = uuid.uuid4().hex[:8]
    ns, parent, child = f"ns_{tag}", f"parent_{tag}", f"child_{tag}"
    mistral.workflows.create(textwrap.dedent(f"""\
        version: '2.0'
        {child}:
          output:
            said: global child
          tasks:
            t:
              action: std.noop
        """))
    mistral.workflows.create(textwrap.dedent(f"""\
        version: '2.0'
        {parent}:
          tasks:
            t:
              workflow: {child}
              publish:
                got: <% task().result.said %>
        """), namespace=ns)
    ex = finished(mistral, mistral.executions.create(parent, namespace=ns).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"got": "global child"}


# ------------------------------------------------------------------ actions that do not exist yet

def test_workflow_may_name_an_action_created_later(mistral):
    """Mistral 23 stores a workflow whatever actions it names; the task fails
    when the action is still missing, and runs once it exists."""
    tag = uuid.uuid4().hex[:8]
    action = f"later_{tag}.greet"
    n = define(mistral, f"""
        version: '2.0'
        WF_LATER:
          tasks:
            t:
              action: {action} who=world
              publish:
                said: <% task().result %>
    """, "WF_LATER")
    ex = finished(mistral, mistral.executions.create(n["WF_LATER"]).id)
    assert ex.state == "ERROR"
    t = tasks_by_name(mistral, ex.id)["t"]
    assert t.state == "ERROR"
    assert t.state_info.startswith(f"Failed to find action [action_name={action}")

    report = mistral.workflows.validate(mistral.workflows.get(n["WF_LATER"]).definition)
    assert report["valid"] is False and f"Action '{action}' not found." in report["error"]

    mistral.actions.create(textwrap.dedent(f"""\
        version: '2.0'
        {action}:
          base: std.echo output="hello <% $.who %>"
          input: [who]
        """))
    ex = finished(mistral, mistral.executions.create(n["WF_LATER"]).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"said": "hello world"}


def test_ad_hoc_action_and_workbook_may_name_missing_actions(mistral):
    tag = uuid.uuid4().hex[:8]
    mistral.actions.create(textwrap.dedent(f"""\
        version: '2.0'
        on_top_{tag}:
          base: missing_{tag}.base
        """))
    wb = mistral.workbooks.create(textwrap.dedent(f"""\
        version: '2.0'
        name: wb_{tag}
        workflows:
          main:
            tasks:
              t:
                action: on_top_{tag}
        """))
    assert wb.name == f"wb_{tag}"
    ex = finished(mistral, mistral.executions.create(f"wb_{tag}.main").id)
    assert ex.state == "ERROR"
    assert f"Failed to find action [action_name=missing_{tag}.base" in ex.state_info


# ------------------------------------------------------------------ definitions as uploaded

def test_definitions_come_back_byte_for_byte(mistral):
    """Mistral 23 stores a one-workflow document, and a workbook, as sent."""
    tag = uuid.uuid4().hex[:8]
    wf_text = (f"---\nversion: '2.0'\n# a comment\n{tag}_wf:   # the workflow\n"
               f"  tasks:\n\n    t:\n      action: std.noop\n\n")
    mistral.workflows.create(wf_text)
    assert mistral.workflows.get(f"{tag}_wf").definition == wf_text
    updated = wf_text.replace("# a comment", "# changed")
    mistral.workflows.update(updated)
    assert mistral.workflows.get(f"{tag}_wf").definition == updated

    wb_text = (f"version: \"2.0\"\nname: {tag}_wb\n\nworkflows:\n  main:\n    tasks:\n"
               f"      t:\n        action: std.noop\n  other:\n    tasks:\n      u: {{}}\n")
    mistral.workbooks.create(wb_text)
    assert mistral.workbooks.get(f"{tag}_wb").definition == wb_text
    # A workbook's workflow: its own lines, as Mistral shows them.
    assert mistral.workflows.get(f"{tag}_wb.main").definition == (
        "main:\n  tasks:\n    t:\n      action: std.noop\n")

    two = (f"version: '2.0'\n\n{tag}_a:\n  tasks:\n    t: {{}}\n\n{tag}_b:\n  tasks:\n    u: {{}}\n")
    mistral.workflows.create(two)
    assert mistral.workflows.get(f"{tag}_b").definition == (
        f"version: '2.0'\n{tag}_b:\n  tasks:\n    u: {{}}\n")


# ------------------------------------------------------------------ creation order, duplicate names

def test_lists_come_back_in_creation_order(mistral):
    """Rows made in one request keep their order in lists sorted by created_at
    (as the mistral CLI asks: newest first, then reversed for display)."""
    tag = uuid.uuid4().hex[:8]
    names = [f"{tag}_{c}" for c in "qwertyuiop"]
    mistral.workflows.create("version: '2.0'\n" + "".join(
        f"{n}:\n  tasks:\n    t:\n      action: std.noop\n" for n in names))
    listed = [w.name for w in mistral.workflows.list(sort_keys="created_at", sort_dirs="asc")
              if w.name.startswith(tag)]
    assert listed == names
    newest_first = [w.name for w in mistral.workflows.list(sort_keys="created_at", sort_dirs="desc")
                    if w.name.startswith(tag)]
    assert newest_first == names[::-1]

    starts = [f"s{c}" for c in "zyxwvutsrq"]
    n = define(mistral, "version: '2.0'\nWF_WIDE:\n  tasks:\n" + "".join(
        f"    {s}:\n      action: std.noop\n" for s in starts), "WF_WIDE")
    ex = finished(mistral, mistral.executions.create(n["WF_WIDE"]).id)
    assert [t.name for t in mistral.tasks.list(ex.id)] == starts

    n = define(mistral, """
        version: '2.0'
        WF_ITEMS:
          tasks:
            t:
              with-items: i in <% range(12) %>
              action: std.echo output=<% $.i %>
    """, "WF_ITEMS")
    ex = finished(mistral, mistral.executions.create(n["WF_ITEMS"]).id)
    (t,) = mistral.tasks.list(ex.id)
    inputs = [json.loads(a.input)["output"] for a in mistral.action_executions.list(t.id)]
    assert inputs == list(range(12))


def test_duplicate_names_name_the_project(mistral):
    tag = "w" + uuid.uuid4().hex[:8]    # all digits, a bare key would be YAML's integer (1 run in 40)
    text = f"version: '2.0'\n{tag}:\n  tasks:\n    t: {{}}\n"
    mistral.workflows.create(text)
    err = api_error(mistral.workflows.create, text)
    assert err.error_code == 409
    assert err.error_message == (f"Duplicate entry for WorkflowDefinition ['name', 'namespace', "
                                 f"'project_id']: {tag}, , <default-project>")
    # Mistral's entity names, with the project the lists show (Mistral itself says None).
    wb = f"version: '2.0'\nname: wb_{tag}\nworkflows:\n  w:\n    tasks:\n      x: {{}}\n"
    ac = f"version: '2.0'\nac_{tag}:\n  base: std.noop\n"
    for manager, doc, message in (
            (mistral.workbooks, wb, f"WorkbookDefinition ['name', 'namespace', 'project_id']: wb_{tag}, "),
            (mistral.actions, ac, f"Action ['name', 'namespace', 'project_id']: ac_{tag}, ")):
        manager.create(doc)
        err = api_error(manager.create, doc)
        assert err.error_code == 409
        assert err.error_message == f"Duplicate entry for {message}, <default-project>"
    mistral.environments.create(name=f"env_{tag}", variables={})
    err = api_error(mistral.environments.create, name=f"env_{tag}", variables={})
    assert err.error_code == 409
    assert err.error_message.endswith(f": env_{tag}, <default-project>")


# ------------------------------------------------------------------ timeout

def test_timed_out_action_is_error_not_cancelled(mistral):
    """Mistral 23: the task fails with 'Task timed out [timeout(s)=N].' and its
    action execution ends in ERROR."""
    n = define(mistral, """
        version: '2.0'
        WF_TO:
          tasks:
            slow:
              action: std.sleep seconds=30
              timeout: 1
    """, "WF_TO")
    ex = finished(mistral, mistral.executions.create(n["WF_TO"]).id)
    assert ex.state == "ERROR"
    slow = mistral.tasks.get(tasks_by_name(mistral, ex.id)["slow"].id)
    assert slow.state_info == "Task timed out [timeout(s)=1]."
    assert json.loads(slow.result) == []        # no action ended
    (a,) = actions_of(mistral, slow.id)
    a = mistral.action_executions.get(a.id)
    assert a.state == "ERROR"
    assert a.state_info == "Action timed out [timeout(s)=1]."
    assert json.loads(a.output) == {"result": "Action timed out [timeout(s)=1]."}


# ------------------------------------------------------------------ tasks without an action

def test_task_without_action_records_a_std_noop_action_execution(mistral):
    """Mistral 23 runs `std.noop` for a task that names no action (once per item)."""
    n = define(mistral, """
        version: '2.0'
        WF_NOACT:
          tasks:
            plain:
              publish:
                x: 1
              on-success: items
            items:
              with-items: i in [1, 2, 3]
              publish:
                got: <% task().result %>
    """, "WF_NOACT")
    ex = finished(mistral, mistral.executions.create(n["WF_NOACT"]).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"x": 1, "got": [None, None, None]}
    tasks = tasks_by_name(mistral, ex.id)
    (a,) = actions_of(mistral, tasks["plain"].id)
    a = mistral.action_executions.get(a.id)
    assert (a.name, a.state, json.loads(a.output), json.loads(a.input)) == ("std.noop", "SUCCESS", {"result": None}, {})
    assert json.loads(mistral.tasks.get(tasks["plain"].id).result) is None
    items = actions_of(mistral, tasks["items"].id)
    assert [x.name for x in items] == ["std.noop"] * 3
    assert {x.state for x in items} == {"SUCCESS"}


# ------------------------------------------------------------------ skipping

def test_publish_on_skip(mistral, server):
    """Checked on Mistral 23: skipping publishes publish-on-skip merged with
    on-skip's and on-complete's publish (on-complete > own > on-skip)."""
    n = define(mistral, """
        version: '2.0'
        WF_SKIP:
          tasks:
            a:
              action: std.fail
              publish-on-error:
                why: failed
              publish-on-skip:
                x: own
                y: own
                st: <% task().state %>
              on-skip:
                publish:
                  branch:
                    x: clause
                    z: clause
                next: b
              on-complete:
                publish:
                  branch:
                    y: complete
            b:
              action: std.echo output=<% $.x %>
              publish:
                seen: <% task().result %>
    """, "WF_SKIP")
    ex = finished(mistral, mistral.executions.create(n["WF_SKIP"]).id)
    assert ex.state == "ERROR"
    a = tasks_by_name(mistral, ex.id)["a"]
    assert json.loads(mistral.tasks.get(a.id).published) == {"why": "failed", "y": "complete"}
    resp = httpx.put(f"{server.url}/tasks/{a.id}", json={"state": "SKIPPED"}, timeout=10)
    assert resp.status_code == 200, resp.text
    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"x": "own", "z": "clause", "y": "complete", "st": "SKIPPED", "seen": "own"}
    assert json.loads(mistral.tasks.get(a.id).published) == {
        "x": "own", "z": "clause", "y": "complete", "st": "SKIPPED"}


def test_task_failing_before_its_action_has_an_empty_result(mistral):
    """Mistral 23: the result of a task none of whose actions ended is []."""
    n = define(mistral, """
        version: '2.0'
        WF_EARLY:
          tasks:
            t:
              action: std.echo output=<% $.missing %>
              publish-on-error:
                seen: <% task().result %>
              on-error: h
            h:
              action: std.noop
    """, "WF_EARLY")
    ex = finished(mistral, mistral.executions.create(n["WF_EARLY"]).id)
    t = mistral.tasks.get(tasks_by_name(mistral, ex.id)["t"].id)
    assert t.state == "ERROR" and "missing" in t.state_info
    assert json.loads(t.result) == []
    assert json.loads(t.published) == {"seen": []}


def test_ad_hoc_actions_are_found_in_the_namespace_then_the_default_one(mistral):
    """As Mistral's lookup: the workflow's namespace first, then the default one."""
    tag = uuid.uuid4().hex[:8]
    ns = f"ns_{tag}"
    mistral.actions.create(f"version: '2.0'\nshared_{tag}:\n  base: std.echo output=global\n")
    mistral.actions.create(f"version: '2.0'\nmine_{tag}:\n  base: std.echo output=global\n")
    mistral.actions.create(f"version: '2.0'\nmine_{tag}:\n  base: std.echo output=ns\n", namespace=ns)
    mistral.workflows.create(textwrap.dedent(f"""\
        version: '2.0'
        wf_{tag}:
          tasks:
            a:
              action: shared_{tag}
              publish:
                a: <% task().result %>
            b:
              action: mine_{tag}
              publish:
                b: <% task().result %>
        """), namespace=ns)
    ex = finished(mistral, mistral.executions.create(f"wf_{tag}", namespace=ns).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"a": "global", "b": "ns"}
