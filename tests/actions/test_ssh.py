"""``std.ssh`` and ``std.ssh_proxied`` against a real OpenSSH server on loopback."""
from __future__ import annotations

import json
import re
import time
import uuid

import httpx
import pytest

from levante.actions.base import ActionDef, Outcome
from levante.actions.std import BUILTINS
from levante.actions.std.ssh import split_host
from levante.config import reload_settings
from tests.actions.sshd import SSHD, unavailable_reason
from tests.conftest import Server


@pytest.fixture(autouse=True)
def open_policy(monkeypatch):
    """The test sshd is on loopback, which the egress policy denies by default;
    ``open_policy(False)`` puts the default policy back."""
    def apply(open_: bool = True, **more):
        monkeypatch.delenv("LEVANTE_CONFIG", raising=False)
        if open_:
            monkeypatch.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")
        else:
            monkeypatch.delenv("LEVANTE_HTTP_DENIED_CIDRS", raising=False)
        for name, value in more.items():
            monkeypatch.setenv("LEVANTE_" + name.upper(), value)
        reload_settings()

    apply()
    yield apply
    monkeypatch.undo()
    reload_settings()

@pytest.fixture
def sshd_available():
    """The tests need a real OpenSSH server and root (make test / .ci/run install it)."""
    reason = unavailable_reason()
    assert reason is None, reason


needs_sshd = pytest.mark.usefixtures("sshd_available")


@pytest.fixture(scope="module")
def sshd():
    srv = SSHD()
    try:
        yield srv.start()
    finally:
        srv.stop()


def run(name: str, **given) -> Outcome:
    cls, _ = BUILTINS[name]
    return ActionDef.from_class(name, cls).run(given, None)


def ok(outcome: Outcome):
    assert outcome.kind == "ok", outcome.value
    return outcome.value


def error(outcome: Outcome) -> str:
    assert outcome.kind == "error", outcome.value
    return outcome.value


# ---------------------------------------------------------------- no server needed


def test_split_host():
    assert split_host("example.org") == ("example.org", 22)
    assert split_host("example.org:2222") == ("example.org", 2222)
    assert split_host("10.0.0.1:22") == ("10.0.0.1", 22)
    assert split_host("[::1]:2022") == ("::1", 2022)
    assert split_host("[::1]") == ("::1", 22)
    assert split_host("fe80::1") == ("fe80::1", 22)


def test_signatures_are_mistrals():
    ssh = ActionDef.from_class("std.ssh", BUILTINS["std.ssh"][0])
    assert ssh.input_display() == (
        'cmd, host, username, password="", private_key_filename=null, private_key=null, '
        'return_result_on_error=false')
    proxied = ActionDef.from_class("std.ssh_proxied", BUILTINS["std.ssh_proxied"][0])
    assert proxied.input_display() == (
        "cmd, host, username, private_key_filename, gateway_host, gateway_username=null, "
        "password=null, proxy_command=null, private_key=null")


def test_bad_key_text_is_an_error_without_connecting():
    msg = error(run("std.ssh", cmd="true", host="127.0.0.1:1", username="x",
                    private_key="not a key"))
    assert "Cannot read the private key" in msg


def test_parent_directory_in_key_filename_is_refused():
    msg = error(run("std.ssh", cmd="true", host="127.0.0.1:1", username="x",
                    private_key_filename="../../etc/shadow"))
    assert "must not contain '..'" in msg


# ---------------------------------------------------------------- std.ssh


@needs_sshd
def test_login_with_private_key_text(sshd: SSHD):
    out = ok(run("std.ssh", cmd="echo hello; whoami", host=sshd.host, username=sshd.user,
                 private_key=sshd.key_text(sshd.rsa_key)))
    assert out == f"hello\n{sshd.user}\n"


@needs_sshd
def test_login_with_private_key_file(sshd: SSHD):
    out = ok(run("std.ssh", cmd="printf 'a b\\n c'", host=sshd.host, username=sshd.user,
                 private_key_filename=str(sshd.ed25519_key)))
    assert out == "a b\n c"        # stdout as it is, not stripped


