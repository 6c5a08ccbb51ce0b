"""Run the real ``mistral`` CLI (python-mistralclient, no keystone) or the
``levante`` CLI as subprocesses against a test server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MISTRAL_BIN = Path(sys.executable).parent / "mistral"


def no_auth_env() -> dict:
    """The environment without any keystone setting (they would turn auth on)."""
    drop = ("OS_", "MISTRAL_AUTH_TYPE", "OPENID_", "KEYCLOAK_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


class Cli:
    def __init__(self, kind: str, url: str, cwd: Path):
        assert kind in ("mistral", "levante")
        self.kind = kind
        self.cwd = cwd
        if kind == "levante":
            self.base = [sys.executable, "-m", "levante", "--url", url]
        else:
            assert MISTRAL_BIN.exists(), f"python-mistralclient's CLI is missing: {MISTRAL_BIN}"
            self.base = [str(MISTRAL_BIN), "--os-mistral-url", url]
        self.env = no_auth_env()

    def run(self, *args: str, ok: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.base + list(args), cwd=self.cwd, env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=60)
        if ok:
            assert proc.returncode == 0, f"{self.kind} {' '.join(args)} failed:\n{proc.stderr}"
        return proc

    def fails(self, *args: str) -> str:
        """Run a command that must fail; return its stderr."""
        proc = self.run(*args, ok=False)
        assert proc.returncode != 0, f"{self.kind} {' '.join(args)} should fail:\n{proc.stdout}"
        return proc.stderr

    def out(self, *args: str) -> str:
        return self.run(*args).stdout

    def json(self, *args: str):
        return json.loads(self.out(*args, "-f", "json"))
