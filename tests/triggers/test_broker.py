"""Event triggers on OpenStack notifications: a real Levante server listening,
with oslo.messaging, to a real RabbitMQ (``make test`` starts it with
scripts/test-services.sh), a notification published the way an OpenStack
service publishes one (oslo.messaging's Notifier, a RequestContext), and the
real python-mistralclient. Without a broker, such a trigger is created and
says that it waits for one."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

import pytest

from tests.api.helpers import create_wf, unique
from tests.conftest import Server

AMQP_URL = os.environ.get("LEVANTE_TEST_AMQP", "rabbit://guest:guest@127.0.0.1:5673/")

READER = """
tasks:
  t1:
    action: std.echo output=<% execution().params.event_params %>
    publish:
      event: <% task().result %>
"""


@pytest.fixture(scope="module")
def rabbit():
    """The RabbitMQ of scripts/test-services.sh; the exchanges and queues a test made
    are deleted afterwards."""
    where = urlsplit(AMQP_URL)
    try:
        socket.create_connection((where.hostname, where.port or 5672), timeout=2).close()
    except OSError as e:
        raise AssertionError(f"these tests need RabbitMQ at {where.hostname}:{where.port} (run "
                             f"scripts/test-services.sh, which make test does): {e}")
    made: list[tuple[str, list[str]]] = []
    yield made
    import kombu

    with kombu.Connection(AMQP_URL.replace("rabbit://", "amqp://")) as conn:
        channel = conn.channel()
        for exchange, queues in made:
            for queue in queues:
                try:
                    channel.queue_delete(queue)
                except Exception:
                    channel = conn.channel()
            try:
                channel.exchange_delete(exchange)
            except Exception:
                channel = conn.channel()


@pytest.fixture(scope="module")
def broker_server(tmp_path_factory, rabbit):
    srv = Server(tmp_path_factory.mktemp("levante-broker"),
                 args=("--transport-url", AMQP_URL)).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(broker_server):
    from mistralclient.api import client

    return client.client(mistral_url=broker_server.url)


class Service:
    """An OpenStack service's notifier on ``exchange`` (its control_exchange)."""

    def __init__(self, exchange: str, topic: str, publisher_id: str = "compute.host1"):
        import oslo_messaging
        from oslo_config import cfg

        conf = cfg.ConfigOpts()
        conf([], project="test-service", default_config_files=[], default_config_dirs=[])
        oslo_messaging.get_notification_transport(conf, url=AMQP_URL).cleanup()   # registers the options
        conf.set_override("control_exchange", exchange)
        self.transport = oslo_messaging.get_notification_transport(conf, url=AMQP_URL)
        self.notifier = oslo_messaging.Notifier(self.transport, publisher_id=publisher_id,
                                                driver="messagingv2", topics=[topic])

    def info(self, event_type: str, payload: dict, project_id: str | None = "p-1", user_id: str = "u-1"):
        from oslo_context.context import RequestContext

        # A context without a project goes as a plain dict (RequestContext always sends the keys).
        ctxt = RequestContext(project_id=project_id, user_id=user_id) if project_id else {"user_id": user_id}
        self.notifier.info(ctxt, event_type, payload)

    def close(self):
        self.transport.cleanup()


def executions_of(client, wf: str) -> list:
    return [e for e in client.executions.list(limit=-1) if e.workflow_name == wf]


def wait_until(check, timeout: float = 30.0, what: str = ""):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def listening(client, trigger_id: str) -> str:
    note = client.event_triggers.get(trigger_id).broker
    return note if note.startswith("listening") else ""


def route(rabbit) -> tuple[str, str]:
    exchange, topic = f"nova_{uuid.uuid4().hex[:8]}", f"notifications_{uuid.uuid4().hex[:6]}"
    rabbit.append((exchange, [f"levante-{exchange}-{topic}", f"{topic}.info"]))
    return exchange, topic