@needs_sshd
def test_login_with_password(sshd: SSHD):
    out = ok(run("std.ssh", cmd="id -un", host=sshd.host, username=sshd.user,
                 password=sshd.password))
    assert out == f"{sshd.user}\n"


@needs_sshd
def test_password_is_the_key_passphrase(sshd: SSHD):
    out = ok(run("std.ssh", cmd="echo unlocked", host=sshd.host, username=sshd.user,
                 private_key=sshd.key_text(sshd.locked_key), password=sshd.passphrase))
    assert out == "unlocked\n"
    msg = error(run("std.ssh", cmd="echo unlocked", host=sshd.host, username=sshd.user,
                    private_key=sshd.key_text(sshd.locked_key)))
    assert "passphrase" in msg


@needs_sshd
def test_wrong_password_fails(sshd: SSHD):
    msg = error(run("std.ssh", cmd="id", host=sshd.host, username=sshd.user, password="wrong"))
    assert f"Failed to execute ssh cmd 'id' on {sshd.host}" in msg
    assert "Authentication" in msg


@needs_sshd
def test_unauthorized_key_fails(sshd: SSHD):
    msg = error(run("std.ssh", cmd="id", host=sshd.host, username=sshd.user,
                    private_key_filename=str(sshd.stranger_key)))
    assert "Authentication" in msg


@needs_sshd
def test_non_zero_exit_is_an_error_with_code_and_stderr(sshd: SSHD):
    msg = error(run("std.ssh", cmd="echo out; echo broken >&2; exit 3", host=sshd.host,
                    username=sshd.user, private_key=sshd.key_text(sshd.rsa_key)))
    assert "Failed to execute ssh cmd" in msg
    assert "exit code 3" in msg
    assert "broken" in msg


@needs_sshd
def test_return_result_on_error_gives_stdout_stderr_and_exit_code(sshd: SSHD):
    key = sshd.key_text(sshd.rsa_key)
    out = ok(run("std.ssh", cmd="echo out; echo broken >&2; exit 3", host=sshd.host,
                 username=sshd.user, private_key=key, return_result_on_error=True))
    assert out == {"stdout": "out\n", "stderr": "broken\n", "exit_code": 3}
    # As in Mistral, the same shape on success, one per host for a list of hosts.
    out = ok(run("std.ssh", cmd="echo fine", host=[sshd.host, sshd.host], username=sshd.user,
                 private_key=key, return_result_on_error=True))
    assert out == [{"stdout": "fine\n", "stderr": "", "exit_code": 0}] * 2
    # A host that cannot be reached still fails the action.
    msg = error(run("std.ssh", cmd="true", host="127.0.0.1:1", username=sshd.user,
                    private_key=key, return_result_on_error=True))
    assert "on 127.0.0.1:1" in msg


@needs_sshd
def test_run_action_with_return_result_on_error_through_the_client(server, sshd: SSHD):
    from mistralclient.api import client

    mistral = client.client(mistral_url=server.url)
    ae = mistral.action_executions.create("std.ssh", {
        "cmd": "echo gone >&2; exit 5", "host": sshd.host, "username": sshd.user,
        "password": sshd.password, "return_result_on_error": True})
    assert ae.state == "SUCCESS"
    assert json.loads(ae.output) == {"result": {"stdout": "", "stderr": "gone\n", "exit_code": 5}}


@needs_sshd
def test_command_gets_no_stdin(sshd: SSHD):
    out = ok(run("std.ssh", cmd="cat; echo done", host=sshd.host, username=sshd.user,
                 password=sshd.password))
    assert out == "done\n"


@needs_sshd
def test_large_stdout_and_stderr_together(sshd: SSHD):
    size = 3_000_000     # more than an SSH channel window, on both streams
    cmd = (f"head -c {size} /dev/zero | tr '\\0' e >&2; "
           f"head -c {size} /dev/zero | tr '\\0' o; "
           f"head -c {size} /dev/zero | tr '\\0' e >&2")
    out = ok(run("std.ssh", cmd=cmd, host=sshd.host, username=sshd.user,
                 private_key=sshd.key_text(sshd.rsa_key)))
    assert len(out) == size and set(out) == {"o"}


