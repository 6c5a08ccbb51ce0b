"""task(), tasks(), execution(), env(), global(), json/yaml helpers, uuid()."""

from __future__ import annotations

import json
import uuid

import pytest
import yaml

from levante.expr import ExpressionError, FunctionContext, StaticContext, evaluate

TASKS = [
    {"id": "t1", "name": "say_hello", "state": "SUCCESS", "state_info": None,
     "result": "Hello", "published": {"greeting": "Hello"},
     "workflow_execution_id": "wf1", "spec": {"action": "std.echo"}, "type": "ACTION"},
    {"id": "t2", "name": "read_user_input", "state": "SUCCESS", "state_info": None,
     "result": [{"body": "hi there"}], "published": {},
     "workflow_execution_id": "wf1", "spec": {}, "type": "ACTION"},
    {"id": "t3", "name": "failing", "state": "ERROR", "state_info": "boom",
     "result": None, "published": {}, "workflow_execution_id": "wf1", "spec": {},
     "type": "ACTION"},
    {"id": "t4", "name": "say_hello", "state": "RUNNING", "state_info": None,
     "result": "Hello again", "published": {}, "workflow_execution_id": "wf2", "spec": {},
     "type": "ACTION"},
    {"id": "t5", "name": "get_private_key", "state": "SUCCESS", "state_info": None,
     "result": {"variables": {"private_key": "KEY"}}, "published": {},
     "workflow_execution_id": "wf1", "spec": {}, "type": "ACTION"},
]

CTX = StaticContext(
    task_list=TASKS,
    current_task="failing",
    execution_info={"id": "wf1", "name": "wb.wf", "spec": {"name": "wf"},
                    "input": {"names": ["a"]}, "params": {}, "created_at": "2024-01-01 00:00:00",
                    "updated_at": None, "root_execution_id": None},
    env_vars={"service_ips": {"ceph_mon_ctlplane_node_ips": ["10.0.0.1", "10.0.0.2"]}},
    globals_vars={"counter": 7},
)

DATA = {"names": ["a", "b"], "obj": {"k": [1, 2]}, "text": '{"a": [1, {"b": null}]}'}


def ev(text, data=DATA, ctx=CTX):
    return evaluate(text, data, ctx)


def test_static_context_is_a_function_context():
    assert isinstance(CTX, FunctionContext)


def test_task_by_bare_name_in_yaql():
    # From the seed hello_world.yaml: an unquoted task name.
    assert ev("<% task(say_hello).result %>") == "Hello again"
    assert ev("<% task(read_user_input).result[0].body %>") == "hi there"
    assert ev("<% task(get_private_key).result.variables.private_key %>") == "KEY"


@pytest.mark.parametrize("text", [
    "<% task('say_hello').result %>",
    "<% task(\"say_hello\").result %>",
    "{{ task('say_hello').result }}",
])
def test_task_by_quoted_name(text):
    assert ev(text) == "Hello again"  # the latest task of that name


def test_current_task():
    assert ev("<% task().state %>") == "ERROR"
    assert ev("<% task().state_info %>") == "boom"
    assert ev("{{ task().state }}") == "ERROR"
    assert ev("<% task() %>") == TASKS[2]
    assert ev("{{ task() }}") == TASKS[2]


def test_unknown_task_is_null():
    assert ev("<% task(nope) %>") is None
    assert ev("{{ task('nope') }}") is None
    with pytest.raises(ExpressionError):
        ev("<% task(nope).result %>")


def test_tasks():
    assert ev("<% tasks().name %>") == [t["name"] for t in TASKS]
    assert ev("<% tasks(wf2).id %>") == ["t4"]
    assert ev("<% tasks(wf1, false, SUCCESS).id %>") == ["t1", "t2", "t5"]
    assert ev("<% tasks(state => ERROR).id %>") == ["t3"]
    assert ev("<% tasks(workflowExecutionId => wf2).id %>") == ["t4"]
    assert [t["id"] for t in ev("{{ tasks(state='ERROR') }}")] == ["t3"]
    assert [t["id"] for t in ev("{{ tasks('wf2') }}")] == ["t4"]
    assert ev("<% tasks().where($.state = ERROR).name %>") == ["failing"]


def test_execution():
    assert ev("<% execution().id %>") == "wf1"
    assert ev("<% execution().input.names %>") == ["a"]
    assert ev("{{ execution().name }}") == "wb.wf"
    assert ev("<% execution() %>") == CTX.execution_info


def test_env():
    # From the seed mistral-env.yaml.
    assert ev("<% env().get('service_ips', {}).get('ceph_mon_ctlplane_node_ips', []) %>") \
        == ["10.0.0.1", "10.0.0.2"]
    assert ev("<% env() %>") == CTX.env_vars
    assert ev("{{ env().service_ips.ceph_mon_ctlplane_node_ips[1] }}") == "10.0.0.2"


