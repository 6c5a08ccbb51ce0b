"""The crash-course documents all parse, into the expected specs."""
from pathlib import Path

import pytest

from levante.lang import (
    MISSING, InputParam, RetryPolicy, Transition, WithItems, parse_workbook, parse_workflows, validate,
)

DATA = Path(__file__).resolve().parents[2] / "examples"


def read(name):
    return (DATA / name).read_text()


@pytest.mark.parametrize("name", [
    "hello_world.yaml", "input_action_details.yaml", "interactive-workflow.yaml",
    "mistral-env.yaml", "mistral-env-w-ssh.yaml", "flow_control.yaml", "struct.yaml",
])
def test_validates_clean(name):
    assert validate(read(name)) == []


def test_hello_world():
    [wf] = parse_workflows(read("hello_world.yaml"))
    assert wf.name == "hello_world"
    assert wf.type == "direct"
    assert wf.line == 4
    t = wf.tasks["say_hello"]
    assert t.line == 6
    assert t.action == "std.echo"
    assert t.input == {"output": "Hello Workflow!"}
    assert t.publish == {"output": "<% task(say_hello).result %>"}
    assert t.keep_result is True and t.safe_rerun is False
    assert [s.name for s in wf.start_tasks()] == ["say_hello"]
    assert wf.definition == (
        "---\nversion: '2.0'\n\n"
        "hello_world:\n"
        "  tasks:\n"
        "    say_hello:\n"
        "      action: std.echo output=\"Hello Workflow!\"\n"
        "      publish:\n"
        "        output: <% task(say_hello).result %>\n"
    )


def test_input_action_details():
    [wf] = parse_workflows(read("input_action_details.yaml"))
    assert wf.input == (InputParam("names"),)
    assert wf.input[0].required and wf.input[0].default is MISSING
    t1, t2 = wf.tasks.values()
    assert t1.with_items == WithItems((("name", "<% $.names %>"),))
    assert t1.input == {"output": "<% $.name %>"}
    assert t1.on_success.next == (Transition("task2"),)
    assert t2.input == {"output": "Done"}
    assert wf.inbound("task2") == ["task1"]


def test_interactive_workflow():
    [wf] = parse_workflows(read("interactive-workflow.yaml"))
    assert wf.input == (InputParam("input_queue", "workflow-input"),
                        InputParam("output_queue", "workflow-output"))
    req = wf.tasks["request_user_input"]
    assert req.retry == RetryPolicy(count=5, delay=1)
    assert req.input == {"queue_name": "<% $.output_queue %>",
                         "messages": {"body": "Send some input to '<% $.input_queue %>'"}}
    assert wf.tasks["read_user_input"].pause_before is True
    done = wf.tasks["done"]
    assert done.action == "zaqar.queue_post"
    assert done.input["messages"] == {"body": "You sent: '<% $.user_input %>'"}


def test_duplicate_action_key_last_wins():
    # The crash course's original 'done' task says 'action:' twice: as YAML
    # loading does, the last one wins and the overridden one's inline
    # parameters are dropped.
    [wf] = parse_workflows(
        "version: '2.0'\nw:\n  tasks:\n    done:\n"
        "      action: std.echo output=<% $.user_input %>\n"
        "      action: zaqar.queue_post\n"
        "      input:\n        queue_name: q\n")
    done = wf.tasks["done"]
    assert done.action == "zaqar.queue_post"
    assert "output" not in done.input


def test_mistral_env():
    [wf] = parse_workflows(read("mistral-env.yaml"))
    assert list(wf.tasks) == ["show_env_synax1", "show_env_synax2", "show_ips"]
    assert wf.tasks["show_env_synax1"].input == {"output": "<% $.get('__env') %>"}
    assert wf.tasks["show_env_synax1"].on_complete.next == (Transition("show_env_synax2"),)
    assert wf.tasks["show_ips"].input == {
        "output": "<% env().get('service_ips', {}).get('ceph_mon_ctlplane_node_ips', []) %>"}


def test_mistral_env_w_ssh():
    [wf] = parse_workflows(read("mistral-env-w-ssh.yaml"))
    t = wf.tasks["get_private_key"]
    assert t.action == "mistral.environments_get"
    assert t.input == {"name": "ssh_keys"}


def test_flow_control_workbook():
    text = read("flow_control.yaml")
    wb = parse_workbook(text)
    assert wb.name == "flowcontrol"
    assert wb.description == "http://www.dougalmatthews.com/2017/Jan/09/mistral-flow-control"
    assert list(wb.workflows) == ["flowcontrol.flow_control", "flowcontrol.flow_control_triple"]
    assert wb.definition == text
    wf = wb.workflows["flowcontrol.flow_control"]
    assert wf.name == "flowcontrol.flow_control"
    assert wf.input == (InputParam("x", False),)
    sw = wf.tasks["task_switch"]
    assert sw.action is None and sw.workflow is None
    assert sw.on_success.next == (
        Transition("task_a", "<% $.x = true %>"), Transition("task_b", "<% $.x != true %>"))
    assert [t.name for t in wf.start_tasks()] == ["task_switch"]
    triple = wb.workflows["flowcontrol.flow_control_triple"]
    assert [tr.target for tr in triple.tasks["task_switch"].on_success.next] == [
        "letter_a", "letter_a_or_b", "letter_other"]
    assert triple.tasks["letter_other"].line == 36


def test_struct_workbook():
    wb = parse_workbook(read("struct.yaml"))
    wf = wb.workflows["struct.struct-wf"]
    assert wf.input[0] == InputParam("ansible_env_variables", {"ANSIBLE_SSH_RETRIES": "6"})
    assert wf.input[1].default["DEFAULT_FORKS"] == "50"
    merge = wf.tasks["merge"]
    assert merge.action is None
    assert merge.publish == {
        "extra_env_variables": "<% $.ansible_extra_env_variables.mergeWith($.ansible_env_variables) %>"}
    assert sorted(wf.inbound("merge")) == ["show_default_vars", "show_env_vars"]
    assert [t.name for t in wf.start_tasks()] == ["show_env_vars", "show_default_vars"]


def test_env_file_is_not_a_workflow():
    errors = validate(read("env.yaml"))
    assert errors
    assert errors[0].message.startswith("Missing required key 'version'")


@pytest.mark.parametrize("name", [
    "hello_world.yaml", "input_action_details.yaml", "interactive-workflow.yaml", "mistral-env.yaml",
])
def test_definition_reparses_to_same_workflow(name):
    [wf] = parse_workflows(read(name))
    [again] = parse_workflows(wf.definition)
    assert again.definition == wf.definition
    assert _strip_lines(again) == _strip_lines(wf)


def test_workbook_workflow_definitions_reparse():
    wb = parse_workbook(read("struct.yaml"))
    wf = wb.workflows["struct.struct-wf"]
    # As Mistral: the workflow's own lines, without a version line.
    assert wf.definition.startswith("struct-wf:\n  # allows")
    [again] = parse_workflows("version: '2.0'\n" + wf.definition)
    assert again.name == "struct-wf"
    assert _strip_lines(again, name=wf.name) == _strip_lines(wf)


def _strip_lines(wf, name=None):
    import dataclasses
    tasks = {k: dataclasses.replace(t, line=None) for k, t in wf.tasks.items()}
    return dataclasses.replace(wf, tasks=tasks, line=None, definition="", name=name or wf.name)
