"""``levante execution-create --wait`` and ``levante execution-watch``."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import httpx
import pytest

from levante.cli.main import main
from tests.conftest import Server
from tests.notify.helpers import create_workflow, start, unique


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("watch-server")).start()
    yield s
    s.stop()


def cli(srv, *args, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "levante", "--url", srv.url, *args],
                          capture_output=True, text=True, timeout=timeout)


def sleepy(name: str, seconds: float = 1.0) -> str:
    return f"""
version: '2.0'
{name}:
  tasks:
    nap:
      action: std.sleep seconds={seconds}
      on-success: after
    after:
      action: std.echo output=done
"""


def failing(name: str) -> str:
    return f"""
version: '2.0'
{name}:
  tasks:
    nap:
      action: std.sleep seconds=0.3
      on-success: boom
    boom:
      action: std.fail
"""


def test_create_wait_exits_0_on_success(srv):
    name = unique()
    create_workflow(srv.url, sleepy(name))
    proc = cli(srv, "execution-create", name, "--wait", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["State"] == "SUCCESS" and record["Workflow name"] == name
    lines = proc.stderr.splitlines()
    assert lines[0].startswith(f"Execution {record['ID']} ({name}): ")
    assert any(line.endswith(" after SUCCESS") and "2/2" in line for line in lines), lines
    assert lines[-1].endswith(f"workflow {name} SUCCESS")
    assert "[" + "#" * 20 + "]" in lines[-1]


def test_create_wait_exits_1_on_error_with_state_info(srv):
    name = unique()
    create_workflow(srv.url, failing(name))
    proc = cli(srv, "execution-create", name, "--wait")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "boom ERROR: " in proc.stderr
    last = proc.stderr.strip().splitlines()
    assert any(line.startswith("ERROR: Execution ") and "ended in state ERROR: Failure caused by error "
               "in tasks: boom" in line for line in last), proc.stderr


@pytest.mark.parametrize("mode", [[], ["--poll"]])
def test_watch_a_running_execution(srv, mode):
    name = unique()
    create_workflow(srv.url, sleepy(name, 1.5))
    ex = start(srv.url, name)
    proc = cli(srv, "execution-watch", ex["id"], *mode)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Execution {ex['id']} ({name}): RUNNING"
    states = [line.split("] ", 1)[1].split(None, 1)[1] for line in lines[1:]]
    assert states == ["nap RUNNING", "nap SUCCESS", "after RUNNING", "after SUCCESS",
                      f"workflow {name} SUCCESS"] or states == [
        "nap RUNNING", "nap SUCCESS", "after SUCCESS", f"workflow {name} SUCCESS"], lines
    assert "[----------" in lines[1] and " 0/1 " in lines[1]


def test_watch_a_cancelled_execution_exits_1(srv):
    name = unique()
    create_workflow(srv.url, sleepy(name, 30))
    ex = start(srv.url, name)
    proc = subprocess.Popen([sys.executable, "-m", "levante", "--url", srv.url, "execution-watch", ex["id"]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    r = httpx.put(f"{srv.url}/executions/{ex['id']}", json={"state": "CANCELLED", "state_info": "enough"})
    assert r.status_code == 200, r.text
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "CANCELLED" in out
    assert "ended in state CANCELLED: enough" in err


def test_watch_timeout(srv):
    name = unique()
    create_workflow(srv.url, sleepy(name, 30))
    ex = start(srv.url, name)
    t0 = time.time()
    proc = cli(srv, "execution-watch", ex["id"], "--timeout", "1")
    assert proc.returncode == 1
    assert "is still RUNNING after 1s" in proc.stderr
    assert time.time() - t0 < 15
    httpx.put(f"{srv.url}/executions/{ex['id']}", json={"state": "CANCELLED"})


def test_watch_unknown_execution(srv):
    proc = cli(srv, "execution-watch", "nope")
    assert proc.returncode == 1
    assert "WorkflowExecution not found" in proc.stderr


def test_watch_falls_back_to_polling_without_a_stream():
    """An API without the events route (404 not about the execution): poll instead."""
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/events"):
            return httpx.Response(404, json={"faultstring": "The resource could not be found."})
        if path.endswith("/tasks"):
            calls["n"] += 1
            state = "RUNNING" if calls["n"] < 2 else "SUCCESS"
            return httpx.Response(200, json={"tasks": [
                {"id": "t1", "name": "only", "state": state, "created_at": "2024-01-01 00:00:00"}]})
        done = calls["n"] >= 2
        return httpx.Response(200, json={"id": "ex1", "workflow_name": "wf", "workflow_id": "w",
                                         "state": "SUCCESS" if done else "RUNNING", "state_info": None,
                                         "created_at": "2024-01-01 00:00:00"})

    out, err = io.StringIO(), io.StringIO()
    rc = main(["--url", "http://levante.test/v2", "execution-watch", "ex1"], stdout=out, stderr=err,
              transport=httpx.MockTransport(handler))
    assert rc == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == "Execution ex1 (wf): RUNNING"
    assert lines[1].endswith("0/1   only RUNNING")
    assert lines[2].endswith("1/1   only SUCCESS")
    assert lines[3].endswith("workflow wf SUCCESS")


def test_watch_of_an_ended_execution_still_closes_with_its_end_line():
    import io

    from levante.cli.watch import Progress

    out = io.StringIO()
    p = Progress(out, "ex-1")
    p.snapshot({"state": "SUCCESS", "workflow_name": "w"},
               [{"id": "t1", "name": "first", "state": "SUCCESS"},
                {"id": "t2", "name": "second", "state": "SUCCESS"}])
    p.finish()
    p.finish()      # once only
    lines = out.getvalue().splitlines()
    assert lines[0] == "Execution ex-1 (w): SUCCESS"
    assert lines[-1].endswith("2/2   workflow w SUCCESS") and len(lines) == 4
