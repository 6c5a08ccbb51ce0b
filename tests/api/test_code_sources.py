"""Code sources and dynamic actions (/v2/code_sources, /v2/dynamic_actions):
upload a Python module, register a class from it as an action, run it in a
workflow and with run-action, update it without a restart; with the real
``mistral`` CLI and the ``levante`` CLI, on one process and on several over
PostgreSQL."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.api.clis import Cli
from tests.conftest import Server

MODULE_V1 = '''
from mistral_lib import actions


class Greet(actions.Action):
    """Greet someone."""

    def __init__(self, who, punct="!"):
        self.who = who
        self.punct = punct

    def run(self, context):
        return "Hello, %s%s (v1)" % (self.who, self.punct)


class Fail(actions.Action):
    def run(self, context):
        return actions.Result(error="no luck")
'''

WF = """
version: '2.0'
greet_wf:
  input: [who]
  tasks:
    hello:
      action: my.greet who=<% $.who %>
      publish:
        said: <% task().result %>
"""


def _wait(url: str, exec_id: str, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while True:
        body = httpx.get(f"{url}/executions/{exec_id}").json()
        if body["state"] in ("SUCCESS", "ERROR", "CANCELLED"):
            return body
        assert time.time() < deadline, f"execution {exec_id} still {body['state']}"
        time.sleep(0.1)


@pytest.fixture(params=["mistral", "levante"])
def cli(request, fresh_server, tmp_path) -> Cli:
    fresh_server.start()
    (tmp_path / "greetings.py").write_text(MODULE_V1)
    (tmp_path / "greetings_v2.py").write_text(MODULE_V1.replace("(v1)", "(v2)"))
    (tmp_path / "wf.yaml").write_text(WF)
    return Cli(request.param, fresh_server.url, tmp_path)


def test_upload_register_run_update_delete(cli, fresh_server):
    created = cli.json("code-source-create", "greetings", "greetings.py")
    assert created["Name"] == "greetings" and created["Scope"] == "private"
    assert cli.out("code-source-get-content", "greetings") == MODULE_V1
    assert [r["Name"] for r in cli.json("code-source-list")] == ["greetings"]
    assert cli.json("code-source-get", created["ID"])["Name"] == "greetings"

    action = cli.json("dynamic-action-create", "my.greet", "Greet", "greetings")
    assert action["Class"] == "Greet"
    assert action["Code source ID"] == created["ID"]
    assert action["Code source name"] == "greetings"
    assert [r["Name"] for r in cli.json("dynamic-action-list")] == ["my.greet"]
    assert cli.json("dynamic-action-get", "my.greet")["ID"] == action["ID"]
    # It is an action like any other: listed with its input, runnable at once.
    shown = cli.json("action-get", "my.greet")
    assert shown["Input"] == 'who, punct="!"'
    assert json.loads(cli.out("run-action", "my.greet", '{"who": "Ann"}')) == {"result": "Hello, Ann! (v1)"}

    cli.out("workflow-create", "wf.yaml")
    ex = httpx.post(f"{fresh_server.url}/executions",
                    json={"workflow_name": "greet_wf", "input": json.dumps({"who": "Bob"})}).json()
    done = _wait(fresh_server.url, ex["id"])
    assert done["state"] == "SUCCESS", done["state_info"]
    assert json.loads(done["output"]) == {"said": "Hello, Bob! (v1)"}

    # A new version is used by the next run, without a restart.
    updated = cli.json("code-source-update", "greetings", "greetings_v2.py")
    assert updated["Updated at"]
    assert httpx.get(f"{fresh_server.url}/code_sources/greetings").json()["version"] == 2
    assert json.loads(cli.out("run-action", "my.greet", '{"who": "Ann"}')) == {"result": "Hello, Ann! (v2)"}

    # Point the action at another class of the same module.
    assert cli.json("dynamic-action-update", "my.greet", "--class-name", "Fail")["Class"] == "Fail"
    failed = json.loads(cli.out("run-action", "my.greet"))
    assert failed == {"result": "no luck"}

    assert "has been accepted" in cli.out("dynamic-action-delete", "my.greet")
    assert "my.greet" not in cli.out("action-list", "-f", "value", "-c", "Name").split()
    assert "Dynamic Action not found" in cli.fails("dynamic-action-get", "my.greet")
    assert "has been accepted" in cli.out("code-source-delete", "greetings")
    assert "Code Source not found [name=greetings,namespace=]" in cli.fails("code-source-get", "greetings")


def test_deleting_a_code_source_deletes_its_actions(server):
    url = server.url
    name = f"mod_{time.time_ns()}"
    r = httpx.post(f"{url}/code_sources", params={"name": name}, content=MODULE_V1,
                   headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["version"] == 1 and body["content"] == MODULE_V1 and body["namespace"] == ""
    r = httpx.post(f"{url}/dynamic_actions", json={"name": f"{name}.greet", "class_name": "Greet",
                                                    "code_source_id": body["id"]})
    assert r.status_code == 201, r.text
    assert httpx.delete(f"{url}/code_sources/{body['id']}").status_code == 204
    r = httpx.get(f"{url}/dynamic_actions/{name}.greet")
    assert r.status_code == 404
    assert r.json()["faultstring"] == f"Dynamic Action not found [name={name}.greet,namespace=]"


def test_bad_input_is_a_clear_4xx(server):
    url = server.url
    name = f"bad_{time.time_ns()}"
    r = httpx.post(f"{url}/code_sources", params={"name": name}, content="def broken(:\n    pass\n",
                   headers={"content-type": "text/plain"})
    assert r.status_code == 400
    assert "is not valid Python" in r.json()["faultstring"] and "line 1" in r.json()["faultstring"]

    ok = httpx.post(f"{url}/code_sources", params={"name": name}, content=MODULE_V1,
                    headers={"content-type": "text/plain"})
    assert ok.status_code == 201
    dup = httpx.post(f"{url}/code_sources", params={"name": name}, content=MODULE_V1,
                     headers={"content-type": "text/plain"})
    assert dup.status_code == 409
    assert dup.json()["faultstring"] == ("Duplicate entry for CodeSource ['name', 'namespace', "
                                         f"'project_id']: {name}, , <default-project>")

    r = httpx.post(f"{url}/dynamic_actions", json={"name": f"{name}.x", "class_name": "Greet"})
    assert r.status_code == 400
    assert r.json()["faultstring"] == "Either 'code_source_id' or 'code_source_name' must be provided."
    r = httpx.post(f"{url}/dynamic_actions", json={"name": f"{name}.x", "class_name": "Nope",
                                                    "code_source_name": name})
    assert r.status_code == 400
    assert r.json()["faultstring"] == f"Class 'Nope' not found in code source '{name}'"
    r = httpx.post(f"{url}/dynamic_actions", json={"name": "std.echo", "class_name": "Greet",
                                                    "code_source_name": name})
    assert r.status_code == 409
    r = httpx.post(f"{url}/dynamic_actions", json={"name": f"{name}.x", "class_name": "Greet",
                                                    "code_source_name": "no_such_module"})
    assert r.status_code == 404
    assert httpx.put(f"{url}/code_sources", params={"identifier": "no_such_module"},
                     content="x = 1\n").status_code == 404
    assert httpx.delete(f"{url}/dynamic_actions/nothing_here").status_code == 404


def test_module_that_fails_to_load_fails_the_task_with_its_cause(server):
    url = server.url
    name = f"late_{time.time_ns()}"
    assert httpx.post(f"{url}/code_sources", params={"name": name}, content=MODULE_V1).status_code == 201
    assert httpx.post(f"{url}/dynamic_actions", json={"name": f"{name}.greet", "class_name": "Greet",
                                                       "code_source_name": name}).status_code == 201
    # The new version raises on import: the run reports the real cause.
    assert httpx.put(f"{url}/code_sources", params={"identifier": name},
                     content="import no_such_module_anywhere\n").status_code == 200
    r = httpx.post(f"{url}/action_executions", json={"name": f"{name}.greet",
                                                      "input": json.dumps({"who": "x"})})
    assert r.status_code == 400
    assert "No module named 'no_such_module_anywhere'" in r.json()["faultstring"]


def test_uploads_refused_when_the_setting_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVANTE_ALLOW_CODE_SOURCES", "false")
    srv = Server(tmp_path).start()
    try:
        r = httpx.post(f"{srv.url}/code_sources", params={"name": "m"}, content=MODULE_V1)
        assert r.status_code == 403
        assert "allow_code_sources" in r.json()["faultstring"]
        cli = Cli("mistral", srv.url, tmp_path)
        (tmp_path / "m.py").write_text(MODULE_V1)
        assert "Code sources are disabled" in cli.fails("code-source-create", "m", "m.py")
        assert cli.json("code-source-list") == [{k: "" for k in (
            "ID", "Name", "Namespace", "Project ID", "Scope", "Created at", "Updated at")}]
    finally:
        srv.stop()


def test_every_executor_runs_the_current_version(tmp_path, pg_url):
    """An API and two executors over one PostgreSQL database: each executor
    loads the module from the database and reloads it when its version changes."""
    dirs = [tmp_path / n for n in ("api", "engine", "executor1", "executor2")]
    for d in dirs:
        d.mkdir()
    api = Server(dirs[0], pg_url, ("--role", "api", "--role", "scheduler"))
    others = [Server(dirs[1], pg_url, ("--role", "engine")),
              Server(dirs[2], pg_url, ("--role", "executor", "--executor-workers", "2")),
              Server(dirs[3], pg_url, ("--role", "executor", "--executor-workers", "2"))]
    slow = MODULE_V1.replace('        return "Hello',
                             '        import time\n        time.sleep(0.2)\n        return "Hello')
    wf = """
