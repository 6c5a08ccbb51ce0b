"""The server's memory limit (setting ``memory_limit_mb``), on real servers.

An expression or an action that allocates past the limit fails its task with
a message naming the setting; the server gives the memory back and keeps
serving. A limit below what the server itself reserves (thread stacks, V8 for
std.javascript) is refused at start.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import Server, free_port

# Within the default budgets (10 MiB of output, 5 s) this template keeps
# appending 9 MB strings to a list: gigabytes on a fast machine.
HOG_EXPRESSION = """
version: '2.0'
hog_expression:
  tasks:
    t:
      action: std.noop
      publish:
        x: "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set _ = ns.l.append('x' * 9000000 ~ i) %}{% endfor %}{{ ns.l|length }}"
"""

HOG_MODULE = '''
from mistral_lib import actions


class Hog(actions.Action):
    """Keeps 1 MB blocks until the memory runs out."""

    def run(self, context):
        kept = []
        while True:
            kept.append(bytes(1 << 20))
'''

HOG_ACTION = """
version: '2.0'
hog_action:
  tasks:
    t:
      action: mem.hog
"""

HELLO = """
version: '2.0'
hello_world:
  tasks:
    hello:
      action: std.echo output="Hello, World!"
      publish:
        said: <% task().result %>
"""


def _server_cmd(tmp_path, limit_mb: int) -> tuple[list[str], dict]:
    import os

    env = dict(os.environ, LEVANTE_MEMORY_LIMIT_MB=str(limit_mb))
    cmd = [sys.executable, "-m", "levante", "server", "--port", str(free_port()),
           "--db", f"sqlite:///{tmp_path / 'refused.sqlite'}"]
    return cmd, env


@pytest.fixture(scope="module")
def reserve_mb(tmp_path_factory) -> int:
    """What the server says it reserves (it refuses a limit of 1 MB and says so)."""
    tmp = tmp_path_factory.mktemp("memory-reserve")
    cmd, env = _server_cmd(tmp, 1)
    done = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    found = re.search(r"Set at least (\d+)", done.stderr)
    assert found, done.stderr
    return int(found.group(1))


def test_a_limit_below_the_server_s_own_reserve_is_refused_at_start(tmp_path, reserve_mb):
    cmd, env = _server_cmd(tmp_path, 100)
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "setting memory_limit_mb=100 is below what the server reserves" in done.stderr
    assert f"Set at least {reserve_mb}" in done.stderr
    assert "stack of" in done.stderr and "threads" in done.stderr


def test_a_negative_limit_is_a_settings_error(tmp_path):
    cmd, env = _server_cmd(tmp_path, -5)
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "setting memory_limit_mb must not be negative" in done.stderr


def _vm_data_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmData")


def _create(url: str, path: str, text: str, **params) -> None:
    r = httpx.post(f"{url}/{path}", content=text, params=params,
                   headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text


def _run(url: str, workflow: str, timeout: float = 60) -> dict:
    r = httpx.post(f"{url}/executions", json={"workflow_name": workflow})
    assert r.status_code == 201, r.text
    exec_id = r.json()["id"]
    deadline = time.time() + timeout
    while True:
        body = httpx.get(f"{url}/executions/{exec_id}").json()
        if body["state"] in ("SUCCESS", "ERROR", "CANCELLED"):
            return body
        assert time.time() < deadline, f"execution {exec_id} still {body['state']}"
        time.sleep(0.1)


def test_allocating_past_the_limit_fails_the_task_and_the_server_keeps_serving(tmp_path,
                                                                              reserve_mb):
    limit = reserve_mb + 256
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEVANTE_MEMORY_LIMIT_MB", str(limit))
        # The time budgets stay out of the way: memory is what stops the hog here,
        # however slowly this machine fills it.
        mp.setenv("LEVANTE_EXPRESSION_TIMEOUT", "600")
        mp.setenv("LEVANTE_ENGINE_STEP_TIMEOUT", "600")
        srv = Server(tmp_path).start()
    try:
        with open(f"/proc/{srv.proc.pid}/limits") as f:
            data_line = next(ln for ln in f if ln.startswith("Max data size"))
        assert data_line.split()[3] == str(limit * 1024 * 1024), data_line
        _create(srv.url, "workflows", HELLO)
        _create(srv.url, "workflows", HOG_EXPRESSION)
        _create(srv.url, "workflows", HOG_ACTION)
        r = httpx.post(f"{srv.url}/code_sources", params={"name": "memhog"}, content=HOG_MODULE,
                       headers={"content-type": "text/plain"})
        assert r.status_code == 201, r.text
        r = httpx.post(f"{srv.url}/dynamic_actions", json={
            "name": "mem.hog", "class_name": "Hog", "code_source_name": "memhog"})
        assert r.status_code == 201, r.text

        setting = f"the server's memory limit of {limit} MB was reached (setting memory_limit_mb"
        for _ in range(2):      # and again: the first one gave its memory back
            done = _run(srv.url, "hog_expression")
            assert done["state"] == "ERROR"
            assert "Expression evaluation ran out of memory" in done["state_info"], done["state_info"]
            assert setting in done["state_info"]

            done = _run(srv.url, "hog_action")
            assert done["state"] == "ERROR"
            task = httpx.get(f"{srv.url}/executions/{done['id']}/tasks").json()["tasks"][0]
            assert "The action [action=mem.hog" in task["state_info"], task["state_info"]
            assert "ran out of memory" in task["state_info"] and setting in task["state_info"]

            # V8 ends the process when refused memory: the limit leaves room for
            # one std.javascript heap, so its own limit is what stops the script.
            r = httpx.post(f"{srv.url}/action_executions", json={
                "name": "std.javascript",
                "input": {"script": "var a = []; while (true) a.push(new Array(100000).fill(1));"}},
                timeout=60)
            assert r.status_code == 201, r.text
            assert r.json()["state"] == "ERROR"
            assert "the script used more than 256 MB of memory" in r.json()["output"]

            hello = _run(srv.url, "hello_world")
            assert hello["state"] == "SUCCESS", hello["state_info"]
            assert json.loads(hello["output"]) == {"said": "Hello, World!"}

        assert srv.proc.poll() is None
        # The memory went back: far below the limit again.
        assert _vm_data_mb(srv.proc.pid) < limit - 200, _vm_data_mb(srv.proc.pid)
        assert "Traceback" not in srv.log.read_text()
    finally:
        srv.stop()
