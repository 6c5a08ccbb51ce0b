"""Environments through python-mistralclient, and executions that use them."""
from __future__ import annotations

from tests.api.helpers import api_error, as_json, create_wf, finish, unique


def test_environment_crud(mistral):
    name = unique("env")
    env = mistral.environments.create(name=name, description="test env",
                                      variables={"foo": "bar", "n": [1, 2]})
    assert env.name == name
    assert env.variables == {"foo": "bar", "n": [1, 2]}
    assert env.description == "test env"

    got = mistral.environments.get(name)
    assert got.variables == {"foo": "bar", "n": [1, 2]}
    assert name in [e.name for e in mistral.environments.list()]

    upd = mistral.environments.update(name=name, variables={"foo": "baz"})
    assert upd.variables == {"foo": "baz"}
    assert mistral.environments.get(name).variables == {"foo": "baz"}

    mistral.environments.delete(name)
    assert api_error(mistral.environments.get, name).error_code == 404
    assert api_error(mistral.environments.delete, name).error_code == 404


def test_duplicate_environment_is_409(mistral):
    name = unique("env")
    mistral.environments.create(name=name, variables={"a": 1})
    assert api_error(mistral.environments.create, name=name, variables={"a": 2}).error_code == 409


def test_execution_with_env_by_name(mistral):
    env_name = unique("env")
    mistral.environments.create(name=env_name, variables={
        "foo": "bar", "service_ips": {"mons": ["192.168.24.13", "192.168.24.15"]}})
    name = unique()
    create_wf(mistral, name, """
tasks:
  by_function:
    action: std.echo output=<% env().foo %>
    publish:
      from_function: <% task().result %>
      first_ip: <% env().service_ips.mons[0] %>
  by_context:
    # YAQL's lexer refuses names starting with "__", hence get('__env')
    action: std.echo output=<% $.get('__env').foo %>
    publish:
      from_context: <% task().result %>
      ips: <% $.get('__env').service_ips.mons %>
""")
    ex = mistral.executions.create(name, env=env_name)
    ex = finish(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    assert as_json(ex.output) == {"from_function": "bar", "from_context": "bar",
                                  "first_ip": "192.168.24.13",
                                  "ips": ["192.168.24.13", "192.168.24.15"]}


def test_dunder_env_attribute_is_not_yaql(mistral):
    # `$.__env` does not lex in YAQL (names must not start with "__"): refused at create time
    err = api_error(create_wf, mistral, unique(), "tasks:\n  t:\n    action: std.echo output=<% $.__env.x %>\n")
    assert err.error_code == 400
    assert "__env" in err.error_message


def test_unknown_environment(mistral):
    assert api_error(mistral.environments.get, "no_such_env_xyz").error_code == 404
    name = unique()
    create_wf(mistral, name, "tasks:\n  t:\n    action: std.noop\n")
    err = api_error(mistral.executions.create, name, env="no_such_env_xyz")
    assert err.error_code == 400
    assert err.error_message == "Environment is not found: no_such_env_xyz"
    assert mistral.executions.list(workflow_name=name) == []