def test_global():
    assert ev("<% global(counter) %>") == 7
    assert ev("<% global('counter') + 1 %>") == 8
    assert ev("{{ global('counter') }}") == 7
    assert ev("<% global(nope) %>") is None


@pytest.mark.parametrize("text, name", [
    ("<% task() %>", "task"),
    ("<% task(x).result %>", "task"),
    ("<% tasks() %>", "tasks"),
    ("<% execution() %>", "execution"),
    ("<% env() %>", "env"),
    ("<% global(x) %>", "global"),
    ("{{ task() }}", "task"),
    ("{{ tasks() }}", "tasks"),
    ("{{ execution() }}", "execution"),
    ("{{ env() }}", "env"),
    ("{{ global('x') }}", "global"),
])
def test_context_functions_without_context(text, name):
    with pytest.raises(ExpressionError) as e:
        evaluate(text, DATA)
    assert "%s()" % name in str(e.value)
    assert "context" in str(e.value)


def test_functions_needing_no_context_work_without_one():
    assert evaluate("<% json_dump($.obj) %>", DATA) == json.dumps(DATA["obj"], indent=4)
    assert evaluate("{{ uuid() }}", DATA)


def test_context_errors_become_expression_errors():
    class Broken(StaticContext):
        def task(self, name):
            raise RuntimeError("database is down")

    with pytest.raises(ExpressionError) as e:
        evaluate("<% task(x).result %>", DATA, Broken())
    assert "database is down" in str(e.value)
    with pytest.raises(ExpressionError):
        evaluate("{{ task('x') }}", DATA, Broken())


def test_json_dump():
    assert ev("<% json_dump($.obj) %>") == json.dumps({"k": [1, 2]}, indent=4)
    assert ev("{{ json_dump(_.obj) }}") == json.dumps({"k": [1, 2]}, indent=4)
    assert ev("{{ _.obj | json_dump }}") == json.dumps({"k": [1, 2]}, indent=4)
    assert ev("<% json_dump('3') %>") == '"3"'
    assert ev("<% json_dump(3) %>") == "3"
    assert ev("<% json_dump($.names.toSet().orderBy($)) %>") == json.dumps(["a", "b"], indent=4)


def test_json_pp():
    assert ev("<% json_pp($.obj) %>") == json.dumps({"k": [1, 2]}, indent=4)
    assert ev("<% json_pp('a\nb') %>") == '"a\nb"'
    assert json.loads(ev("<% json_pp() %>", data={"z": 1})) == {"z": 1}
    assert ev("{{ json_pp(_.obj) }}") == json.dumps({"k": [1, 2]}, indent=4)


def test_json_parse():
    assert ev("<% json_parse($.text) %>") == {"a": [1, {"b": None}]}
    assert ev("<% json_parse($.text).a[1] %>") == {"b": None}
    assert ev("{{ json_parse(_.text).a[0] }}") == 1
    assert ev("{{ _.text | json_parse }}") == {"a": [1, {"b": None}]}
    with pytest.raises(ExpressionError):
        ev("<% json_parse('{nope') %>")


def test_yaml_dump_and_parse():
    assert ev("<% yaml_dump($.obj) %>") == "k:\n- 1\n- 2\n"
    assert ev("{{ yaml_dump(_.obj) }}") == "k:\n- 1\n- 2\n"
    assert ev("<% yaml_parse('a: [1, 2]') %>") == {"a": [1, 2]}
    assert ev("{{ yaml_parse('a: 1').a }}") == 1
    assert ev("<% yaml_parse(yaml_dump($.obj)) %>") == DATA["obj"]
    with pytest.raises(ExpressionError):
        ev("<% yaml_parse('a: !!python/object:os.system x') %>")


def test_yaml_parse_does_not_expand_aliases():
    doc = "a: &x foo\nb: *x\n"
    assert ev("<% yaml_parse($.doc) %>", data={"doc": doc}) == {"a": "foo", "b": "*x"}
    bomb = ("a: &a [x,x,x,x,x,x,x,x,x]\n"
            "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            "c: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n")
    parsed = ev("{{ yaml_parse(_.doc) }}", data={"doc": bomb})
    assert parsed["c"] == ["*b"] * 9
    assert yaml.safe_load("a: [1]") == {"a": [1]}  # the global loader is untouched


def test_uuid():
    a = ev("<% uuid() %>")
    b = ev("{{ uuid() }}")
    assert str(uuid.UUID(a)) == a and str(uuid.UUID(b)) == b and a != b


def test_nested_evaluate_inside_a_context_function():
    # The engine may evaluate expressions while serving a function.
    class Nested(StaticContext):
        def global_var(self, name):
            return evaluate("<% $.v * 2 %>", {"v": 21})

    assert evaluate("<% global(x) + task(say_hello).id.len() %>", {}, Nested(task_list=TASKS)) \
        == 44
