"""``std.ssh`` and ``std.ssh_proxied``: run a shell command on hosts over SSH.

Same names, parameters and results as Mistral's actions:

* the result is the command's standard output, a string (not stripped);
* ``host`` may be a list: the command runs on each host in turn and the result
  is the list of outputs in the same order (as in Mistral, a list of one host
  gives a plain string);
* a non-zero exit status fails the action; the error names the command, the
  host, the exit status and the command's standard error.

Levante additions: a host may carry a port (``host:port``, ``[v6addr]:port``),
and a private key may be RSA, Ed25519 or ECDSA (Mistral reads RSA only).

Authentication follows Mistral: ``private_key`` (the key's text) wins over
``private_key_filename`` (an absolute path, or a name under ``~/.ssh/`` of the
user running Levante); ``password`` is both the login password and the key's
passphrase. Host keys are accepted without a ``known_hosts`` check, as in
Mistral.

Egress policy (``levante.egress``, as std.http): the hosts and the gateway are
connected to only at addresses the policy allows (not loopback, link-local or
the metadata service by default): each name is resolved once, every address
checked, and the socket opened to that checked address. ``proxy_command`` runs
a shell command on the Levante host, so it is refused unless the operator sets
``ssh_allow_proxy_command``; the connection the command makes is its own.

A host behind the gateway is connected to by the gateway, not by Levante.
Before asking, Levante checks it as it sees it: the name against
``http_allowed_hosts``, and every address it resolves to here (a literal
address, or a name Levante's resolver knows) against the denied ranges. The
gateway then resolves the name in its own network and connects; that answer
and that connection are out of the policy's sight (a name only the gateway
knows passes on the allowed-hosts check alone).
"""
from __future__ import annotations

import io
import logging
import os
import select
from typing import Any

import paramiko
from mistral_lib import actions
from mistral_lib.exceptions import ActionException

from levante import egress
from levante.config import get_settings

log = logging.getLogger("levante.actions.ssh")

KEY_DIR = "~/.ssh"
CONNECT_TIMEOUT = 30.0
_KEY_TYPES = (paramiko.RSAKey, paramiko.Ed25519Key, paramiko.ECDSAKey)
_CHUNK = 65536


