"""The runtime's wiring: objects made by the composition root, no process-global
registries (issue 11), and the layer rule that the runtime imports none of the
services beside it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.triggers.helpers import Local
from tests.triggers.test_broker import AMQP_URL, rabbit, route, wait_until  # noqa: F401 (fixture)

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


def test_event_trigger_routes_are_kept_per_runtime(two):
    """The routes cache of the execution event triggers is the runtime's: a runtime
    whose database has no trigger does not hide another's."""
    a, b = two
    routes = {"a": a.rt.services["event_triggers"].routes, "b": b.rt.services["event_triggers"].routes}
    assert routes["a"] is not routes["b"]
    for name in ("source", "target"):
        a.workflow(TRIGGERED.format(name=name))
    with a.rt.db.read() as conn:
        assert routes["a"].get(conn) == set()      # cached, until the trigger is created
    r = a.api.post("/v2/event_triggers", json={
        "name": "on_source", "workflow_id": "target", "exchange": "levante",
        "topic": "executions.source", "event": "WORKFLOW_SUCCEEDED"})
    assert r.status_code == 201, r.text
    with b.rt.db.read() as conn:
        assert routes["b"].get(conn) == set()
    with a.rt.db.read() as conn:
        assert routes["a"].get(conn) == {("executions.source", "WORKFLOW_SUCCEEDED")}
    with b.rt.db.read() as conn:
        assert routes["b"].get(conn) == set()


def test_two_runtimes_keep_separate_event_trigger_exchanges_and_change_hooks(two):
    """An exchange registered with one runtime's event triggers is Levante's own
    there only, and creating or deleting a trigger tells only the hooks of the
    runtime whose API did it."""
    a, b = two
    ta, tb = a.rt.services["event_triggers"], b.rt.services["event_triggers"]
    assert ta is not tb
    told: list[str] = []
    ta.on_change(lambda: told.append("a"))
    tb.on_change(lambda: told.append("b"))
    ta.register_exchange("billing")
    assert "billing" in ta.known_exchanges() and "billing" not in tb.known_exchanges()
    made = {}
    for name, local in (("a", a), ("b", b)):
        local.workflow(TRIGGERED.format(name="target"))
        r = local.api.post("/v2/event_triggers", json={
            "workflow_id": "target", "exchange": "billing", "topic": "invoices", "event": "PAID"})
        assert r.status_code == 201, r.text
        made[name] = r.json()
        assert told == ["a"] if name == "a" else ["a", "b"]
    # On a, "billing" is fired by Levante itself; on b it is a broker's, and b has none.
    assert "broker" not in made["a"]
    assert made["b"]["broker"].startswith("waiting for a broker")
    assert b.api.delete(f"/v2/event_triggers/{made['b']['id']}").status_code == 204
    assert told == ["a", "b", "b"]


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


@pytest.fixture
def two_with_broker(tmp_path, monkeypatch, rabbit):
    """Two runtimes in one process, each with the scheduler role and a broker
    listener on the RabbitMQ of scripts/test-services.sh; the listeners read
    the triggers again only when woken (no periodic refresh during the test)."""
    from levante.config import reload_settings
    from levante.triggers import broker

    monkeypatch.setenv("LEVANTE_TRANSPORT_URL", AMQP_URL)
    monkeypatch.setattr(broker, "REFRESH_SECONDS", 600.0)
    reload_settings()
    pair = []
    try:
        for name in ("a", "b"):
            pair.append(Local(tmp_path / f"{name}.sqlite").start())
        yield pair
    finally:
        for local in pair:
            local.stop()
        monkeypatch.undo()
        reload_settings()


def test_two_runtimes_keep_separate_broker_listeners(two_with_broker, rabbit):
    """Each runtime's broker listener is woken by its own API's trigger changes and
    is the one its API reports on; the other runtime's listener stays out of it."""
    a, b = two_with_broker
    la, lb = a.rt.services["event_triggers"].listener, b.rt.services["event_triggers"].listener
    assert la is not None and lb is not None and la is not lb
    exchange, topic = route(rabbit)
    a.workflow(TRIGGERED.format(name="target"))
    r = a.api.post("/v2/event_triggers", json={
        "workflow_id": "target", "exchange": exchange, "topic": topic, "event": "*"})
    assert r.status_code == 201, r.text
    trigger_id = r.json()["id"]

    def note() -> str:
        return a.api.get(f"/v2/event_triggers/{trigger_id}").json()["broker"]

    # Without a periodic refresh, only the wake from a's API makes a's listener listen.
    wait_until(lambda: note().startswith("listening on the broker"), what="a's listener")
    assert la.note(exchange).startswith("listening on the broker")
    assert lb.note(exchange).startswith("connecting to the broker")    # b listens to nothing
    assert a.api.delete(f"/v2/event_triggers/{trigger_id}").status_code == 204
    wait_until(lambda: la.note(exchange).startswith("connecting"), what="a's listener to stop")