version: '2.0'
many:
  tasks:
    each:
      with-items: i in <% range(0, 12) %>
      action: my.greet who=<% $.i %>
      publish:
        said: <% task().result %>
"""
    try:
        api.start()
        for s in others:
            s.start()
        assert httpx.post(f"{api.url}/code_sources", params={"name": "greetings"}, content=slow).status_code == 201
        assert httpx.post(f"{api.url}/dynamic_actions", json={
            "name": "my.greet", "class_name": "Greet", "code_source_name": "greetings"}).status_code == 201
        assert httpx.post(f"{api.url}/workflows", content=wf).status_code == 201
        for version in (1, 2):
            if version == 2:
                r = httpx.put(f"{api.url}/code_sources", params={"identifier": "greetings"},
                              content=slow.replace("(v1)", "(v2)"))
                assert r.json()["version"] == 2
            ex = httpx.post(f"{api.url}/executions", json={"workflow_name": "many"}).json()
            done = _wait(api.url, ex["id"])
            assert done["state"] == "SUCCESS", done["state_info"]
            said = json.loads(done["output"])["said"]
            assert said == [f"Hello, {i}! (v{version})" for i in range(12)]
        for executor in others[1:]:
            log = executor.log.read_text()
            assert "loaded code source greetings version 1" in log
            assert "loaded code source greetings version 2" in log
    finally:
        for s in [api] + others:
            s.stop()
