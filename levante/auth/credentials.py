"""The credential file shared by ``levante server`` and the ``levante`` CLI.

In mode ``token`` the server, on its first start, creates an admin token and
writes it to a file that only the OS user can read, keyed by the server's
URL; the CLI of the same user finds it there, so the quick start needs no
extra step. The file is ``$LEVANTE_CREDENTIALS``, else
``$XDG_CONFIG_HOME/levante/credentials.json`` (``~/.config/...``)::

    {"http://127.0.0.1:8989/v2": {"token": "lvt_...", "project_id": "..."}}
"""
from __future__ import annotations

import json
import os
from pathlib import Path

PATH_ENV = "LEVANTE_CREDENTIALS"


def path() -> Path:
    explicit = os.environ.get(PATH_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "levante" / "credentials.json"


def url_key(url: str) -> str:
    """One spelling per server: no trailing slash, ``localhost`` as 127.0.0.1, with /v2."""
    url = url.strip().rstrip("/").lower().replace("://localhost", "://127.0.0.1")
    return url if url.endswith("/v2") else url + "/v2"


def _read(p: Path) -> dict:
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load(url: str) -> dict | None:
    """The credential stored for the server at ``url``, if any."""
    entry = _read(path()).get(url_key(url))
    return entry if isinstance(entry, dict) and entry.get("token") else None


def save(url: str, entry: dict) -> Path:
    """Store ``entry`` for ``url``; the file and its directory are private to the user."""
    p = path()
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = _read(p)
    data[url_key(url)] = entry
    tmp = p.with_name(p.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, p)
    return p
