"""Levante's own API tokens (mode ``token``).

A token is 32 random bytes shown once; only its SHA-256 is stored (a slow
hash adds nothing for secrets this long). Validated tokens are cached for
``auth_cache_ttl`` seconds, as keystonemiddleware caches Keystone tokens, so
a request costs a dictionary lookup; a revocation in this process takes
effect at once, in others within the TTL. A token may have an expiry
(``expires_at``); past it the token is refused with a 401 saying so (a
cached token never outlives its expiry).

Executions act as the project that started them: the executor hands a
``mistral.*`` action a short-lived *execution credential*, an HMAC over the
project signed with a secret kept in the database (so every process of a
deployment can check it).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid

import sqlalchemy as sa

from levante.errors import Unauthorized
from levante.store.auth import api_tokens as T
from levante.store.auth import auth_secrets
from levante.store.scope import Caller

TOKEN_PREFIX = "lvt_"
EXEC_PREFIX = "lvx_"
EXEC_TTL = 3600.0
EXPIRED = "The token has expired (at %s); ask an admin for a new one (levante token-create)."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, db, cache_ttl: float = 60.0):
        self.db = db
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()
        self._secret: bytes | None = None

    # ------------------------------------------------------------ API tokens

    def create(self, name: str, project_id: str, is_admin: bool = False,
               expires_in: float | None = None) -> tuple[dict, str]:
        """A new token (valid for ``expires_in`` seconds, or until revoked): its
        row (as a dict) and the secret, shown only now."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        row = dict(id=str(uuid.uuid4()), name=name, token_hash=_digest(token),
                   project_id=project_id, is_admin=bool(is_admin), created_at=now,
                   expires_at=None if expires_in is None else now + expires_in)
        with self.db.tx() as conn:
            conn.execute(T.insert().values(**row))
        row.pop("token_hash")
        return row, token

    def list(self) -> list[dict]:
        with self.db.read() as conn:
            rows = conn.execute(sa.select(T.c.id, T.c.name, T.c.project_id, T.c.is_admin,
                                          T.c.created_at, T.c.expires_at)
                                .order_by(T.c.created_at)).fetchall()
        return [dict(r._mapping) for r in rows]

    def revoke(self, identifier: str) -> int:
        """Delete the tokens with this id or name; how many there were."""
        with self.db.tx() as conn:
            n = conn.execute(T.delete().where(sa.or_(T.c.id == identifier, T.c.name == identifier))).rowcount
        with self._lock:
            self._cache.clear()
        return n

    def is_valid(self, token: str) -> bool:
        with self.db.read() as conn:
            row = conn.execute(sa.select(T.c.expires_at).where(T.c.token_hash == _digest(token))).first()
        return row is not None and (row.expires_at is None or row.expires_at > time.time())

    def cached(self, token: str) -> Caller | None:
        """The caller of a token validated lately, without touching the database."""
        if token.startswith(EXEC_PREFIX):
            return None
        hit = self._cache.get(_digest(token))
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def authenticate(self, token: str) -> Caller | None:
        """The caller a token stands for, or None when it is unknown; raises
        :class:`Unauthorized` saying so when it has expired."""
        if token.startswith(EXEC_PREFIX):
            return self._check_execution_credential(token)
        now = time.monotonic()
        key = _digest(token)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.db.read() as conn:
            row = conn.execute(sa.select(T.c.name, T.c.project_id, T.c.is_admin, T.c.expires_at)
                               .where(T.c.token_hash == key)).first()
        if row is None:
            return None
        ttl = self.cache_ttl
        if row.expires_at is not None:
            left = row.expires_at - time.time()
            if left <= 0:
                raise Unauthorized(EXPIRED % time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                           time.gmtime(row.expires_at)))
            ttl = min(ttl, left)
        caller = Caller(project_id=row.project_id, user_id=row.name, is_admin=bool(row.is_admin),
                        roles=("admin",) if row.is_admin else ("member",), authenticated=True,
                        auth_token=token)
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[key] = (now + ttl, caller)
        return caller

    # ------------------------------------------------------------ execution credentials

    def _signing_key(self) -> bytes:
        if self._secret is None:
            try:
                with self.db.tx() as conn:
                    value = conn.execute(sa.select(auth_secrets.c.value)
                                         .where(auth_secrets.c.name == "execution")).scalar()
                    if value is None:
                        value = secrets.token_hex(32)
                        conn.execute(auth_secrets.insert().values(name="execution", value=value))
            except sa.exc.IntegrityError:   # another process made it first: use that one
                with self.db.read() as conn:
                    value = conn.execute(sa.select(auth_secrets.c.value)
                                         .where(auth_secrets.c.name == "execution")).scalar()
            self._secret = bytes.fromhex(value)
        return self._secret

    def execution_credential(self, project_id: str, ttl: float = EXEC_TTL) -> str:
        """A short-lived token acting as a (non-admin) member of ``project_id``."""
        body = base64.urlsafe_b64encode(json.dumps(
            {"p": project_id, "e": round(time.time() + ttl)}).encode()).decode().rstrip("=")
        sig = hmac.new(self._signing_key(), body.encode(), hashlib.sha256).hexdigest()
        return f"{EXEC_PREFIX}{body}.{sig}"

    def _check_execution_credential(self, token: str) -> Caller | None:
        try:
            body, sig = token[len(EXEC_PREFIX):].rsplit(".", 1)
            want = hmac.new(self._signing_key(), body.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(sig, want):
                return None
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, TypeError):
            return None
        if not isinstance(data, dict) or data.get("e", 0) < time.time():
            return None
        return Caller(project_id=str(data["p"]), user_id="execution", roles=("member",),
                      authenticated=True, auth_token=token)
