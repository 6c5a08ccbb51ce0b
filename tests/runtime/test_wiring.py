"""The runtime's wiring: objects made by the composition root, no process-global
registries (issue 11), and the layer rule that the runtime imports none of the
services beside it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.triggers.helpers import Local

POST = """
version: '2.0'
post:
  tasks:
    send:
      action: zaqar.queue_post
      input:
        queue_name: inbox
        messages:
          body: <% execution().id %>
"""

ROOT = Path(__file__).resolve().parents[2] / "levante"


@pytest.fixture
def two(tmp_path):
    a, b = Local(tmp_path / "a.sqlite").start(), Local(tmp_path / "b.sqlite").start()
    yield a, b
    a.stop()
    b.stop()


def test_two_runtimes_in_one_process_share_no_listeners_or_backends(two):
    a, b = two
    seen: dict[str, list[str]] = {"a": [], "b": []}
    a.rt.events.subscribe(lambda conn, ev: seen["a"].append(ev.execution_id))
    b.rt.events.subscribe(lambda conn, ev: seen["b"].append(ev.execution_id))
    assert a.rt.backends["queues"] is not b.rt.backends["queues"]
    ids = {}
    for name, local in (("a", a), ("b", b)):
        local.workflow(POST)
        r = local.api.post("/v2/executions", json={"workflow_name": "post"})
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    for name, local in (("a", a), ("b", b)):
        assert local.wait_final(ids[name]).state == "SUCCESS"
    # Each runtime's listeners heard its own executions only...
    assert set(seen["a"]) == {ids["a"]}
    assert set(seen["b"]) == {ids["b"]}
    # ... and each workflow's zaqar action posted to its own runtime's queues.
    for name, local in (("a", a), ("b", b)):
        messages, _ = local.rt.backends["queues"].list_messages("inbox")
        assert [m.body for m in messages] == [ids[name]]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("levante.")}


def _package(module: str) -> str:
    return module.split(".")[1]


def test_runtime_imports_none_of_the_services_beside_it():
    bad = {f"{p.relative_to(ROOT)}: {m}" for p in (ROOT / "runtime").glob("*.py")
           for m in _imports(p) if _package(m) in ("api", "queues", "triggers", "notify", "cli", "web")}
    assert not bad


def test_no_package_cycles():
    edges: dict[str, set[str]] = {}
    for p in ROOT.rglob("*.py"):
        if len(p.relative_to(ROOT).parts) < 2 or "migrations" in p.parts:
            continue
        pkg = p.relative_to(ROOT).parts[0]
        edges.setdefault(pkg, set()).update(
            _package(m) for m in _imports(p) if (ROOT / _package(m)).is_dir() and _package(m) != pkg)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    assert not sorted(pkg for pkg in edges if pkg in reach(pkg))


TRIGGERED = """
version: '2.0'
{name}:
  tasks:
    t:
      action: std.noop
"""


def test_event_trigger_routes_are_kept_per_database(two):
    """The routes cache of the execution event triggers is per database: a runtime
    whose database has no trigger does not hide another's."""
    from levante.triggers.event import routes

    a, b = two
    for name in ("source", "target"):
        a.workflow(TRIGGERED.format(name=name))
    r = a.api.post("/v2/event_triggers", json={
        "name": "on_source", "workflow_id": "target", "exchange": "levante",
        "topic": "executions.source", "event": "WORKFLOW_SUCCEEDED"})
    assert r.status_code == 201, r.text
    with b.rt.db.read() as conn:
        assert routes.get(conn) == set()
    with a.rt.db.read() as conn:
        assert routes.get(conn) == {("executions.source", "WORKFLOW_SUCCEEDED")}
    with b.rt.db.read() as conn:
        assert routes.get(conn) == set()


SLEEPY = """
version: '2.0'
sleepy:
  tasks:
    nap:
      action: std.sleep seconds=0.3
      on-success: after
    after:
      action: std.noop
"""


def test_two_runtimes_keep_separate_live_stream_hubs(two):
    """A live-stream subscriber on runtime a hears nothing of runtime b's events,
    even for the same execution id, while b's own subscriber hears them all."""
    import asyncio

    a, b = two
    hubs = {"a": a.rt.services["hub"], "b": b.rt.services["hub"]}
    assert hubs["a"] is not hubs["b"]
    b.workflow(SLEEPY)
    r = b.api.post("/v2/executions", json={"workflow_name": "sleepy"})
    assert r.status_code == 201, r.text
    exec_id = r.json()["id"]
    loop = asyncio.new_event_loop()
    try:
        subs = {name: hub.subscribe(exec_id, loop) for name, hub in hubs.items()}
        heard: dict[str, list[str]] = {"a": [], "b": []}

        async def until_b_ends():
            while "WORKFLOW_SUCCEEDED" not in heard["b"]:
                heard["b"].append((await subs["b"].queue.get())["event"])
            await asyncio.sleep(0.1)    # anything published with it has landed too

        loop.run_until_complete(asyncio.wait_for(until_b_ends(), 20))
        while not subs["a"].queue.empty():
            heard["a"].append(subs["a"].queue.get_nowait()["event"])
    finally:
        loop.close()
    assert "TASK_SUCCEEDED" in heard["b"]
    assert heard["a"] == []
    for name, hub in hubs.items():
        hub.unsubscribe(subs[name])
        assert not hub.wants(exec_id)
