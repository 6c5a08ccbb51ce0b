"""A real OpenSSH server for the SSH action tests.

``SSHD`` starts the system's ``sshd`` on 127.0.0.1 and a free port, with its
own configuration, host key, authorized keys and log in a temporary
directory. It logs in a local account of its own, created with ``useradd``
(a random name and password, its home in the temporary directory) and
removed at ``stop()``, so test sessions running side by side never share an
account. It needs root and OpenSSH's server (``.ci/run`` installs it on
Debian when it is missing).

Run as a script (``python sshd.py pipe HOST PORT``) it is a tiny
``ProxyCommand``: it joins its stdin/stdout to a TCP connection.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

USER_PREFIX = "lvssh-"
SSHD_PATHS = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")


def sshd_binary() -> str | None:
    for path in SSHD_PATHS:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("sshd")
    return os.path.abspath(found) if found else None


def unavailable_reason() -> str | None:
    """Why a test sshd cannot run here, or None."""
    if os.name != "posix" or os.geteuid() != 0:
        return "the test sshd needs root (it logs in a dedicated local account)"
    if not sshd_binary():
        return "OpenSSH server (sshd) is not installed"
    for tool in ("ssh-keygen", "useradd", "userdel", "chpasswd"):
        if not shutil.which(tool):
            return f"{tool} is missing"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path, kind: str, passphrase: str = "", fmt: str | None = None) -> None:
    cmd = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", f"levante-test-{kind}",
           "-f", str(path)]
    if kind == "rsa":
        cmd[4:4] = ["-b", "2048"]
    if fmt:
        cmd += ["-m", fmt]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)




class SSHD:
    """One sshd process. ``host`` is ``127.0.0.1:PORT``."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="levante-sshd-"))
        # sshd reads the authorized keys as the logged-in user.
        self.dir.chmod(0o755)
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.user = USER_PREFIX + secrets.token_hex(5)
        self.home = self.dir / "home"
        self._user_created = False
        self.password = "pw-" + secrets.token_hex(8)
        self.config = self.dir / "sshd_config"
        self.log = self.dir / "sshd.log"
        self.proc: subprocess.Popen | None = None
        # Client keys: RSA in PEM (what Mistral reads), Ed25519 in OpenSSH's
        # format, and an Ed25519 key protected by a passphrase.
        self.rsa_key = self.dir / "id_rsa"
        self.ed25519_key = self.dir / "id_ed25519"
        self.locked_key = self.dir / "id_locked"
        self.passphrase = "pp-" + secrets.token_hex(6)
        self.stranger_key = self.dir / "id_stranger"     # not authorized

    def start(self, timeout: float = 20.0) -> "SSHD":
        subprocess.run(["useradd", "--create-home", "--home-dir", str(self.home),
                        "--shell", "/bin/sh", "--user-group", self.user], check=True)
        self._user_created = True
        subprocess.run(["chpasswd"], input=f"{self.user}:{self.password}\n", text=True, check=True)
        # Privilege separation directory; the service normally creates it.
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        _keygen(self.dir / "host_ed25519", "ed25519")
        _keygen(self.rsa_key, "rsa", fmt="PEM")
        _keygen(self.ed25519_key, "ed25519")
        _keygen(self.locked_key, "ed25519", passphrase=self.passphrase)
        _keygen(self.stranger_key, "ed25519")
        authorized = self.dir / "authorized_keys"
        authorized.write_text("".join(
            Path(f"{k}.pub").read_text() for k in (self.rsa_key, self.ed25519_key, self.locked_key)))
        authorized.chmod(0o644)
        self.config.write_text("\n".join([
            "ListenAddress 127.0.0.1",
            f"Port {self.port}",
            f"HostKey {self.dir / 'host_ed25519'}",
            f"PidFile {self.dir / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}",
            "UsePAM no",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitEmptyPasswords no",
            "PermitRootLogin no",
            f"AllowUsers {self.user}",
            "StrictModes no",
            "AllowTcpForwarding yes",
            "MaxStartups 100",
            "MaxSessions 50",
            # DEBUG1 logs each direct-tcpip channel: the proxied test reads it.
            "LogLevel DEBUG1",
            "",
        ]))
        check = subprocess.run([sshd_binary(), "-t", "-f", str(self.config)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"sshd refuses the test configuration: {check.stderr}")
        self.proc = subprocess.Popen([sshd_binary(), "-D", "-f", str(self.config), "-E", str(self.log)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited ({self.proc.returncode}): {self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"sshd did not start: {self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def key_text(self, path: Path) -> str:
        return path.read_text()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._user_created:
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                pass
            else:
                subprocess.run(["userdel", "--force", "--remove", self.user],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._user_created = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def proxy_command(self) -> str:
        """A ``ProxyCommand`` that reaches this sshd through a local pipe."""
        return shlex.join([sys.executable, str(Path(__file__).resolve()), "pipe", "127.0.0.1", str(self.port)])


def _pipe(host: str, port: int) -> None:
    sock = socket.create_connection((host, port))

    def upstream() -> None:
        stdin = sys.stdin.buffer.raw
        while True:
            data = stdin.read(65536)
            if not data:
                break
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    threading.Thread(target=upstream, daemon=True).start()
    stdout = sys.stdout.buffer
    while True:
        data = sock.recv(65536)
        if not data:
            break
        stdout.write(data)
        stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "pipe":
        _pipe(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: sshd.py pipe HOST PORT")
