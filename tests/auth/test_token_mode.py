"""Mode token: hashed API tokens, the admin credential of the first start, 401s."""
from __future__ import annotations

import io
import json
import os
import stat

import httpx
import pytest
from mistralclient.api.base import APIException

from levante.cli.main import main as cli
from tests.api.helpers import unique, wf_yaml
from tests.auth.helpers import TokenServer

ECHO = "tasks:\n  t:\n    action: std.echo output=1\n"


@pytest.fixture(scope="module")
def ts(tmp_path_factory):
    s = TokenServer(tmp_path_factory.mktemp("token-mode")).start()
    yield s
    s.stop()


def run_cli(ts, *argv, token: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = os.environ.pop("LEVANTE_TOKEN", None)
    if token:
        os.environ["LEVANTE_TOKEN"] = token
    try:
        code = cli(["--url", ts.url, *argv], stdout=out, stderr=err)
    finally:
        os.environ.pop("LEVANTE_TOKEN", None)
        if old is not None:
            os.environ["LEVANTE_TOKEN"] = old
    return code, out.getvalue(), err.getvalue()


def test_first_start_leaves_an_admin_credential_only_the_user_can_read(ts):
    mode = stat.S_IMODE(ts.creds.stat().st_mode)
    assert mode == 0o600
    entry = json.loads(ts.creds.read_text())[ts.url]
    assert entry["token"].startswith("lvt_")
    # ... and it is stored hashed: only its SHA-256 is in the database.
    import hashlib

    import sqlalchemy as sa

    engine = sa.create_engine(ts.srv.db_url)
    try:
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(sa.text("SELECT * FROM api_tokens"))]
    finally:
        engine.dispose()
    assert hashlib.sha256(entry["token"].encode()).hexdigest() in {v for r in rows for v in r}
    assert not any(entry["token"] in str(v) for r in rows for v in r)


def test_cli_finds_the_credential_by_itself(ts):
    code, out, err = run_cli(ts, "workflow-list")
    assert code == 0, err
    assert "std.echo" not in err


def test_missing_or_bad_token_is_401_with_mistral_body(ts):
    for headers in ({}, {"X-Auth-Token": "lvt_wrong"}, {"Authorization": "Bearer nope"}):
        r = httpx.get(ts.url + "/workflows", headers=headers)
        assert r.status_code == 401
        assert r.json() == {"faultcode": "Client", "debuginfo": None,
                            "faultstring": "The request you have made requires authentication."}
    # Version discovery stays open.
    assert httpx.get(ts.url + "/").status_code == 200


def test_mistral_client_with_a_token(ts):
    token = ts.create_token("alice", "project-a")
    m = ts.mistral(token)
    name = unique()
    (wf,) = m.workflows.create(wf_yaml(name, ECHO))
    assert wf.project_id == "project-a"
    ex = m.executions.create(name)
    assert ex.project_id == "project-a"
    bad = ts.mistral("lvt_not-a-token")
    with pytest.raises(APIException) as info:
        bad.workflows.list()
    assert info.value.error_code == 401


def test_token_create_list_revoke_commands(ts):
    code, out, err = run_cli(ts, "token-create", "ci-bot", "--project", "ci")
    assert code == 0, err
    token = out.strip().splitlines()[-1]
    assert token.startswith("lvt_")
    assert httpx.get(ts.url + "/workflows", headers={"X-Auth-Token": token}).status_code == 200
    code, out, err = run_cli(ts, "token-list", "-f", "json")
    assert code == 0, err
    listed = {t["Name"]: t for t in json.loads(out)}
    assert listed["ci-bot"]["Project ID"] == "ci" and listed["ci-bot"]["Admin"] is False
    assert "lvt_" not in out
    code, out, err = run_cli(ts, "token-revoke", "ci-bot")
    assert code == 0, err
    assert httpx.get(ts.url + "/workflows", headers={"X-Auth-Token": token}).status_code == 401
    code, out, err = run_cli(ts, "token-revoke", "ci-bot")
    assert code == 1 and "Token not found" in err


