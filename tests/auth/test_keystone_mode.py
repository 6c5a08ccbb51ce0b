"""Mode keystone: keystonemiddleware's auth_token against a real Keystone
(scripts/test-services.sh starts it), driven by the real `mistral` CLI with
--os-auth-url/--os-username/--os-password/--os-project-name."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import unique, wf_yaml
from tests.auth.helpers import keystone_server

KEYSTONE = os.environ.get("LEVANTE_TEST_KEYSTONE")
MISTRAL = shutil.which("mistral") or str(Path(sys.executable).parent / "mistral")
ECHO = "tasks:\n  hello:\n    action: std.echo output=\"hello from keystone\"\n    publish:\n      said: <% task().result %>\n"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = keystone_server(tmp_path_factory.mktemp("keystone"))
    yield s
    s.stop()


def mistral(srv, user: str, password: str, project: str, *argv: str, cwd=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    cmd = [MISTRAL, "--os-auth-url", KEYSTONE, "--os-username", user, "--os-password", password,
           "--os-project-name", project, "--os-user-domain-name", "Default",
           "--os-project-domain-name", "Default", "--os-mistral-url", srv.url, *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def alice(srv, *argv, **kw):
    return mistral(srv, "alice", "alice-pw", "demo", *argv, **kw)


def bob(srv, *argv, **kw):
    return mistral(srv, "bob", "bob-pw", "other", *argv, **kw)


def test_mistral_cli_session_end_to_end(srv, tmp_path):
    name = unique()
    (tmp_path / "wf.yaml").write_text(wf_yaml(name, ECHO))
    r = alice(srv, "workflow-create", "wf.yaml", "-f", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (wf,) = json.loads(r.stdout)
    assert wf["Name"] == name and wf["Project ID"] not in ("", "<default-project>")

    r = alice(srv, "execution-create", name, "-f", "json")
    assert r.returncode == 0, r.stderr
    ex_id = json.loads(r.stdout)["ID"]
    deadline = time.time() + 60
    while True:
        r = alice(srv, "execution-get", ex_id, "-f", "json")
        assert r.returncode == 0, r.stderr
        state = json.loads(r.stdout)["State"]
        if state in ("SUCCESS", "ERROR") or time.time() > deadline:
            break
        time.sleep(0.5)
    assert state == "SUCCESS"
    r = alice(srv, "task-list", ex_id, "-f", "json")
    assert r.returncode == 0, r.stderr
    (task,) = json.loads(r.stdout)
    r = alice(srv, "task-get-published", task["ID"])
    assert r.returncode == 0 and "hello from keystone" in r.stdout

    # Another project sees none of it.
    r = bob(srv, "workflow-list", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert name not in {w["Name"] for w in json.loads(r.stdout)}
    r = bob(srv, "execution-get", ex_id)
    assert r.returncode != 0 and "not found" in (r.stderr + r.stdout)
    r = bob(srv, "execution-create", name)
    assert r.returncode != 0 and "not found" in (r.stderr + r.stdout).lower()


def test_admin_role_lists_all_projects(srv):
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    def token(user, password, project):
        auth = v3.Password(auth_url=KEYSTONE, username=user, password=password, project_name=project,
                           user_domain_id="default", project_domain_id="default")
        return session.Session(auth=auth).get_token()

    member, admin = token("alice", "alice-pw", "demo"), token("ks-admin", "ks-admin-pw", "admin")
    assert httpx.get(srv.url + "/executions", params={"all_projects": "true"},
                     headers={"X-Auth-Token": member}).status_code == 403
    assert httpx.get(srv.url + "/executions", params={"all_projects": "true"},
                     headers={"X-Auth-Token": admin}).status_code == 200


def test_no_or_bad_token_is_401(srv):
    assert httpx.get(srv.url + "/workflows").status_code == 401
    r = httpx.get(srv.url + "/workflows", headers={"X-Auth-Token": "gAAAAA-not-a-token"})
    assert r.status_code == 401
    assert r.json()["faultstring"] == "The request you have made requires authentication."
    r = bob(srv, "workflow-list")
    assert r.returncode == 0, r.stderr
    r = mistral(srv, "bob", "wrong-password", "other", "workflow-list")
    assert r.returncode != 0


@pytest.fixture
def catalog_region(srv):
    """Levante in the test Keystone's catalog, as Mistral is listed: a
    ``workflowv2`` service with a public endpoint, in a region of this test's own
    (other runs may list other servers); removed afterwards."""
    import uuid

    r = httpx.post(KEYSTONE + "/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "ks-admin", "domain": {"id": "default"}, "password": "ks-admin-pw"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    assert r.status_code == 201, r.text
    admin = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    region = f"levante-test-{uuid.uuid4().hex[:8]}"
    assert httpx.post(KEYSTONE + "/regions", json={"region": {"id": region}}, headers=admin).status_code == 201
    r = httpx.post(KEYSTONE + "/services", json={"service": {"type": "workflowv2", "name": "levante",
                                                             "description": "Levante under test"}},
                   headers=admin)
    assert r.status_code == 201, r.text
    service = r.json()["service"]["id"]
    try:
        r = httpx.post(KEYSTONE + "/endpoints", json={"endpoint": {
            "service_id": service, "interface": "public", "url": srv.url, "region_id": region}}, headers=admin)
        assert r.status_code == 201, r.text
        yield region
    finally:
        httpx.delete(KEYSTONE + f"/services/{service}", headers=admin)     # its endpoints go with it
        httpx.delete(KEYSTONE + f"/regions/{region}", headers=admin)


def test_mistral_cli_finds_levante_in_the_keystone_catalog(srv, catalog_region, tmp_path):
    """No --os-mistral-url and no MISTRAL_URL: the CLI takes Levante's address
    from the catalog of alice's token, as it finds Mistral's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "MISTRAL_"))}
    name = unique()
    (tmp_path / "wf.yaml").write_text(wf_yaml(name, ECHO))

    def cli(*argv: str) -> subprocess.CompletedProcess:
        cmd = [MISTRAL, "--os-auth-url", KEYSTONE, "--os-username", "alice", "--os-password", "alice-pw",
               "--os-project-name", "demo", "--os-user-domain-name", "Default",
               "--os-project-domain-name", "Default", "--os-region-name", catalog_region, *argv]
        assert "--os-mistral-url" not in cmd
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)

    r = cli("workflow-create", "wf.yaml", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["Name"] == name
    r = cli("workflow-list", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert name in {w["Name"] for w in json.loads(r.stdout)}
    # It was this server that answered.
    assert httpx.get(srv.url + f"/workflows/{name}", headers={"X-Auth-Token": _token("alice", "alice-pw", "demo")}
                     ).status_code == 200
    # Without the catalog entry (another region) the CLI cannot find this server: it
    # fails, or falls back to its default address (http://localhost:8989/v2), which
    # is not this server.
    r = subprocess.run([MISTRAL, "--os-auth-url", KEYSTONE, "--os-username", "alice", "--os-password", "alice-pw",
                        "--os-project-name", "demo", "--os-user-domain-name", "Default",
                        "--os-project-domain-name", "Default", "--os-region-name", "nowhere", "workflow-list"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode != 0 or name not in r.stdout


def _token(user: str, password: str, project: str) -> str:
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    auth = v3.Password(auth_url=KEYSTONE, username=user, password=password, project_name=project,
                       user_domain_id="default", project_domain_id="default")
    return session.Session(auth=auth).get_token()


def test_password_sign_in_gets_a_keystone_token(srv):
    """POST /v2/auth/keystone (the console's sign-in form): the server asks the
    configured Keystone for a token of the user's project with the password."""
    url = srv.url + "/auth/keystone"
    origin = srv.url[: -len("/v2")]
    creds = {"username": "alice", "password": "alice-pw", "project_name": "demo"}
    r = httpx.post(url, json=creds, headers={"Origin": origin})
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["project_name"] == "demo" and got["expires_at"] and "member" in got["roles"]
    assert r.headers["cache-control"] == "no-store"
    me = {"X-Auth-Token": got["token"]}
    name = unique()
    r = httpx.post(srv.url + "/workflows", content=wf_yaml(name, ECHO), headers={**me, "Content-Type": "text/plain"})
    assert r.status_code == 201, r.text
    assert r.json()["workflows"][0]["project_id"] == got["project_id"]
    # The same token as keystoneauth gets: it sees what alice made.
    assert httpx.get(srv.url + f"/workflows/{name}",
                     headers={"X-Auth-Token": _token("alice", "alice-pw", "demo")}).status_code == 200

    # A wrong password or project: 401 with Mistral's body and Keystone's reason.
    r = httpx.post(url, json={**creds, "password": "nope"})
    assert r.status_code == 401
    assert r.json()["faultstring"].startswith("Keystone refused the sign-in: ")
    assert set(r.json()) >= {"faultcode", "faultstring", "debuginfo"}
    assert httpx.post(url, json={**creds, "project_name": "other"}).status_code == 401
    # Bad requests say what is wrong.
    r = httpx.post(url, json={"username": "alice", "password": "alice-pw"})
    assert r.status_code == 400 and "project_name" in r.json()["faultstring"]
    assert httpx.post(url, json={**creds, "username": 7}).status_code == 400
    # Another site's page cannot sign its visitor in (login CSRF): a form post
    # (no JSON) or a foreign Origin is refused before Keystone is asked.
    r = httpx.post(url, content="username=alice&password=alice-pw&project_name=demo",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "JSON" in r.json()["faultstring"]
    r = httpx.post(url, json=creds, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "Cross-site" in r.json()["faultstring"]
    r = httpx.post(url, json=creds, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    # Only that path is open without a token.
    assert httpx.post(srv.url + "/auth/tokens", json={"name": "x"}).status_code == 401


def test_sign_in_says_when_keystone_cannot_be_reached():
    from levante.auth.keystone import KeystoneUnavailable, password_token
    from tests.conftest import free_port

    with pytest.raises(KeystoneUnavailable, match="cannot be reached"):
        password_token(f"http://127.0.0.1:{free_port()}/v3", "alice", "alice-pw", "demo", timeout=5)


def test_sign_in_needs_mode_keystone(server):
    r = httpx.post(server.url + "/auth/keystone", json={"username": "a", "password": "b", "project_name": "c"})
    assert r.status_code == 400
    assert r.json()["faultstring"].startswith("Signing in with a Keystone password is only possible in "
                                              "authentication mode 'keystone'")
