"""A token-mode server and clients acting for different projects."""
from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from mistralclient.api import client

from tests.conftest import Server


def started(srv: Server) -> Server:
    """``srv`` started (slowly, if the machine is loaded), or stopped again when it did not start."""
    try:
        return srv.start(timeout=120)
    except BaseException:
        srv.stop()
        raise


class TokenServer:
    """``levante server --auth token`` with its own credential file."""

    def __init__(self, workdir: Path, *extra: str):
        self.creds = workdir / "credentials.json"
        self.patch = pytest.MonkeyPatch()
        self.patch.setenv("LEVANTE_CREDENTIALS", str(self.creds))
        self.patch.delenv("LEVANTE_TOKEN", raising=False)
        self.srv = Server(workdir, args=("--auth", "token", *extra))
        self.url = self.srv.url

    def start(self) -> "TokenServer":
        try:
            started(self.srv)
        except BaseException:
            self.patch.undo()
            raise
        return self

    def stop(self) -> None:
        self.srv.stop()
        self.patch.undo()

    @property
    def admin_token(self) -> str:
        return json.loads(self.creds.read_text())[self.url]["token"]

    def create_token(self, name: str, project: str, admin: bool = False) -> str:
        r = httpx.post(self.url + "/auth/tokens", json={"name": name, "project_id": project, "is_admin": admin},
                       headers={"X-Auth-Token": self.admin_token})
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def mistral(self, token: str):
        return client.client(mistral_url=self.url, auth_token=token)

    def http(self, token: str | None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-Auth-Token": token} if token else {},
                            timeout=30)


KEYSTONE = os.environ.get("LEVANTE_TEST_KEYSTONE")


def keystone_server(workdir: Path) -> Server:
    """``levante server`` in mode keystone against the test Keystone
    (scripts/test-services.sh starts it), started."""
    assert KEYSTONE, ("these tests need Keystone: run scripts/test-services.sh (make test does), "
                      "then set LEVANTE_TEST_KEYSTONE=http://127.0.0.1:5000/v3")
    mp = pytest.MonkeyPatch()
    mp.setenv("LEVANTE_AUTH", "keystone")
    mp.setenv("LEVANTE_KEYSTONE_AUTH_URL", KEYSTONE)
    mp.setenv("LEVANTE_KEYSTONE_USERNAME", "levante")
    mp.setenv("LEVANTE_KEYSTONE_PASSWORD", "levante-service")
    try:
        return started(Server(workdir))
    finally:
        mp.undo()