def test_notification_fires_the_matching_trigger(client, broker_server, rabbit):
    exchange, topic = route(rabbit)
    wf = create_wf(client, unique(), READER)
    t = client.event_triggers.create(unique("evt"), wf.id, exchange, topic,
                                     "compute.instance.create.end", workflow_params={"env": {"a": 1}})
    assert t.broker.startswith(("connecting to the broker", "listening on the broker"))
    where = urlsplit(AMQP_URL)
    assert f"{where.username}:***@{where.hostname}:{where.port}" in t.broker  # no password shown
    wait_until(lambda: listening(client, t.id), what="the listener")
    nova = Service(exchange, topic)
    try:
        # Another event on the same topic starts nothing; the matching one starts the workflow once.
        nova.info("compute.instance.delete.end", {"instance_id": "i-0"})
        nova.info("compute.instance.create.end", {"instance_id": "i-1", "state": "active"},
                  project_id="proj-7", user_id="user-3")
        (ex,) = wait_until(lambda: executions_of(client, wf.name), what="the triggered execution")
    finally:
        nova.close()
    ex = wait_until(lambda: (lambda e: e if e.state == "SUCCESS" else None)(client.executions.get(ex.id)),
                    what="the execution to succeed")
    params = json.loads(ex.params)
    got = params["event_params"]
    assert got["service"] == "compute.host1"
    assert got["project_id"] == "proj-7" and got["user_id"] == "user-3"
    assert got["event_type"] == "compute.instance.create.end"
    assert got["payload"] == {"instance_id": "i-1", "state": "active"}
    assert got["timestamp"]
    assert params["env"] == {"a": 1}
    assert json.loads(ex.description)["triggered_by"] == {"type": "event_trigger", "id": t.id,
                                                          "name": t.name}
    assert json.loads(ex.output) == {"event": got}
    time.sleep(1.0)
    assert len(executions_of(client, wf.name)) == 1


@pytest.fixture(scope="module")
def token_broker(tmp_path_factory, rabbit):
    from tests.auth.helpers import TokenServer

    ts = TokenServer(tmp_path_factory.mktemp("levante-broker-token"), "--transport-url", AMQP_URL).start()
    yield ts
    ts.stop()


def test_notification_fires_its_projects_and_public_triggers_only(token_broker, rabbit):
    """With authentication, a notification of project P fires P's triggers and
    every project's public ones, never another project's private ones; a
    notification that names no project fires the public ones only."""
    ts = token_broker
    p = ts.mistral(ts.create_token("p", "proj-p"))
    q = ts.mistral(ts.create_token("q", "proj-q"))
    q_admin = ts.http(ts.create_token("q-admin", "proj-q", admin=True))   # public needs admin
    exchange, topic = route(rabbit)
    event_type = "compute.instance.create.end"
    p_wf, q_private_wf, q_public_wf = (create_wf(c, unique(), READER) for c in (p, q, q))
    triggers = [p.event_triggers.create(unique("evt"), p_wf.id, exchange, topic, event_type),
                q.event_triggers.create(unique("evt"), q_private_wf.id, exchange, topic, event_type),
                # python-mistralclient cannot send a scope: the API as it is.
                q_admin.post("/event_triggers", json={
                    "name": unique("evt"), "workflow_id": q_public_wf.id, "exchange": exchange,
                    "topic": topic, "event": event_type, "scope": "public"}).json()]
    assert triggers[2]["scope"] == "public"
    wait_until(lambda: listening(p, triggers[0].id), what="the listener")

    def counts():
        return (len(executions_of(p, p_wf.name)), len(executions_of(q, q_private_wf.name)),
                len(executions_of(q, q_public_wf.name)))

    nova = Service(exchange, topic)
    try:
        nova.info(event_type, {"n": 1}, project_id="proj-p")
        wait_until(lambda: counts() == (1, 0, 1), what="P's and the public trigger")
        nova.info(event_type, {"n": 2}, project_id=None)
        wait_until(lambda: counts() == (1, 0, 2), what="the public trigger alone")
        nova.info(event_type, {"n": 3}, project_id="proj-q")
        wait_until(lambda: counts() == (1, 1, 3), what="Q's triggers")
        nova.info(event_type, {"n": 4}, project_id="proj-elsewhere")
        wait_until(lambda: counts() == (1, 1, 4), what="the public trigger for another project")
        time.sleep(1.5)
        assert counts() == (1, 1, 4)
    finally:
        nova.close()
    # The public trigger's executions are its owner's: P does not see them.
    assert executions_of(p, q_public_wf.name) == []
    (ex,) = [e for e in executions_of(q, q_public_wf.name)
             if json.loads(e.params)["event_params"]["payload"] == {"n": 2}]
    assert json.loads(ex.params)["event_params"]["project_id"] is None


def test_triggers_created_and_deleted_while_running(client, broker_server, rabbit):
    """The listeners follow the triggers: a new (exchange, topic) is listened to
    without a restart, and a deleted trigger fires no more."""
    exchange, topic = route(rabbit)
    wf = create_wf(client, unique(), READER)
    star = client.event_triggers.create(unique("evt"), wf.id, exchange, topic, "*")
    wait_until(lambda: listening(client, star.id), what="the listener")
    glance = Service(exchange, topic, publisher_id="image.host2")
    try:
        glance.info("image.update", {"id": "img-1"})
        wait_until(lambda: len(executions_of(client, wf.name)) == 1, what="the first execution")
        client.event_triggers.delete(star.id)
        log = broker_server.log
        wait_until(lambda: f"stopped listening to exchange {exchange} topic {topic}" in log.read_text(),
                   what="the listener to stop")
        glance.info("image.update", {"id": "img-2"})
        time.sleep(1.5)
        assert len(executions_of(client, wf.name)) == 1
    finally:
        glance.close()


