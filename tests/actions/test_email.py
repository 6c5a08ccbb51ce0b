"""``std.email`` against a real SMTP server (aiosmtpd) on loopback."""
from __future__ import annotations

import datetime
import json
import ssl
import time
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from levante.actions.base import ActionDef, Outcome
from levante.actions.std import BUILTINS
from levante.config import reload_settings
from tests.conftest import Server, free_port


@pytest.fixture(autouse=True)
def egress_policy(monkeypatch):
    """The test SMTP servers are on loopback, which the egress policy denies by
    default: each test starts with every address allowed; ``egress_policy(**settings)``
    changes that (``egress_policy()`` alone puts the default policy back)."""
    def apply(**settings):
        monkeypatch.delenv("LEVANTE_CONFIG", raising=False)
        monkeypatch.delenv("LEVANTE_HTTP_DENIED_CIDRS", raising=False)
        monkeypatch.delenv("LEVANTE_HTTP_ALLOWED_HOSTS", raising=False)
        for name, value in settings.items():
            monkeypatch.setenv("LEVANTE_" + name.upper(), value)
        return reload_settings()

    apply(http_denied_cidrs="")
    yield apply
    monkeypatch.undo()
    reload_settings()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: bytes | None


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Received] = []

    async def handle_DATA(self, server, session, envelope):
        # Stored as a mailbox would: with local line ends.
        raw = (envelope.original_content or envelope.content).replace(b"\r\n", b"\n")
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(Received(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
            message=message_from_bytes(raw, policy=policy.default),
            tls=session.ssl is not None, login=login))
        return "250 Message accepted for delivery"

    def last(self) -> Received:
        assert self.messages, "no message received"
        return self.messages[-1]


class SMTPServer:
    def __init__(self, **kwargs) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


@pytest.fixture
def smtp():
    with SMTPServer() as srv:
        yield srv


def _self_signed(tmp_path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert_file), str(key_file))
    return ctx


PASSWORD = "s3cret"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@pytest.fixture
def smtp_tls(tmp_path):
    """Requires STARTTLS, then a login, before any mail."""
    with SMTPServer(tls_context=_self_signed(tmp_path), require_starttls=True,
                    auth_required=True, authenticator=_authenticator) as srv:
        yield srv


def send(**given) -> Outcome:
    cls, _ = BUILTINS["std.email"]
    return ActionDef.from_class("std.email", cls).run(given, None)


# ---------------------------------------------------------------- the action


def test_signature_is_mistrals():
    action = ActionDef.from_class("std.email", BUILTINS["std.email"][0])
    assert action.input_display() == (
        "from_addr, to_addrs, smtp_server, reply_to=null, cc_addrs=null, bcc_addrs=null, "
        "smtp_password=null, subject=null, body=null, html_body=null")


def test_plain_message_with_cc_bcc_and_reply_to(smtp: SMTPServer):
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org", "bob@example.org"],
               smtp_server=smtp.address, cc_addrs=["cat@example.org"],
               bcc_addrs=["dan@example.org", "eve@example.org"],
               reply_to=["ops@example.org"], subject="Build 42", body="All green.\nBye.")
    assert out.kind == "ok", out.value
    assert out.value is None
    got = smtp.inbox.last()
    assert got.mail_from == "flow@example.org"
    assert got.rcpt_tos == ["ann@example.org", "bob@example.org", "cat@example.org",
                            "dan@example.org", "eve@example.org"]
    msg = got.message
    assert msg["From"] == "flow@example.org"
    assert msg["To"] == "ann@example.org, bob@example.org"
    assert msg["Cc"] == "cat@example.org"
    assert msg["Reply-To"] == "ops@example.org"
    assert msg["Bcc"] is None
    assert b"dan@example.org" not in msg.as_bytes()
    assert msg["Subject"] == "Build 42"
    assert msg["Date"] and msg["Message-ID"]
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content() == "All green.\nBye.\n"
    assert not got.tls and got.login is None        # no password: no TLS, no login


def test_addresses_as_comma_separated_strings(smtp: SMTPServer):
    out = send(from_addr="flow@example.org", to_addrs="ann@example.org, bob@example.org",
               cc_addrs="cat@example.org", bcc_addrs="dan@example.org",
               reply_to="ops@example.org", smtp_server=smtp.address, body="x")
    assert out.kind == "ok", out.value
    got = smtp.inbox.last()
    assert got.rcpt_tos == ["ann@example.org", "bob@example.org", "cat@example.org",
                            "dan@example.org"]
    assert got.message["To"] == "ann@example.org, bob@example.org"
    assert got.message["Reply-To"] == "ops@example.org"


