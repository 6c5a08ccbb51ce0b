"""List filters on times take UTC text, as Mistral's do (the console's
"started in the last hour" filter uses them)."""
from __future__ import annotations

import datetime
import json

import httpx

from tests.api.helpers import ECHO, create_wf, finish, unique


def utc(delta_s: float) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_s)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def test_created_at_filters_compare_times(server, mistral):
    name = unique()
    create_wf(mistral, name, ECHO)
    ex = mistral.executions.create(name)
    finish(mistral, ex.id)

    def listed(**filters) -> list[str]:
        r = httpx.get(f"{server.url}/executions", params={"workflow_name": name, **filters})
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["executions"]]

    assert listed(created_at=f"gte:{utc(-120)}") == [ex.id]
    assert listed(created_at=f"lt:{utc(-120)}") == []
    assert listed(created_at=f"gt:{utc(3600)}") == []
    assert listed(updated_at=f"lte:{utc(120)}") == [ex.id]
    assert listed(created_at=f"gte:{utc(-120).replace(' ', 'T')}Z") == [ex.id]   # ISO 8601 too
    tasks = httpx.get(f"{server.url}/tasks", params={"workflow_execution_id": ex.id,
                                                     "started_at": f"gte:{utc(-120)}"}).json()["tasks"]
    assert [t["name"] for t in tasks] == ["hello"]


def test_a_bad_time_is_a_400_naming_the_field(server):
    r = httpx.get(f"{server.url}/executions", params={"created_at": "gte:yesterday"})
    assert r.status_code == 400
    body = r.json()
    assert body["faultstring"] == ("Invalid value for filter created_at: 'yesterday' is not a date "
                                   "(YYYY-MM-DD, optionally followed by HH:MM:SS)")
    assert json.dumps(body)