def test_without_a_broker_the_trigger_waits_for_one(mistral, server):
    wf = create_wf(mistral, unique(), READER)
    t = mistral.event_triggers.create(unique("evt"), wf.id, "nova", "notifications",
                                      "compute.instance.create.end")
    try:
        assert t.broker.startswith("waiting for a broker: the server has no message broker: set "
                                   "transport_url")
        assert mistral.event_triggers.get(t.id).broker == t.broker
        assert (f"event_trigger={t.id} on exchange nova topic notifications event "
                f"compute.instance.create.end waits for a broker") in server.log.read_text()
    finally:
        mistral.event_triggers.delete(t.id)
    # The levante CLI shows it too.
    proc = subprocess.run([sys.executable, "-m", "levante", "--url", server.url, "event-trigger-create",
                           unique("evt"), wf.id, "glance", "notifications", "image.update",
                           "-f", "json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    mistral.event_triggers.delete(shown["ID"])
    assert shown["Broker"].startswith("waiting for a broker: the server has no message broker")


def test_triggers_on_levantes_own_exchanges_do_not_mention_a_broker(client):
    wf = create_wf(client, unique(), READER)
    t = client.event_triggers.create(unique("evt"), wf.id, "queues", unique("q"), "MESSAGE_POSTED")
    try:
        assert not hasattr(t, "broker")
    finally:
        client.event_triggers.delete(t.id)


def test_without_oslo_messaging_the_server_runs_and_says_why(tmp_path):
    # A Python in which oslo.messaging cannot be imported (what a None in sys.modules means).
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['oslo_messaging'] = None\n")
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), old) if p)
    try:
        srv = Server(tmp_path, args=("--transport-url", AMQP_URL)).start()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = old
    try:
        from mistralclient.api import client as mc

        c = mc.client(mistral_url=srv.url)
        wf = create_wf(c, unique(), READER)
        t = c.event_triggers.create(unique("evt"), wf.id, "nova", "notifications", "x.y")
        assert t.broker == ("waiting for a broker: oslo.messaging is not installed "
                            "(pip install 'levante[broker]')")
        text = srv.log.read_text()
        assert "wait for a broker: oslo.messaging is not installed" in text
        assert " WARNING " in text.split("wait for a broker")[0].rsplit("\n", 1)[-1]
    finally:
        srv.stop()


def test_bad_transport_url_stops_the_server(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "levante", "server", "--transport-url", "guest@host",
                           "--db", f"sqlite:///{tmp_path / 'x.sqlite'}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "setting transport_url must be a URL such as rabbit://" in proc.stderr


def test_unreachable_broker_is_reported(tmp_path):
    from tests.conftest import free_port

    url = f"rabbit://guest:guest@127.0.0.1:{free_port()}/"     # nothing listens there
    srv = Server(tmp_path, args=("--transport-url", url)).start()
    try:
        from mistralclient.api import client as mc

        c = mc.client(mistral_url=srv.url)
        wf = create_wf(c, unique(), READER)
        t = c.event_triggers.create(unique("evt"), wf.id, "nova", "notifications", "x.y")
        note = wait_until(lambda: (lambda b: b if b.startswith("waiting for the broker") else "")(
            c.event_triggers.get(t.id).broker), what="the broker to be reported unreachable")
        assert "Connection refused" in note and "guest:***@" in note
        assert "cannot listen to exchange nova topic notifications" in srv.log.read_text()
    finally:
        srv.stop()


def test_transport_url_setting(tmp_path):
    from levante.config import SettingsError, load_settings

    assert load_settings({}).transport_url == ""
    url = "rabbit://user:pw@broker.example.org:5672/"
    assert load_settings({"LEVANTE_TRANSPORT_URL": url}).transport_url == url
    conf = tmp_path / "levante.yaml"
    conf.write_text(f"transport_url: {url}\n")
    assert load_settings({"LEVANTE_CONFIG": str(conf)}).transport_url == url
    # the environment wins over the file
    assert load_settings({"LEVANTE_CONFIG": str(conf),
                          "LEVANTE_TRANSPORT_URL": "rabbit://other:5672/"}).transport_url == \
        "rabbit://other:5672/"
    conf.write_text("transport_url: [1, 2]\n")
    with pytest.raises(SettingsError, match="transport_url must be a string"):
        load_settings({"LEVANTE_CONFIG": str(conf)})