def test_a_token_with_an_expiry(ts):
    """token-create --expires-in: token-list shows when; past it the token is
    401 with Mistral's body saying that it expired (even when it was cached)."""
    import time

    code, out, err = run_cli(ts, "token-create", "short-lived", "--project", "exp", "--expires-in", "3s")
    assert code == 0, err
    assert "expires at " in out
    token = out.strip().splitlines()[-1]
    assert httpx.get(ts.url + "/workflows", headers={"X-Auth-Token": token}).status_code == 200
    code, out, err = run_cli(ts, "token-list", "-f", "json")
    listed = {t["Name"]: t for t in json.loads(out)}
    assert listed["short-lived"]["Expires at"] > listed["short-lived"]["Created at"]
    assert listed["admin"]["Expires at"] == "never"
    time.sleep(3.5)
    r = httpx.get(ts.url + "/workflows", headers={"X-Auth-Token": token})
    assert r.status_code == 401
    body = r.json()
    assert body["faultcode"] == "Client" and body["debuginfo"] is None
    assert body["faultstring"].startswith("The token has expired (at ")
    with pytest.raises(APIException) as info:
        ts.mistral(token).workflows.list()
    assert info.value.error_code == 401
    # The API takes seconds; the CLI a duration. Both refuse nonsense.
    r = httpx.post(ts.url + "/auth/tokens", json={"name": "x", "expires_in": -1},
                   headers={"X-Auth-Token": ts.admin_token})
    assert r.status_code == 400 and "expires_in" in r.json()["faultstring"]
    r = httpx.post(ts.url + "/auth/tokens", json={"name": "x", "expires_in": "1h"},
                   headers={"X-Auth-Token": ts.admin_token})
    assert r.status_code == 400
    code, out, err = run_cli(ts, "token-create", "y", "--expires-in", "soon")
    assert code == 1 and "Invalid duration 'soon'" in err
    r = httpx.post(ts.url + "/auth/tokens", json={"name": "day", "expires_in": 86400},
                   headers={"X-Auth-Token": ts.admin_token})
    assert r.status_code == 201 and r.json()["expires_at"]


def test_only_admins_manage_tokens(ts):
    token = ts.create_token("mallory", "project-m")
    code, out, err = run_cli(ts, "token-create", "mine", "--admin", token=token)
    assert code == 1 and "Policy doesn't allow tokens:create to be performed." in err
    r = httpx.get(ts.url + "/auth/tokens", headers={"X-Auth-Token": token})
    assert r.status_code == 403
    assert r.json()["faultstring"] == "Policy doesn't allow tokens:list to be performed."


def test_restart_keeps_the_credential(tmp_path):
    s = TokenServer(tmp_path).start()
    try:
        first = s.admin_token
    finally:
        s.srv.stop()
    s.srv.port = s.srv.port   # same port, same URL, same database
    s.srv.start()
    try:
        assert s.admin_token == first
        assert httpx.get(s.url + "/workflows", headers={"X-Auth-Token": first}).status_code == 200
    finally:
        s.stop()


def test_non_loopback_bind_is_allowed_with_token_mode(tmp_path):
    s = TokenServer(tmp_path, "--host", "0.0.0.0").start()
    try:
        # Any Host header is fine once every call needs a credential.
        r = httpx.get(s.url + "/workflows", headers={"X-Auth-Token": s.admin_token, "Host": "levante.example"})
        assert r.status_code == 200
    finally:
        s.stop()


def test_admin_cli_lists_across_projects(ts):
    token = ts.create_token("carol", "project-c")
    name = unique()
    m = ts.mistral(token)
    m.workflows.create(wf_yaml(name, ECHO))
    ex = m.executions.create(name)
    code, out, err = run_cli(ts, "execution-list", "--filter", "all_projects=true",
                             "--filter", "project_id=project-c", "-f", "json")
    assert code == 0, err
    assert [e["ID"] for e in json.loads(out)] == [ex.id]
    code, out, err = run_cli(ts, "execution-list", "-f", "json")     # the admin's own project only
    assert code == 0, err
    assert ex.id not in {e["ID"] for e in json.loads(out)}
    code, out, err = run_cli(ts, "execution-list", "--filter", "all_projects=true", token=token)
    assert code == 1 and "Policy doesn't allow executions:list:all_projects" in err


def test_cli_token_option(ts):
    token = ts.create_token("dave", "project-d")
    name = unique()
    ts.mistral(token).workflows.create(wf_yaml(name, ECHO))
    code, out, err = run_cli(ts, "--os-auth-token", token, "workflow-get", name, "-f", "json")
    assert code == 0, err
    assert json.loads(out)["Project ID"] == "project-d"
    code, out, err = run_cli(ts, "--token", "lvt_bogus", "workflow-list")
    assert code == 1 and "requires authentication" in err


def test_the_console_loads_without_a_token_and_its_data_needs_one(ts):
    base = ts.url[: -len("/v2")]
    page = httpx.get(base + "/ui/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    # Its assets too (the sign-in form must load), but not the API behind it.
    assert httpx.get(base + "/ui/executions/x").status_code == 200
    assert httpx.get(ts.url + "/executions").status_code == 401
