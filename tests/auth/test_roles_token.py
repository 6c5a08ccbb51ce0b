"""Mode token with the API and the workers in separate processes over one
PostgreSQL database: the executor's mistral.* actions call the API with an
execution credential the API process accepts, acting for the starter's project."""
from __future__ import annotations

import json

import pytest

from tests.api.helpers import finish, unique, wf_yaml
from tests.auth.helpers import TokenServer, started
from tests.conftest import Server

ECHO = "tasks:\n  t:\n    action: std.echo output=1\n"


def test_execution_credentials_work_across_processes(tmp_path, pg_url):
    (tmp_path / "api").mkdir()
    (tmp_path / "workers").mkdir()
    api = TokenServer(tmp_path / "api")
    api.srv = Server(tmp_path / "api", pg_url, ("--auth", "token", "--role", "api"))
    api.url = api.srv.url
    workers = None
    try:
        api.start()
        mp = pytest.MonkeyPatch()
        mp.setenv("LEVANTE_API_URL", api.url)     # where the workers' mistral.* actions call
        try:
            workers = started(Server(tmp_path / "workers", pg_url,
                                     ("--auth", "token", "--role", "engine", "--role", "executor",
                                      "--role", "scheduler")))
        finally:
            mp.undo()
        a = api.mistral(api.create_token("alice", "project-a"))
        b = api.mistral(api.create_token("bob", "project-b"))
        hidden, own = unique("a_only"), unique("b_own")
        a.workflows.create(wf_yaml(hidden, ECHO))
        b.workflows.create(wf_yaml(own, ECHO))
        wf = unique()
        b.workflows.create(wf_yaml(wf, """
tasks:
  look:
    action: mistral.workflows_list
    publish:
      names: <% task().result.select($.name) %>
"""))
        ex = finish(b, b.executions.create(wf).id, timeout=90)
        assert ex.state == "SUCCESS", ex.state_info
        names = json.loads(b.tasks.list(workflow_execution_id=ex.id)[0].published)["names"]
        assert own in names and hidden not in names
        assert "name=mistral.workflows_list outcome=ok" in workers.log.read_text()
    finally:
        if workers is not None:
            workers.stop()
        api.stop()