def test_defaults_subject_and_body_no_reply_to(smtp: SMTPServer):
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"], smtp_server=smtp.address)
    assert out.kind == "ok", out.value
    msg = smtp.inbox.last().message
    assert msg["Subject"] == "<No subject>"
    assert msg.get_content().strip() == "<No body>"
    assert msg["Reply-To"] is None and msg["Cc"] is None


def test_html_body_makes_multipart_alternative(smtp: SMTPServer):
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"], smtp_server=smtp.address,
               subject="Report", body="Plain report", html_body="<h1>Report</h1><p>All good</p>")
    assert out.kind == "ok", out.value
    msg = smtp.inbox.last().message
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().strip() == "Plain report"
    assert parts[1].get_content().strip() == "<h1>Report</h1><p>All good</p>"


def test_non_ascii_subject_and_body(smtp: SMTPServer):
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"], smtp_server=smtp.address,
               subject="Café ✓ Größe", body="Ünïcödé — 日本語", html_body="<p>Größe ✓</p>")
    assert out.kind == "ok", out.value
    msg = smtp.inbox.last().message
    assert msg["Subject"] == "Café ✓ Größe"
    plain, html = msg.iter_parts()
    assert plain.get_content().strip() == "Ünïcödé — 日本語"
    assert html.get_content().strip() == "<p>Größe ✓</p>"


def test_password_switches_to_tls_and_logs_in(smtp_tls: SMTPServer):
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"],
               smtp_server=smtp_tls.address, smtp_password=PASSWORD, subject="secure", body="b")
    assert out.kind == "ok", out.value
    got = smtp_tls.inbox.last()
    assert got.tls
    assert got.login == b"flow@example.org"
    assert got.message["Subject"] == "secure"


def test_wrong_password_fails(smtp_tls: SMTPServer):
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"],
               smtp_server=smtp_tls.address, smtp_password="wrong")
    assert out.kind == "error"
    assert "Failed to send an email message" in out.value
    assert smtp_tls.inbox.messages == []


def test_server_that_wants_tls_refuses_plain_sending(smtp_tls: SMTPServer):
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"],
               smtp_server=smtp_tls.address)
    assert out.kind == "error"
    assert "Failed to send an email message" in out.value


def test_unreachable_server_fails():
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"],
               smtp_server=f"127.0.0.1:{free_port()}")
    assert out.kind == "error"
    assert "Failed to send an email message" in out.value


def test_no_recipient_fails(smtp: SMTPServer):
    out = send(from_addr="flow@example.org", to_addrs=[], smtp_server=smtp.address)
    assert out.kind == "error"
    assert "no recipient" in out.value


# ---------------------------------------------------------------- on a real server


