"""Mode oidc: bearer JWTs checked against an issuer's JWKS served on loopback,
with a key generated here; project and roles from configurable claims."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from mistralclient.api import client

from tests.api.helpers import finish, unique, wf_yaml
from tests.auth.helpers import started
from tests.conftest import Server

ECHO = "tasks:\n  t:\n    action: std.echo output=1\n"
AUDIENCE = "levante"


class Issuer:
    """A tiny OpenID issuer: a signing key and its JWKS on a loopback port."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid="test-key", use="sig", alg="RS256")
        jwks = json.dumps({"keys": [jwk]}).encode()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/jwks":
                    body = jwks
                elif self.path == "/.well-known/openid-configuration":
                    body = json.dumps({"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}).encode()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, key=None, **claims) -> str:
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "user-1", "exp": time.time() + 600,
                "project_id": "team-x", "realm_access": {"roles": ["member"]}}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": "test-key"})

    def close(self):
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def issuer():
    i = Issuer()
    yield i
    i.close()


@pytest.fixture(scope="module")
def srv(tmp_path_factory, issuer):
    mp = pytest.MonkeyPatch()
    mp.setenv("LEVANTE_AUTH", "oidc")
    mp.setenv("LEVANTE_OIDC_ISSUER", issuer.url)     # the JWKS URL found by discovery
    mp.setenv("LEVANTE_OIDC_AUDIENCE", AUDIENCE)
    mp.setenv("LEVANTE_OIDC_ROLES_CLAIM", "realm_access.roles")
    try:
        s = started(Server(tmp_path_factory.mktemp("oidc")))
    except BaseException:
        mp.undo()
        raise
    yield s
    s.stop()
    mp.undo()


def status(srv, token: str | None, path="/workflows", **params) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(srv.url + path, headers=headers, params=params).status_code


def test_valid_token_acts_for_its_project(srv, issuer):
    m = client.client(mistral_url=srv.url, auth_token=issuer.token())
    name = unique()
    (wf,) = m.workflows.create(wf_yaml(name, ECHO))
    assert wf.project_id == "team-x"
    ex = finish(m, m.executions.create(name).id)
    assert ex.state == "SUCCESS" and ex.project_id == "team-x"
    other = client.client(mistral_url=srv.url, auth_token=issuer.token(project_id="team-y"))
    assert name not in {w.name for w in other.workflows.list()}


@pytest.mark.parametrize("bad", ["expired", "foreign_key", "audience", "issuer", "no_project", "garbage"])
def test_bad_tokens_are_401(srv, issuer, bad):
    token = {
        "expired": lambda: issuer.token(exp=time.time() - 10),
        "foreign_key": lambda: issuer.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "audience": lambda: issuer.token(aud="someone-else"),
        "issuer": lambda: issuer.token(iss="http://evil.example"),
        "no_project": lambda: issuer.token(project_id=None),
        "garbage": lambda: "not.a.jwt",
    }[bad]()
    r = httpx.get(srv.url + "/workflows", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["faultstring"] == "The request you have made requires authentication."
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_missing_token_is_401(srv):
    assert status(srv, None) == 401


def test_roles_from_the_configured_claim(srv, issuer):
    member = issuer.token()
    admin = issuer.token(realm_access={"roles": ["admin", "member"]})
    assert status(srv, member, "/executions", all_projects="true") == 403
    assert status(srv, admin, "/executions", all_projects="true") == 200