@needs_sshd
def test_list_of_hosts_gives_list_of_results(sshd: SSHD):
    out = ok(run("std.ssh", cmd="echo $SSH_CONNECTION | cut -d' ' -f3", username=sshd.user,
                 host=[sshd.host, f"[127.0.0.1]:{sshd.port}", sshd.host],
                 private_key=sshd.key_text(sshd.ed25519_key)))
    assert out == ["127.0.0.1\n"] * 3
    # As in Mistral, a single result is returned as is, even from a list of one.
    assert ok(run("std.ssh", cmd="echo one", username=sshd.user, host=[sshd.host],
                  password=sshd.password)) == "one\n"


@needs_sshd
def test_list_of_hosts_stops_at_the_failing_host(sshd: SSHD):
    msg = error(run("std.ssh", cmd="true", username=sshd.user, password=sshd.password,
                    host=[sshd.host, "127.0.0.1:1"]))
    assert "on 127.0.0.1:1" in msg


# ---------------------------------------------------------------- std.ssh_proxied


def _direct_tcpip_lines(sshd: SSHD) -> list[str]:
    return [ln for ln in sshd.log_text().splitlines()
            if "direct_tcpip" in ln and f"target 127.0.0.1 port {sshd.port}" in ln]


@needs_sshd
def test_proxied_through_gateway(sshd: SSHD):
    before = len(_direct_tcpip_lines(sshd))
    out = ok(run("std.ssh_proxied", cmd="echo via gateway; whoami", host=sshd.host,
                 username=sshd.user, private_key_filename=str(sshd.ed25519_key),
                 gateway_host=sshd.host, gateway_username=sshd.user))
    assert out == f"via gateway\n{sshd.user}\n"
    # The gateway's sshd opened the TCP channel to the target.
    deadline = time.time() + 5
    while len(_direct_tcpip_lines(sshd)) <= before and time.time() < deadline:
        time.sleep(0.05)
    assert len(_direct_tcpip_lines(sshd)) > before, sshd.log_text()[-2000:]


@needs_sshd
def test_proxied_with_key_text_several_hosts_and_default_gateway_user(sshd: SSHD):
    out = ok(run("std.ssh_proxied", cmd="echo hi", host=[sshd.host, sshd.host],
                 username=sshd.user, private_key_filename=None,
                 private_key=sshd.key_text(sshd.rsa_key), gateway_host=sshd.host))
    assert out == ["hi\n", "hi\n"]


@needs_sshd
def test_proxied_with_password(sshd: SSHD):
    out = ok(run("std.ssh_proxied", cmd="echo pw", host=sshd.host, username=sshd.user,
                 private_key_filename=None, password=sshd.password, gateway_host=sshd.host))
    assert out == "pw\n"


@needs_sshd
def test_proxied_with_proxy_command_to_the_gateway(sshd: SSHD, open_policy):
    open_policy(ssh_allow_proxy_command="true")
    out = ok(run("std.ssh_proxied", cmd="echo through proxy", host=sshd.host,
                 username=sshd.user, private_key_filename=str(sshd.ed25519_key),
                 gateway_host="gateway.invalid", gateway_username=sshd.user,
                 proxy_command=sshd.proxy_command()))
    assert out == "through proxy\n"


@needs_sshd
def test_proxied_failures(sshd: SSHD):
    msg = error(run("std.ssh_proxied", cmd="exit 7", host=sshd.host, username=sshd.user,
                    private_key_filename=str(sshd.ed25519_key), gateway_host=sshd.host))
    assert "exit code 7" in msg
    msg = error(run("std.ssh_proxied", cmd="true", host="127.0.0.1:1", username=sshd.user,
                    private_key_filename=str(sshd.ed25519_key), gateway_host=sshd.host))
    assert f"gateway {sshd.host} cannot reach 127.0.0.1:1" in msg


# ---------------------------------------------------------------- on a real server