WORKFLOW = """
version: '2.0'
{name}:
  input: [smtp, team]
  tasks:
    notify:
      action: std.email
      input:
        from_addr: levante@example.org
        to_addrs: <% $.team %>
        bcc_addrs: [audit@example.org]
        smtp_server: <% $.smtp %>
        subject: Execution <% execution().id %> done
        body: Hello <% $.team[0] %>
        html_body: <p>Hello <b><% $.team[0] %></b></p>
      publish:
        sent: <% task().result = null %>
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server whose egress policy lets std.email reach the loopback SMTP server."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")
        srv = Server(tmp_path_factory.mktemp("email-server")).start()
    yield srv
    srv.stop()


def _run_workflow(url: str, name: str, inp: dict) -> dict:
    r = httpx.post(f"{url}/workflows", content=WORKFLOW.format(name=name),
                   headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    r = httpx.post(f"{url}/executions", json={"workflow_name": name, "input": json.dumps(inp)})
    assert r.status_code == 201, r.text
    exec_id = r.json()["id"]
    deadline = time.time() + 60
    while True:
        body = httpx.get(f"{url}/executions/{exec_id}").json()
        if body["state"] in ("SUCCESS", "ERROR", "CANCELLED"):
            return body
        assert time.time() < deadline, body["state"]
        time.sleep(0.05)


def test_workflow_sends_an_email(server, smtp: SMTPServer):
    name = f"mail_{uuid.uuid4().hex[:8]}"
    body = _run_workflow(server.url, name, {"smtp": smtp.address,
                                            "team": ["ann@example.org", "bob@example.org"]})
    exec_id = body["id"]
    assert body["state"] == "SUCCESS", body["state_info"]
    assert json.loads(body["output"]) == {"sent": True}
    got = smtp.inbox.last()
    assert got.rcpt_tos == ["ann@example.org", "bob@example.org", "audit@example.org"]
    assert got.message["Subject"] == f"Execution {exec_id} done"
    assert got.message["To"] == "ann@example.org, bob@example.org"
    assert got.message["Bcc"] is None
    plain, html = got.message.iter_parts()
    assert plain.get_content().strip() == "Hello ann@example.org"
    assert html.get_content().strip() == "<p>Hello <b>ann@example.org</b></p>"


# ---------------------------------------------------------------- egress policy


HINT = "(setting http_denied_cidrs, environment variable LEVANTE_HTTP_DENIED_CIDRS)"


@pytest.mark.parametrize("host, shown", [
    ("127.0.0.1:{port}", "address 127.0.0.1 is in the denied range 127.0.0.0/8"),
    ("localhost:{port}", "(host 'localhost' resolves to 127.0.0.1): address 127.0.0.1 is in "
                         "the denied range 127.0.0.0/8"),
    ("0.0.0.0:{port}", "address 0.0.0.0 is in the denied range 0.0.0.0/8"),
])
def test_default_policy_refuses_a_denied_smtp_server(smtp: SMTPServer, egress_policy, host, shown):
    egress_policy()                                # the default policy: loopback is denied
    host = host.format(port=smtp.port)
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"], smtp_server=host)
    assert out.kind == "error"
    assert f"Refused to connect to SMTP server {host}" in out.value, out.value
    assert shown in out.value and HINT in out.value, out.value
    assert smtp.inbox.messages == []                                # nothing was sent


def test_refusal_has_the_shape_of_std_http_s(smtp: SMTPServer, egress_policy):
    egress_policy()
    mail = send(from_addr="flow@example.org", to_addrs=["ann@example.org"],
                smtp_server=smtp.address).value
    cls, _ = BUILTINS["std.http"]
    http = ActionDef.from_class("std.http", cls).run({"url": f"http://{smtp.address}/"}, None).value
    tail = f": address 127.0.0.1 is in the denied range 127.0.0.0/8 {HINT}."
    assert mail.endswith(tail + "']") and http.endswith(tail + "']"), (mail, http)
    assert "Refused to connect to SMTP server" in mail and "Refused to connect to http://" in http


def test_a_custom_denied_range_refuses_and_others_deliver(smtp: SMTPServer, egress_policy):
    egress_policy(http_denied_cidrs="127.0.0.1/32")
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"], smtp_server=smtp.address)
    assert out.kind == "error" and "denied range 127.0.0.1/32" in out.value, out.value
    egress_policy(http_denied_cidrs="10.0.0.0/8")  # loopback allowed: delivered
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"], smtp_server=smtp.address,
               subject="allowed")
    assert out.kind == "ok", out.value
    assert smtp.inbox.last().message["Subject"] == "allowed"


def test_allowed_hosts_apply_to_the_smtp_server(smtp: SMTPServer, egress_policy):
    egress_policy(http_denied_cidrs="", http_allowed_hosts="mail.example.org")
    out = send(from_addr="flow@example.org", to_addrs=["ann@example.org"], smtp_server=smtp.address)
    assert out.kind == "error" and "is not in the allowed hosts" in out.value, out.value
    assert smtp.inbox.messages == []


def test_workflow_on_a_default_server_cannot_mail_a_loopback_server(tmp_path, smtp: SMTPServer):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LEVANTE_HTTP_DENIED_CIDRS", raising=False)
        srv = Server(tmp_path).start()
    try:
        body = _run_workflow(srv.url, f"mail_{uuid.uuid4().hex[:8]}",
                             {"smtp": smtp.address, "team": ["ann@example.org"]})
        assert body["state"] == "ERROR"
        task = httpx.get(f"{srv.url}/executions/{body['id']}/tasks").json()["tasks"][0]
        assert f"Refused to connect to SMTP server {smtp.address}" in task["state_info"]
        assert "denied range 127.0.0.0/8" in task["state_info"], task["state_info"]
        assert smtp.inbox.messages == []
    finally:
        srv.stop()
