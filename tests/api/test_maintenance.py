"""Maintenance mode (GET/PUT /maintenance) as Mistral's: PAUSED pauses the
running executions and refuses changes with 423 until RUNNING resumes them."""
from __future__ import annotations

import httpx

from tests.api.clis import Cli
from tests.api.helpers import create_wf, finish, unique, wait_for

SLOW = """
tasks:
  first:
    action: std.sleep seconds=1.5
    on-success: [second]
  second:
    action: std.echo output="done"
"""


def _status(url: str) -> str:
    return httpx.get(url.rsplit("/v2", 1)[0] + "/maintenance").json()["status"]


def _put(url: str, status) -> httpx.Response:
    return httpx.put(url + "/maintenance", json={"status": status})


def test_pause_refuse_resume(fresh_server):
    from mistralclient.api import client

    fresh_server.start()
    url = fresh_server.url
    mistral = client.client(mistral_url=url)
    assert _status(url) == "RUNNING"
    name = unique()
    create_wf(mistral, name, SLOW)
    running = mistral.executions.create(name)
    user_paused = mistral.executions.create(name)
    mistral.executions.update(user_paused.id, "PAUSED")
    doomed = mistral.executions.create(name)

    r = _put(url, "PAUSED")
    assert r.status_code == 200 and r.json() == {"status": "PAUSING"}
    # Changes are refused while PAUSING/PAUSED; reads and cancelling are not.
    refused = httpx.post(f"{url}/executions", json={"workflow_name": name})
    assert refused.status_code == 423
    assert refused.json()["faultstring"] in ("Current Mistral state is PAUSING. Method is not allowed",
                                             "Current Mistral state is PAUSED. Method is not allowed")
    assert mistral.executions.update(doomed.id, "CANCELLED").state == "CANCELLED"
    assert mistral.executions.get(running.id).state == "PAUSED"
    # PAUSED once the task that was running has finished.
    wait_for(lambda: _status(url) == "PAUSED", timeout=20)
    assert httpx.get(f"{url}/maintenance").json() == {"status": "PAUSED"}
    assert httpx.post(f"{url}/executions", json={"workflow_name": name}).status_code == 423
    assert mistral.executions.get(running.id).state == "PAUSED"

    cli = Cli("levante", url, fresh_server.workdir)
    assert cli.json("maintenance-get") == {"Status": "PAUSED"}
    assert cli.json("maintenance-set", "RUNNING") == {"Status": "RUNNING"}
    assert finish(mistral, running.id).state == "SUCCESS"
    # An execution its user paused stays paused.
    assert mistral.executions.get(user_paused.id).state == "PAUSED"
    assert httpx.post(f"{url}/executions", json={"workflow_name": name}).status_code == 201


def test_bad_states(server):
    for status, message in (("PAUSING", "PAUSING is intermediate state. Consider PAUSED, RUNNING as new state"),
                            ("NAP", "Not found NAP maintenance state. List of states: "
                                    "['PAUSING', 'PAUSED', 'RUNNING']")):
        r = _put(server.url, status)
        assert r.status_code == 400
        assert r.json()["faultstring"] == message
    assert _put(server.url, "RUNNING").json() == {"status": "RUNNING"}