WORKFLOW = """
version: '2.0'
{name}:
  input: [host, username, private_key]
  output:
    said: <% $.said %>
  tasks:
    remote:
      action: std.ssh
      input:
        cmd: echo "hello from $(whoami)"
        host: <% $.host %>
        username: <% $.username %>
        private_key: <% $.private_key %>
      publish:
        said: <% task().result %>
      on-success: broken
    broken:
      action: std.ssh cmd="echo nope >&2; exit 4" host=<% $.host %> username=<% $.username %> private_key=<% $.private_key %>
      on-error: handled
    handled:
      action: std.noop
"""


def _execute(url: str, workflow: str, inp: dict) -> dict:
    r = httpx.post(f"{url}/executions", json={"workflow_name": workflow,
                                             "input": json.dumps(inp)})
    assert r.status_code == 201, r.text
    exec_id = r.json()["id"]
    deadline = time.time() + 60
    while True:
        body = httpx.get(f"{url}/executions/{exec_id}").json()
        if body["state"] in ("SUCCESS", "ERROR", "CANCELLED"):
            return body
        assert time.time() < deadline, body["state"]
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server whose egress policy lets std.ssh reach the loopback sshd."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")
        srv = Server(tmp_path_factory.mktemp("ssh-server")).start()
    yield srv
    srv.stop()


@needs_sshd
def test_workflow_runs_ssh_and_publishes_stdout(server, sshd: SSHD):
    name = f"ssh_{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{server.url}/workflows", content=WORKFLOW.format(name=name),
                   headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    done = _execute(server.url, name, {"host": sshd.host, "username": sshd.user,
                                       "private_key": sshd.key_text(sshd.rsa_key)})
    assert done["state"] == "SUCCESS", done["state_info"]
    assert json.loads(done["output"]) == {"said": f"hello from {sshd.user}\n"}
    tasks = httpx.get(f"{server.url}/executions/{done['id']}/tasks").json()["tasks"]
    broken = next(t for t in tasks if t["name"] == "broken")
    assert broken["state"] == "ERROR"
    assert re.search(r"exit code 4.*nope", broken["state_info"]), broken["state_info"]


# ---------------------------------------------------------------- egress policy

def test_proxy_command_is_refused_by_default(tmp_path, open_policy):
    """Reproducer: proxy_command ran a shell command on the server."""
    open_policy()
    marker = tmp_path / "ran"
    msg = error(run("std.ssh_proxied", cmd="true", host="10.0.0.1", username="u",
                    private_key_filename=None, password="pw", gateway_host="gateway.invalid",
                    proxy_command=f"sh -c 'id > {marker}'"))
    assert "proxy_command is refused" in msg and "ssh_allow_proxy_command" in msg
    assert "LEVANTE_SSH_ALLOW_PROXY_COMMAND" in msg
    time.sleep(0.2)
    assert not marker.exists()


@pytest.mark.parametrize("host, denied", [("127.0.0.1:{port}", "127.0.0.0/8"),
                                          ("0.0.0.0:{port}", "0.0.0.0/8"),
                                          ("[::ffff:127.0.0.1]:{port}", "127.0.0.0/8"),
                                          ("localhost:{port}", "127.0.0.0/8")])
@needs_sshd
def test_denied_addresses_are_refused(sshd: SSHD, open_policy, host, denied):
    open_policy(False)
    host = host.format(port=sshd.port)
    msg = error(run("std.ssh", cmd="echo hi", host=host, username=sshd.user,
                    private_key_filename=str(sshd.ed25519_key)))
    assert f"Refused to connect to ssh host {host}" in msg and f"denied range {denied}" in msg
    msg = error(run("std.ssh_proxied", cmd="echo hi", host="10.0.0.1", username=sshd.user,
                    private_key_filename=str(sshd.ed25519_key), gateway_host=host))
    assert f"Refused to connect to ssh host {host}" in msg and f"denied range {denied}" in msg


def _accepted_logins(sshd: SSHD) -> int:
    return sshd.log_text().count("Accepted ")