def split_host(host: Any, default_port: int = 22) -> tuple[str, int]:
    """``name``, ``name:port``, ``v4addr:port``, ``[v6addr]:port`` or a bare
    IPv6 address -> (hostname, port)."""
    text = str(host).strip()
    if text.startswith("["):
        name, _, rest = text[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            return name, int(rest[1:])
        return name, default_port
    if text.count(":") == 1:
        name, _, port = text.partition(":")
        if port.isdigit():
            return name, int(port)
    return text, default_port


def load_private_key(private_key_filename: str | None = None, private_key: str | None = None,
                     password: str | None = None) -> paramiko.PKey | None:
    """The key to log in with, or None when neither parameter is given."""
    passphrase = password or None
    if private_key:
        text = private_key if isinstance(private_key, str) else str(private_key)
        return _try_key_types(lambda kind: kind.from_private_key(io.StringIO(text), password=passphrase))
    if private_key_filename:
        name = str(private_key_filename)
        if "../" in name or "..\\" in name:
            raise ActionException(f"Private key filename must not contain '..'. Actual: \"{name}\"")
        path = name if os.path.isabs(name) else os.path.join(os.path.expanduser(KEY_DIR), name)
        if not os.path.isfile(path):
            raise ActionException(f"Private key file not found: {path}")
        return _try_key_types(lambda kind: kind.from_private_key_file(path, password=passphrase))
    return None


def _try_key_types(load) -> paramiko.PKey:
    problems = []
    for kind in _KEY_TYPES:
        try:
            return load(kind)
        except paramiko.PasswordRequiredException:
            raise ActionException("The private key is encrypted: give its passphrase as 'password'")
        except (paramiko.SSHException, ValueError, TypeError) as e:
            problems.append(f"{kind.__name__}: {e}")
    raise ActionException("Cannot read the private key (" + "; ".join(problems) + ")")


def _client() -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    return client


def connect(host: Any, username: str | None, password: str | None = None,
            pkey: paramiko.PKey | None = None, sock: Any = None) -> paramiko.SSHClient:
    hostname, port = split_host(host)
    own_sock = sock is None
    if own_sock:
        try:
            sock = egress.connect(hostname, port, CONNECT_TIMEOUT,
                                  what=f"Refused to connect to ssh host {host}")
        except egress.EgressRefused as e:
            raise ActionException(str(e)) from None
    client = _client()
    try:
        client.connect(
            hostname, port=port, username=username, password=password or None, pkey=pkey,
            sock=sock, timeout=CONNECT_TIMEOUT, banner_timeout=CONNECT_TIMEOUT,
            auth_timeout=CONNECT_TIMEOUT,
            # Only the credentials the action names: no agent, and ~/.ssh keys
            # only when nothing else is given (paramiko's default then).
            allow_agent=False, look_for_keys=pkey is None and not password)
    except BaseException:
        client.close()
        if own_sock:
            sock.close()
        raise
    return client


def execute(client: paramiko.SSHClient, cmd: str) -> tuple[int, str, str]:
    """Run ``cmd``; return (exit status, stdout, stderr). Reads both streams
    as they come, so a chatty stderr cannot stall the command."""
    chan = client.get_transport().open_session(timeout=CONNECT_TIMEOUT)
    try:
        chan.exec_command(cmd)
        chan.shutdown_write()           # no input: the command sees EOF on stdin
        out, err = bytearray(), bytearray()
        while not (chan.eof_received or chan.closed):
            moved = False
            if chan.recv_ready():
                out += chan.recv(_CHUNK)
                moved = True
            if chan.recv_stderr_ready():
                err += chan.recv_stderr(_CHUNK)
                moved = True
            if not moved:
                select.select([chan], [], [], 0.5)
        while chan.recv_ready():
            out += chan.recv(_CHUNK)
        while chan.recv_stderr_ready():
            err += chan.recv_stderr(_CHUNK)
        code = chan.recv_exit_status()
    finally:
        chan.close()
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class SSHAction(actions.Action):
    """Runs Secure Shell (SSH) command on provided single or multiple hosts.

    ``host`` is a host or a list of hosts (``host`` or ``host:port``). The
    result is the command's standard output; with several hosts, the list of
    outputs in the order of the hosts. A non-zero exit status is an error.
    With ``return_result_on_error: true`` each host's result is instead
    ``{"stdout": ..., "stderr": ..., "exit_code": ...}``, and a non-zero exit
    status is returned rather than failing the action (a host that cannot be
    reached still fails it).
    """

    def __init__(self, cmd, host, username, password="", private_key_filename=None,
                 private_key=None, return_result_on_error=False):
        self.return_result_on_error = bool(return_result_on_error)
        self.cmd = cmd
        self.host = host
        self.username = username
        self.password = password
        self.private_key_filename = private_key_filename
        self.private_key = private_key

    def _open(self, host: Any, pkey: paramiko.PKey | None) -> list[paramiko.SSHClient]:
        """Clients opened for ``host``; the last one runs the command."""
        return [connect(host, self.username, self.password, pkey)]

    def run(self, context):
        hosts = list(self.host) if isinstance(self.host, (list, tuple)) else [self.host]
        if not hosts:
            raise ActionException("No host given to run the ssh cmd on")
        try:
            pkey = load_private_key(self.private_key_filename, self.private_key, self.password)
        except ActionException as e:
            raise ActionException(f"Failed to execute ssh cmd '{self.cmd}' on {self.host}: {e}")
        results = []
        for host in hosts:
            results.append(self._run_on(host, pkey))
        return results if len(results) > 1 else results[0]

    def _run_on(self, host: Any, pkey: paramiko.PKey | None) -> Any:
        prefix = f"Failed to execute ssh cmd '{self.cmd}' on {host}"
        clients: list[paramiko.SSHClient] = []
        try:
            clients = self._open(host, pkey)
            code, out, err = execute(clients[-1], str(self.cmd))
        except ActionException as e:
            raise ActionException(f"{prefix}: {e}")
        except Exception as e:
            log.info("ssh cmd failed on %s: %s", host, e, exc_info=True)
            raise ActionException(f"{prefix}: {type(e).__name__}: {e}")
        finally:
            for c in reversed(clients):
                c.close()
        if self.return_result_on_error:
            return {"stdout": out, "stderr": err, "exit_code": code}
        if code != 0:
            raise ActionException(f"{prefix}: exit code {code}, stderr: {err.strip()}")
        return out


class SSHProxiedAction(SSHAction):
    """Runs Secure Shell (SSH) command on provided hosts through a gateway.

    Levante logs in to ``gateway_host`` (as ``gateway_username``, by default
    ``username``; with the same key or password), opens a TCP channel from the
    gateway to each host and runs the command there. ``proxy_command`` (for
    example ``nc proxy 22``) connects to the gateway itself.
    """

    def __init__(self, cmd, host, username, private_key_filename, gateway_host,
                 gateway_username=None, password=None, proxy_command=None, private_key=None):
        super().__init__(cmd, host, username, password, private_key_filename, private_key)
        self.gateway_host = gateway_host
        self.gateway_username = gateway_username
        self.proxy_command = proxy_command

    def _open(self, host: Any, pkey: paramiko.PKey | None) -> list[paramiko.SSHClient]:
        if self.proxy_command and not get_settings().ssh_allow_proxy_command:
            raise ActionException(
                "proxy_command is refused: it would run a shell command on the Levante server "
                "(setting ssh_allow_proxy_command, environment variable "
                "LEVANTE_SSH_ALLOW_PROXY_COMMAND, is false)")
        hostname, port = split_host(host)
        try:
            egress.check_host(hostname, port, f"Refused to connect to ssh host {host} "
                                              f"through gateway {self.gateway_host}")
        except egress.EgressRefused as e:
            raise ActionException(str(e)) from None
        sock = paramiko.ProxyCommand(self.proxy_command) if self.proxy_command else None
        gateway = connect(self.gateway_host, self.gateway_username or self.username,
                          self.password, pkey, sock=sock)
        try:
            tunnel = gateway.get_transport().open_channel(
                "direct-tcpip", (hostname, port), ("127.0.0.1", 0), timeout=CONNECT_TIMEOUT)
            target = connect(host, self.username, self.password, pkey, sock=tunnel)
        except Exception as e:
            gateway.close()
            if isinstance(e, paramiko.ChannelException):
                raise ActionException(f"gateway {self.gateway_host} cannot reach {host}: {e.text}")
            raise
        return [gateway, target]
