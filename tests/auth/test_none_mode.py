"""Mode none: loopback only, no cross-site writes, no foreign Host headers."""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.api.helpers import unique, wf_yaml
from tests.auth.helpers import started
from tests.conftest import Server

ECHO = "tasks:\n  t:\n    action: std.echo output=1\n"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    srv = started(Server(tmp_path_factory.mktemp("none-mode")))
    yield srv
    srv.stop()


def _post_workflow(srv, **headers):
    return httpx.post(srv.url + "/workflows", content=wf_yaml(unique(), ECHO),
                      headers={"Content-Type": "text/plain", **headers}, timeout=10)


def test_cross_site_write_is_refused(local):
    # A "simple" text/plain POST: browsers send it cross-site without a preflight.
    name = unique()
    r = httpx.post(local.url + "/workflows", content=wf_yaml(name, ECHO),
                   headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert r.status_code == 403
    body = r.json()
    assert body["faultcode"] == "Client" and "Cross-site request refused" in body["faultstring"]
    assert body["debuginfo"] is None
    assert httpx.get(f"{local.url}/workflows/{name}").status_code == 404


def test_cross_site_write_without_origin_is_refused(local):
    r = _post_workflow(local, **{"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403


def test_delete_from_another_origin_is_refused(local):
    name = unique()
    assert _post_workflow(local).status_code == 201
    r = httpx.post(local.url + "/workflows", content=wf_yaml(name, ECHO),
                   headers={"Content-Type": "text/plain"})
    assert r.status_code == 201
    r = httpx.delete(f"{local.url}/workflows/{name}", headers={"Origin": "null"})
    assert r.status_code == 403
    assert httpx.get(f"{local.url}/workflows/{name}").status_code == 200


def test_same_origin_and_cli_writes_are_accepted(local):
    assert _post_workflow(local).status_code == 201                       # no Origin: a CLI
    own = f"http://127.0.0.1:{local.port}"
    assert _post_workflow(local, Origin=own).status_code == 201
    assert _post_workflow(local, Origin=own, **{"Sec-Fetch-Site": "same-origin"}).status_code == 201


def test_reads_from_another_origin_are_answered(local):
    # Reading is harmless: the browser does not let the other page see the answer (no CORS).
    r = httpx.get(local.url + "/workflows", headers={"Origin": "http://evil.example"})
    assert r.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8989", "10.0.0.1", "attacker.localhost.example"])
def test_foreign_host_header_is_refused(local, host):
    r = httpx.get(local.url + "/workflows", headers={"Host": host})
    assert r.status_code == 400
    assert "Host header" in r.json()["faultstring"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_host_names_are_accepted(local, host):
    r = httpx.get(local.url + "/workflows", headers={"Host": f"{host}:{local.port}"})
    assert r.status_code == 200


def test_allowed_hosts_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVANTE_ALLOWED_HOSTS", "levante.internal")
    srv = started(Server(tmp_path))
    try:
        assert httpx.get(srv.url + "/workflows", headers={"Host": "levante.internal:1"}).status_code == 200
        assert httpx.get(srv.url + "/workflows", headers={"Host": "other.internal"}).status_code == 400
    finally:
        srv.stop()


def test_real_mistral_client_still_works(local):
    from mistralclient.api import client

    mistral = client.client(mistral_url=local.url)
    name = unique()
    (wf,) = mistral.workflows.create(wf_yaml(name, ECHO))
    assert mistral.workflows.get(name).id == wf.id
    mistral.workflows.delete(name)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_non_loopback_bind_needs_an_auth_mode(tmp_path, host):
    proc = subprocess.run([sys.executable, "-m", "levante", "server", "--host", host, "--port", "1",
                           "--db", f"sqlite:///{tmp_path / 'x.sqlite'}"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode != 0
    assert f"refusing to listen on {host} without authentication" in proc.stderr
    assert "--auth token" in proc.stderr
    assert not (tmp_path / "x.sqlite").exists()


def test_config_file_auth_none_is_also_refused_off_loopback(tmp_path):
    cfg = tmp_path / "levante.yaml"
    cfg.write_text("auth: none\n")
    proc = subprocess.run([sys.executable, "-m", "levante", "server", "--host", "0.0.0.0", "--port", "1",
                           "--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'x.sqlite'}"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and "without authentication" in proc.stderr


def test_unknown_auth_mode_in_environment(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "levante", "server", "--port", "1",
                           "--db", f"sqlite:///{tmp_path / 'x.sqlite'}"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**__import__("os").environ, "LEVANTE_AUTH": "kerberos"})
    assert proc.returncode == 2 and "setting auth must be one of" in proc.stderr
