"""Policies: Mistral's rule names and defaults, overridable by a policy file."""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from levante.auth.policy import Policy, rule_for
from levante.store.scope import Caller
from tests.api.helpers import unique, wf_yaml
from tests.auth.helpers import TokenServer

ECHO = "tasks:\n  t:\n    action: std.echo output=1\n"


@pytest.mark.parametrize("method,path,query,rules", [
    ("GET", "/v2/workflows", "", ["workflows:list"]),
    ("POST", "/v2/workflows", "scope=public", ["workflows:create", "workflows:publicize"]),
    ("PUT", "/v2/actions", "scope=public", ["actions:update", "actions:publicize"]),
    ("DELETE", "/v2/workbooks/wb", "", ["workbooks:delete"]),
    ("GET", "/v2/executions", "all_projects=true", ["executions:list", "executions:list:all_projects"]),
    ("GET", "/v2/executions/x/tasks", "", ["tasks:list"]),
    ("GET", "/v2/executions/x/report", "", ["executions:get"]),
    ("PUT", "/v2/tasks/x", "", ["tasks:update"]),
    ("GET", "/v2/tasks/x/action_executions", "", ["action_executions:list"]),
    ("POST", "/v2/workflows/x/members", "", ["members:create"]),
    ("PUT", "/v2/workflows/x/members/p", "", ["members:update"]),
    ("GET", "/v2/actions/std.echo/ns", "", ["actions:get"]),
    ("POST", "/v2/queues/q/messages", "", ["queues:create"]),
    ("GET", "/v2/auth/tokens", "", ["tokens:list"]),
    ("POST", "/v2/workflows/validate", "", []),
    ("GET", "/v2/", "", []),
])
def test_operations_map_to_mistrals_rule_names(method, path, query, rules):
    assert rule_for(method, path, query) == rules


def test_defaults():
    p = Policy()
    member = Caller(project_id="p", roles=("member",), authenticated=True)
    admin = Caller(project_id="p", roles=("admin",), is_admin=True, authenticated=True)
    assert p.allowed("workflows:create", member) and p.allowed("executions:delete", member)
    assert not p.allowed("executions:list:all_projects", member)
    assert p.allowed("executions:list:all_projects", admin)
    assert not p.allowed("tokens:create", member) and p.allowed("tokens:create", admin)
    assert not p.allowed("event_triggers:create:public", member)


def test_policy_file_overrides_a_rule(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"workflows:create": "rule:admin_only"\n"executions:list": "role:auditor"\n')
    s = TokenServer(tmp_path, "--config", str(tmp_path / "levante.yaml"))
    (tmp_path / "levante.yaml").write_text(f"policy_file: {policy}\n")
    s.start()
    try:
        member = s.http(s.create_token("m", "proj"))
        r = member.post("/workflows", content=wf_yaml(unique(), ECHO), headers={"Content-Type": "text/plain"})
        assert r.status_code == 403
        assert r.json() == {"faultcode": "Client", "debuginfo": None,
                            "faultstring": "Policy doesn't allow workflows:create to be performed."}
        assert member.get("/executions").status_code == 403
        assert member.get("/workflows").status_code == 200          # untouched rules keep their default
        admin = s.http(s.admin_token)
        r = admin.post("/workflows", content=wf_yaml(unique(), ECHO), headers={"Content-Type": "text/plain"})
        assert r.status_code == 201
    finally:
        s.stop()


def test_unreadable_policy_file_stops_the_start(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "levante", "server", "--auth", "token", "--port", "1",
                           "--db", f"sqlite:///{tmp_path / 'x.sqlite'}"],
                          env={**__import__("os").environ, "LEVANTE_POLICY_FILE": str(tmp_path / "missing.yaml"),
                               "LEVANTE_CREDENTIALS": str(tmp_path / "c.json")},
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot load the policy file" in proc.stderr


def test_policy_file_change_takes_effect_without_a_restart(tmp_path):
    """Edit the policy file under a running server: the new rules apply within
    seconds; a broken edit is logged and leaves the previous rules in force."""
    import time

    policy = tmp_path / "policy.yaml"
    policy.write_text('"workflows:create": "rule:admin_only"\n')
    (tmp_path / "levante.yaml").write_text(f"policy_file: {policy}\n")
    s = TokenServer(tmp_path, "--config", str(tmp_path / "levante.yaml")).start()

    def create_status(client) -> int:
        r = client.post("/workflows", content=wf_yaml(unique(), ECHO), headers={"Content-Type": "text/plain"})
        return r.status_code

    def becomes(status: int) -> None:
        deadline = time.time() + 20
        while create_status(member) != status:
            assert time.time() < deadline, f"workflows:create never answered {status} after the edit"
            time.sleep(0.2)

    try:
        member = s.http(s.create_token("m", "proj"))
        assert create_status(member) == 403
        policy.write_text('"workflows:create": "rule:admin_or_owner"\n"executions:list": "rule:admin_only"\n')
        becomes(201)
        assert member.get("/executions").status_code == 403
        # A broken edit: the server says why in its log and keeps the rules it had.
        policy.write_text('"workflows:create": [not yaml\n')
        deadline = time.time() + 20
        while "cannot be used" not in s.srv.log.read_text():
            assert time.time() < deadline, "the broken policy file was not reported"
            assert create_status(member) == 201
            time.sleep(0.2)
        assert create_status(member) == 201 and member.get("/executions").status_code == 403
        policy.write_text('"workflows:create": "rule:admin_only"\n')
        becomes(403)
        assert member.get("/executions").status_code == 200        # back to its default
    finally:
        s.stop()