@pytest.mark.parametrize("target, shown", [
    ("127.0.0.1:{port}", "address 127.0.0.1 is in the denied range 127.0.0.0/8"),
    ("localhost:{port}", "(host 'localhost' resolves to 127.0.0.1): address 127.0.0.1 is in "
                         "the denied range 127.0.0.0/8"),
    ("[::ffff:127.0.0.1]:{port}", "denied range 127.0.0.0/8"),
])
@needs_sshd
def test_target_behind_the_gateway_is_checked_before_the_gateway_is_asked(
        sshd: SSHD, open_policy, target, shown):
    """The default policy; the gateway is reached through the operator's
    proxy_command (not checked), the target behind it is: refused before
    Levante even logs in to the gateway."""
    open_policy(False, ssh_allow_proxy_command="true")
    target = target.format(port=sshd.port)
    logins = _accepted_logins(sshd)
    msg = error(run("std.ssh_proxied", cmd="echo hi", host=target, username=sshd.user,
                    private_key_filename=str(sshd.ed25519_key), gateway_host="gateway.invalid",
                    proxy_command=sshd.proxy_command()))
    assert f"Refused to connect to ssh host {target} through gateway gateway.invalid" in msg, msg
    assert shown in msg and "http_denied_cidrs" in msg, msg
    time.sleep(0.2)
    assert _accepted_logins(sshd) == logins, sshd.log_text()[-2000:]


@needs_sshd
def test_target_in_a_custom_denied_range_is_refused_through_an_allowed_gateway(
        sshd: SSHD, open_policy):
    open_policy(http_denied_cidrs="127.0.0.2/32")
    msg = error(run("std.ssh_proxied", cmd="echo hi", host=f"127.0.0.2:{sshd.port}",
                    username=sshd.user, private_key_filename=str(sshd.ed25519_key),
                    gateway_host=sshd.host))
    assert f"Refused to connect to ssh host 127.0.0.2:{sshd.port} through gateway {sshd.host}" in msg
    assert "address 127.0.0.2 is in the denied range 127.0.0.2/32" in msg, msg
    # The same gateway still reaches an allowed target.
    assert ok(run("std.ssh_proxied", cmd="echo allowed", host=sshd.host, username=sshd.user,
                  private_key_filename=str(sshd.ed25519_key), gateway_host=sshd.host)) == "allowed\n"


@needs_sshd
def test_allowed_hosts_apply_to_the_target_behind_the_gateway(sshd: SSHD, open_policy):
    open_policy(http_allowed_hosts="127.0.0.1,gateway.invalid", ssh_allow_proxy_command="true")
    msg = error(run("std.ssh_proxied", cmd="echo hi", host=f"localhost:{sshd.port}",
                    username=sshd.user, private_key_filename=str(sshd.ed25519_key),
                    gateway_host="gateway.invalid", proxy_command=sshd.proxy_command()))
    assert "host 'localhost' is not in the allowed hosts" in msg, msg
    assert ok(run("std.ssh_proxied", cmd="echo listed", host=sshd.host, username=sshd.user,
                  private_key_filename=str(sshd.ed25519_key), gateway_host="gateway.invalid",
                  proxy_command=sshd.proxy_command())) == "listed\n"


PROXY_WORKFLOW = """
version: '2.0'
{name}:
  input: [marker]
  tasks:
    hop:
      action: std.ssh_proxied
      input:
        cmd: "true"
        host: 10.0.0.1
        username: nobody
        private_key_filename: null
        password: pw
        gateway_host: gateway.invalid
        proxy_command: <% "sh -c 'id > " + $.marker + "'" %>
"""


def test_workflow_with_proxy_command_fails_and_the_server_keeps_serving(tmp_path):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LEVANTE_SSH_ALLOW_PROXY_COMMAND", raising=False)
        srv = Server(tmp_path).start()
    try:
        name = f"ssh_{uuid.uuid4().hex[:8]}"
        r = httpx.post(f"{srv.url}/workflows", content=PROXY_WORKFLOW.format(name=name),
                       headers={"content-type": "text/plain"})
        assert r.status_code == 201, r.text
        marker = tmp_path / "ran"
        done = _execute(srv.url, name, {"marker": str(marker)})
        assert done["state"] == "ERROR"
        task = httpx.get(f"{srv.url}/executions/{done['id']}/tasks").json()["tasks"][0]
        assert "proxy_command is refused" in task["state_info"], task["state_info"]
        assert not marker.exists()
        assert httpx.get(f"{srv.url}/workflows/{name}").status_code == 200
    finally:
        srv.stop()
