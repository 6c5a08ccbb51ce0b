"""Resource sharing as Mistral: /v2/workflows/{id}/members and the member-* commands."""
from __future__ import annotations

import io
import json
import os

import httpx
import pytest
from mistralclient.api.base import APIException

from levante.cli.main import main as cli
from tests.api.helpers import finish, unique, wf_yaml
from tests.auth.helpers import TokenServer, started
from tests.conftest import Server

ECHO = "tasks:\n  t:\n    action: std.echo output=1\n"


@pytest.fixture(scope="module")
def ts(tmp_path_factory):
    s = TokenServer(tmp_path_factory.mktemp("sharing")).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def tokens(ts):
    return {p: ts.create_token(p, p) for p in ("owner", "friend", "stranger")}


def client(ts, tokens, project):
    return ts.mistral(tokens[project])


def levante(ts, token, *argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    os.environ["LEVANTE_TOKEN"] = token
    try:
        code = cli(["--url", ts.url, *argv], stdout=out, stderr=err)
    finally:
        del os.environ["LEVANTE_TOKEN"]
    return code, out.getvalue(), err.getvalue()


def status(func, *args, **kwargs) -> int:
    with pytest.raises(APIException) as info:
        func(*args, **kwargs)
    return info.value.error_code


def test_share_accept_run_and_unshare(ts, tokens):
    owner, friend, stranger = (client(ts, tokens, p) for p in ("owner", "friend", "stranger"))
    name = unique()
    (wf,) = owner.workflows.create(wf_yaml(name, ECHO))

    m = owner.members.create(wf.id, "workflow", "friend")
    assert (m.resource_id, m.resource_type, m.project_id, m.member_id, m.status) == (
        wf.id, "workflow", "owner", "friend", "pending")
    # Pending: not visible yet, but the friend sees the invitation.
    assert wf.id not in {w.id for w in friend.workflows.list()}
    assert status(friend.workflows.get, wf.id) == 404
    assert friend.members.get(wf.id, "workflow", "friend").status == "pending"

    # Accepting with the levante CLI (member-update defaults to the caller's own membership).
    code, out, err = levante(ts, tokens["friend"], "member-update", wf.id, "workflow", "-f", "json")
    assert code == 0, err
    assert json.loads(out)["Status"] == "accepted"

    assert wf.id in {w.id for w in friend.workflows.list()}
    assert friend.workflows.get(wf.id).name == name
    ex = finish(friend, friend.executions.create(wf.id).id)
    assert ex.state == "SUCCESS" and ex.project_id == "friend"
    # Shared is not owned: the member cannot change or delete it, nor share it on.
    assert status(friend.workflows.delete, wf.id) == 403
    assert status(friend.members.create, wf.id, "workflow", "stranger") == 404
    assert status(friend.members.update, wf.id, "workflow", "owner", "accepted") == 403

    # A third project sees neither the workflow nor its members.
    assert wf.id not in {w.id for w in stranger.workflows.list()}
    assert status(stranger.members.list, wf.id, "workflow") == 404
    assert status(stranger.members.update, wf.id, "workflow", "stranger") == 404

    # Owner lists every member; a member only itself.
    owner.members.create(wf.id, "workflow", "stranger")
    assert {x.member_id for x in owner.members.list(wf.id, "workflow")} == {"friend", "stranger"}
    assert [x.member_id for x in friend.members.list(wf.id, "workflow")] == ["friend"]
    assert status(owner.members.create, wf.id, "workflow", "friend") == 409

    code, out, err = levante(ts, tokens["owner"], "member-list", wf.id, "workflow", "-f", "json")
    assert code == 0, err
    assert {row["Member ID"] for row in json.loads(out)} == {"friend", "stranger"}
    code, out, err = levante(ts, tokens["owner"], "member-delete", wf.id, "workflow", "friend")
    assert code == 0, err
    assert wf.id not in {w.id for w in friend.workflows.list()}
    assert status(friend.executions.create, wf.id) == 404


def test_rejected_share_stays_invisible(ts, tokens):
    owner, friend = client(ts, tokens, "owner"), client(ts, tokens, "friend")
    (wf,) = owner.workflows.create(wf_yaml(unique(), ECHO))
    owner.members.create(wf.id, "workflow", "friend")
    assert friend.members.update(wf.id, "workflow", "friend", status="rejected").status == "rejected"
    assert wf.id not in {w.id for w in friend.workflows.list()}


def test_only_private_workflows_are_shared(ts, tokens):
    owner = client(ts, tokens, "owner")
    (wf,) = owner.workflows.create(wf_yaml(unique(), ECHO), scope="public")
    assert status(owner.members.create, wf.id, "workflow", "friend") == 400


def test_without_authentication_sharing_answers_as_mistral(tmp_path):
    srv = started(Server(tmp_path))
    try:
        r = httpx.post(srv.url + "/workflows/some-id/members", json={"member_id": "x"})
        assert r.status_code == 400
        assert r.json()["faultstring"] == ("Resource sharing feature can only be supported with "
                                           "authentication enabled.")
        assert httpx.get(srv.url + "/workflows/some-id/members").status_code == 400
    finally:
        srv.stop()
