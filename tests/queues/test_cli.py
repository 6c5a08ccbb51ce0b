"""The levante CLI's queue-* commands against a real server."""
from __future__ import annotations

import io
import json
import uuid

import pytest

from levante.cli.main import main


def qname() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def levante(server):
    def run(*argv: str, ok: bool = True):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--url", server.url, *argv], stdout=out, stderr=err)
        if ok:
            assert code == 0, err.getvalue()
        return code, out.getvalue(), err.getvalue()
    return run


def as_json(levante, *argv):
    return json.loads(levante(*argv, "-f", "json")[1])


def test_post_list_pop(levante):
    q = qname()
    (posted,) = as_json(levante, "queue-post", q, '{"testing": 123}')
    assert posted["Href"] == f"/v2/queues/{q}/messages/{posted['ID']}"
    as_json(levante, "queue-post", q, "plain words", "--ttl", "120")

    rows = as_json(levante, "queue-list", q)
    assert [(r["Body"], r["TTL"], r["Claimed"]) for r in rows] == [
        ('{"testing": 123}', 3600, False), ("plain words", 120, False)]
    table = levante("queue-list", q)[1]
    assert "| ID " in table and '{"testing": 123}' in table

    queues = {r["Name"]: r for r in as_json(levante, "queue-list")}
    assert queues[q]["Messages"] == 2

    stats = as_json(levante, "queue-stats", q)
    assert (stats["Free"], stats["Total"]) == (2, 2)

    (first,) = as_json(levante, "queue-pop", q)
    assert first["Body"] == '{"testing": 123}' and first["ID"] == posted["ID"]
    popped = as_json(levante, "queue-pop", q, "--count", "5")
    assert [r["Body"] for r in popped] == ["plain words"]
    # like every list command (and mistral's), an empty result shows one blank row
    assert [r["ID"] for r in as_json(levante, "queue-pop", q)] == [""]


def test_create_and_delete(levante):
    q = qname()
    code, out, _ = levante("queue-create", q, "--metadata", '{"_default_message_ttl": 90}')
    assert out == f"Queue {q} is ready.\n"
    (msg,) = as_json(levante, "queue-post", q, "1")
    assert as_json(levante, "queue-list", q)[0]["TTL"] == 90
    levante("queue-create", q)      # again: fine
    queues = {r["Name"]: r for r in as_json(levante, "queue-list")}
    assert json.loads(queues[q]["Metadata"]) == {"_default_message_ttl": 90}

    code, out, _ = levante("queue-delete", q)
    assert out == f"Request to delete queue {q} has been accepted.\n"
    assert q not in {r["Name"] for r in as_json(levante, "queue-list")}


def test_errors_are_reported(levante):
    code, _, err = levante("queue-post", "bad name", "1", ok=False)
    assert code == 1 and "Queue names may only contain" in err
    code, _, err = levante("queue-create", qname(), "--metadata", "[1]", ok=False)
    assert code == 1 and "--metadata must be a JSON object" in err
    code, _, err = levante("queue-pop", qname(), "--count", "0", ok=False)
    assert code == 1
