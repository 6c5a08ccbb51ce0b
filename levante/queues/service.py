"""The queue service: post, list, claim, pop and delete messages; queues and stats.

Every operation is one database transaction. Consumers never get the same
message twice while a claim (or a pop) holds it: on SQLite the write lock
serializes them (``Database.tx`` starts with BEGIN IMMEDIATE); on PostgreSQL
they pick rows with ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent
consumers each take different messages without waiting on one another.

Queues are per project, as in Zaqar: a queue is keyed by (project, name),
so two projects each have their own queue ``approvals``. Every method takes
the ``project_id`` it acts for (None: ``<default-project>``, the only project
without authentication); :class:`ProjectQueues` binds one.

Expired messages are invisible to every read (the queries compare
``expires_at`` with now); their rows are deleted by :meth:`QueueService.purge_expired`,
which writes call at most once a minute.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from levante.errors import BadRequest, Forbidden, NotFound
from levante.store.db import Database
from levante.store.queues import queue_claims as C
from levante.store.queues import queue_messages as M
from levante.store.queues import queues as Q
from levante.store.scope import DEFAULT_PROJECT

log = logging.getLogger("levante.queues")

# Zaqar's defaults and bounds (limits are looser than Zaqar's 20 per page).
DEFAULT_MESSAGE_TTL = 3600
MAX_MESSAGE_TTL = 1209600           # 14 days
DEFAULT_CLAIM_TTL = 300
DEFAULT_CLAIM_GRACE = 60
MAX_CLAIM_TTL = 43200               # 12 hours
MAX_CLAIM_GRACE = 43200
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
MAX_MESSAGES_POST_SIZE = 262144     # bytes of message bodies in one post
PURGE_INTERVAL = 60.0

# Reserved queue metadata keys Levante honours, with their defaults.
RESERVED_METADATA = {"_default_message_ttl": DEFAULT_MESSAGE_TTL,
                     "_max_messages_post_size": MAX_MESSAGES_POST_SIZE}

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_NAME = 64


@dataclass
class Message:
    id: str
    queue: str
    body: Any
    ttl: int
    age: int
    created_at: float
    seq: int
    claim_id: str | None = None       # set only while a live claim holds the message
    claim_count: int = 0


@dataclass
class Claim:
    id: str
    queue: str
    ttl: int
    grace: int
    age: int
    messages: list[Message]


def new_id() -> str:
    """24 hex digits, time first (like Zaqar's ids): roughly sortable, never guessable."""
    return "%08x%s" % (int(time.time()) & 0xFFFFFFFF, secrets.token_hex(8))


# ---------------------------------------------------------------- validation

def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise BadRequest("Queue name must be a non-empty string.")
    if len(name) > MAX_NAME:
        raise BadRequest(f"Queue names may not be more than {MAX_NAME} characters long: {name[:80]!r}")
    if not NAME_RE.match(name):
        raise BadRequest(f"Queue names may only contain ASCII letters, digits, underscores and dashes: {name!r}")
    return name


def check_int(value: Any, what: str, low: int, high: int, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise BadRequest(f"Missing value for {what}.")
        return default
    if isinstance(value, bool):
        raise BadRequest(f"{what} must be an integer, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise BadRequest(f"{what} must be an integer, got {value!r}") from None
    if not isinstance(value, int):
        raise BadRequest(f"{what} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise BadRequest(f"{what} must be between {low} and {high}, got {value}")
    return value


def check_messages(messages: Any) -> list[dict]:
    """One message or a list of them, each ``{"body": ..., "ttl": ...}``."""
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list) or not messages:
        raise BadRequest("Messages must be a message object or a non-empty list of them "
                         "({\"body\": ..., \"ttl\": seconds}).")
    if len(messages) > MAX_LIMIT:
        raise BadRequest(f"No more than {MAX_LIMIT} messages may be posted at once, got {len(messages)}")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise BadRequest(f"Message {i} must be an object with a 'body', got {type(m).__name__}")
        if "body" not in m:
            raise BadRequest(f"Message {i} has no 'body': {json.dumps(m, default=str)[:200]}")
    return messages


def _meta(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _project(project_id: str | None) -> str:
    return project_id or DEFAULT_PROJECT


def _unclaimed(now: float):
    return sa.or_(M.c.claim_expires_at.is_(None), M.c.claim_expires_at <= now)


# ---------------------------------------------------------------- service

class QueueService:
    """The queues of one database. Thread-safe; holds no state besides a purge timer."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time,
                 purge_interval: float = PURGE_INTERVAL):
        self.db = db
        self.clock = clock
        self.purge_interval = purge_interval
        self._skip_locked = not db.is_sqlite
        self._last_purge = 0.0
        self._purge_lock = threading.Lock()
        # Called as ``listener(conn, project_id, queue_name, messages)`` inside the transaction
        # that posts messages (event triggers on exchange "queues" use it).
        self._post_listeners: list[Callable] = []

    def on_post(self, listener: Callable) -> None:
        """Call ``listener`` for every post to this service's queues, in its transaction."""
        if listener not in self._post_listeners:
            self._post_listeners.append(listener)

    def for_project(self, project_id: str | None):
        """The service as ``project_id`` sees it (itself for None: no authentication)."""
        return ProjectQueues(self, project_id) if project_id else self

    # ------------------------------------------------------------ queues

    def create_queue(self, name: str, metadata: dict | None = None, project_id: str | None = None) -> bool:
        """Create a queue (owned by ``project_id``); False if it already existed
        (then its metadata stays as it was)."""
        check_name(name)
        if metadata is not None and not isinstance(metadata, dict):
            raise BadRequest("Queue metadata must be a JSON object.")
        now = self.clock()
        with self.db.tx() as conn:
            return self._ensure(conn, name, now, metadata, project_id) is None

    def delete_queue(self, name: str, project_id: str | None = None) -> None:
        """Delete a queue with its messages and claims; a missing queue is no error."""
        check_name(name)
        p = _project(project_id)
        with self.db.tx() as conn:
            conn.execute(M.delete().where(M.c.project_id == p, M.c.queue_name == name))
            conn.execute(C.delete().where(C.c.project_id == p, C.c.queue_name == name))
            conn.execute(Q.delete().where(Q.c.project_id == p, Q.c.name == name))

    def queue_exists(self, name: str, project_id: str | None = None) -> bool:
        check_name(name)
        with self.db.read() as conn:
            return conn.execute(sa.select(Q.c.name).where(*_queue(name, project_id))).first() is not None

    def list_queues(self, marker: str | None = None, limit: int | None = None,
                    detailed: bool = False, project_id: str | None = None) -> tuple[list[dict], str | None]:
        """The project's queues by name after ``marker``; returns
        (queues, marker of the next page or None)."""
        limit = check_int(limit, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
        q = (sa.select(Q.c.name, Q.c.meta, Q.c.created_at).where(Q.c.project_id == _project(project_id))
             .order_by(Q.c.name).limit(limit))
        if marker:
            q = q.where(Q.c.name > marker)
        with self.db.read() as conn:
            rows = conn.execute(q).fetchall()
        items = []
        for r in rows:
            item: dict = {"name": r.name}
            if detailed:
                item["metadata"] = _meta(r.meta)
            items.append(item)
        return items, (rows[-1].name if len(rows) == limit else None)

    def count_queues(self, project_id: str | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(Q).where(Q.c.project_id == _project(project_id))
        with self.db.read() as conn:
            return conn.execute(q).scalar_one()

    def get_metadata(self, name: str, project_id: str | None = None) -> dict:
        """The queue's metadata, with the reserved keys' defaults filled in."""
        check_name(name)
        with self.db.read() as conn:
            row = conn.execute(sa.select(Q.c.meta).where(*_queue(name, project_id))).first()
        if row is None:
            raise NotFound(f"Queue {name} does not exist.")
        return dict(RESERVED_METADATA, **_meta(row.meta))

    def set_metadata(self, name: str, metadata: dict, project_id: str | None = None) -> dict:
        """Replace the queue's metadata (creating the queue if needed)."""
        check_name(name)
        if not isinstance(metadata, dict):
            raise BadRequest("Queue metadata must be a JSON object.")
        _check_reserved(metadata)
        now = self.clock()
        with self.db.tx() as conn:
            if self._ensure(conn, name, now, metadata, project_id) is not None:
                conn.execute(Q.update().where(*_queue(name, project_id))
                             .values(meta=json.dumps(metadata), updated_at=now))
        return dict(RESERVED_METADATA, **metadata)

    def patch_metadata(self, name: str, ops: list, project_id: str | None = None) -> dict:
        """Apply JSON-patch operations (add/replace/remove on ``/metadata/<key>``)."""
        check_name(name)
        if not isinstance(ops, list):
            raise BadRequest("A queue update must be a list of JSON-patch operations.")
        now = self.clock()
        with self.db.tx() as conn:
            row = conn.execute(sa.select(Q.c.meta).where(*_queue(name, project_id))).first()
            if row is None:
                raise NotFound(f"Queue {name} does not exist.")
            meta = _meta(row.meta)
            for op in ops:
                if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove"):
                    raise BadRequest(f"Invalid operation {op!r}: 'op' must be add, replace or remove.")
                path = str(op.get("path", ""))
                parts = [p for p in path.split("/") if p]
                if len(parts) != 2 or parts[0] != "metadata":
                    raise BadRequest(f"Invalid path {path!r}: expected /metadata/<key>.")
                key = parts[1]
                # Lenient where JSON patch is strict: zaqarclient removes every key
                # it did not get back, the reserved keys' defaults included.
                if op["op"] == "remove":
                    meta.pop(key, None)
                else:
                    if "value" not in op:
                        raise BadRequest(f"Operation {op['op']} on {path} needs a 'value'.")
                    meta[key] = op["value"]
            _check_reserved(meta)
            conn.execute(Q.update().where(*_queue(name, project_id)).values(meta=json.dumps(meta),
                                                                             updated_at=now))
        return dict(RESERVED_METADATA, **meta)

    def stats(self, name: str, project_id: str | None = None) -> dict:
        """Zaqar's queue stats: free, claimed and total messages, oldest and newest."""
        check_name(name)
        now = self.clock()
        live = [*_messages_of(name, project_id), M.c.expires_at > now]
        with self.db.read() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(M).where(*live)).scalar_one()
            claimed = conn.execute(sa.select(sa.func.count()).select_from(M).where(
                *live, M.c.claim_expires_at > now)).scalar_one() if total else 0
            ends = {}
            if total:
                for key, order in (("oldest", M.c.seq.asc()), ("newest", M.c.seq.desc())):
                    r = conn.execute(sa.select(M.c.id, M.c.created_at).where(*live)
                                     .order_by(order).limit(1)).first()
                    if r is not None:
                        ends[key] = {"id": r.id, "age": int(now - r.created_at),
                                     "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.created_at))}
        return dict({"claimed": claimed, "free": total - claimed, "total": total}, **ends)

    # ------------------------------------------------------------ messages

    def post(self, queue: str, messages: Any, client_id: str | None = None,
             project_id: str | None = None) -> list[Message]:
        """Append messages (FIFO order is the order given); creates the queue if needed."""
        check_name(queue)
        items = check_messages(messages)
        now = self.clock()
        with self.db.tx() as conn:
            existing = self._ensure(conn, queue, now, project_id=project_id)
            meta = existing if existing is not None else {}
            default_ttl = check_int(meta.get("_default_message_ttl"), "_default_message_ttl",
                                    1, MAX_MESSAGE_TTL, DEFAULT_MESSAGE_TTL)
            max_size = check_int(meta.get("_max_messages_post_size"), "_max_messages_post_size",
                                 1, 2**31, MAX_MESSAGES_POST_SIZE)
            bodies, ttls = [], []
            for i, m in enumerate(items):
                try:
                    bodies.append(json.dumps(m["body"]))
                except (TypeError, ValueError) as e:
                    raise BadRequest(f"Message {i} has a body that is not JSON: {e}") from None
                ttls.append(check_int(m.get("ttl"), "Message TTL", 1, MAX_MESSAGE_TTL, default_ttl))
            size = sum(len(b.encode("utf-8")) for b in bodies)
            if size > max_size:
                raise BadRequest(f"Messages are too large: {size} bytes of bodies, at most {max_size} "
                                 "may be posted at once (queue metadata _max_messages_post_size).")
            # Taking the seq numbers locks the queue row: producers of one queue
            # commit one after another, so seq order is commit order.
            conn.execute(Q.update().where(*_queue(queue, project_id))
                         .values(counter=Q.c.counter + len(items)))
            last = conn.execute(sa.select(Q.c.counter).where(*_queue(queue, project_id))).scalar_one()
            first = last - len(items) + 1
            out, rows = [], []
            for i, (m, body, ttl) in enumerate(zip(items, bodies, ttls)):
                msg = Message(id=new_id(), queue=queue, body=m["body"], ttl=ttl, age=0,
                              created_at=now, seq=first + i)
                out.append(msg)
                rows.append(dict(id=msg.id, project_id=_project(project_id), queue_name=queue, seq=msg.seq, body=body, ttl=ttl,
                                 client_id=client_id, created_at=now, expires_at=now + ttl,
                                 claim_id=None, claim_expires_at=None, claim_count=0))
            conn.execute(M.insert(), rows)
            for listener in list(self._post_listeners):
                listener(conn, _project(project_id), queue, out)
        self._maybe_purge(now)
        return out

    def list_messages(self, queue: str, marker: Any = None, limit: Any = None, echo: bool = False,
                      include_claimed: bool = False, client_id: str | None = None,
                      project_id: str | None = None) -> tuple[list[Message], str | None]:
        """Messages in FIFO order after ``marker``; returns (messages, next page's marker or None).

        Like Zaqar: claimed messages only with ``include_claimed``; the messages
        ``client_id`` posted itself only with ``echo``.
        """
        check_name(queue)
        limit = check_int(limit, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
        after = check_int(marker, "marker", 0, 2**62, 0)
        now = self.clock()
        q = (sa.select(M).where(*_messages_of(queue, project_id), M.c.expires_at > now, M.c.seq > after)
             .order_by(M.c.seq).limit(limit))
        if not include_claimed:
            q = q.where(_unclaimed(now))
        if client_id and not echo:
            q = q.where(sa.or_(M.c.client_id.is_(None), M.c.client_id != client_id))
        with self.db.read() as conn:
            rows = conn.execute(q).fetchall()
        msgs = [self._message(r, now) for r in rows]
        return msgs, (str(rows[-1].seq) if len(rows) == limit else None)

    def get_message(self, queue: str, message_id: str, project_id: str | None = None) -> Message:
        found = self.get_messages(queue, [message_id], project_id=project_id)
        if not found:
            raise NotFound(f"Message {message_id} does not exist in queue {queue}.")
        return found[0]

    def get_messages(self, queue: str, ids: Iterable[str], project_id: str | None = None) -> list[Message]:
        """The live messages among ``ids`` (missing or expired ones are left out)."""
        check_name(queue)
        ids = _check_ids(ids)
        now = self.clock()
        with self.db.read() as conn:
            rows = conn.execute(sa.select(M).where(*_messages_of(queue, project_id), M.c.id.in_(ids),
                                                   M.c.expires_at > now).order_by(M.c.seq)).fetchall()
        return [self._message(r, now) for r in rows]

    def delete_message(self, queue: str, message_id: str, claim_id: str | None = None,
                       project_id: str | None = None) -> None:
        """Delete one message. A claimed message needs its claim's id; a missing one is no error."""
        check_name(queue)
        now = self.clock()
        with self.db.tx() as conn:
            row = conn.execute(sa.select(M.c.claim_id, M.c.claim_expires_at, M.c.expires_at)
                               .where(*_messages_of(queue, project_id), M.c.id == message_id)).first()
            if row is None or row.expires_at <= now:
                return
            live = bool(row.claim_id) and (row.claim_expires_at or 0) > now
            if claim_id:
                if not live:
                    raise Forbidden(f"Message {message_id} is not claimed (the claim may have expired): "
                                    "it was not deleted.")
                if row.claim_id != claim_id:
                    raise Forbidden(f"Message {message_id} is claimed by another claim: it was not deleted.")
            elif live:
                raise Forbidden(f"Message {message_id} is claimed: deleting it needs the claim's id "
                                "(claim_id).")
            conn.execute(M.delete().where(M.c.id == message_id))

    def delete_messages(self, queue: str, ids: Iterable[str],
                        claim_ids: Iterable[str] | None = None, project_id: str | None = None) -> list[str]:
        """Delete messages by id (only those held by ``claim_ids`` when given); returns the ids deleted."""
        check_name(queue)
        ids = _check_ids(ids)
        claim_ids = [c for c in (claim_ids or []) if c]
        where = [*_messages_of(queue, project_id), M.c.id.in_(ids)]
        if claim_ids:
            where.append(M.c.claim_id.in_(claim_ids))
        with self.db.tx() as conn:
            found = [r.id for r in conn.execute(sa.select(M.c.id).where(*where))]
            if found:
                conn.execute(M.delete().where(M.c.id.in_(found)))
        gone = set(found)
        return [i for i in ids if i in gone]

    def pop(self, queue: str, count: Any = 1, project_id: str | None = None) -> list[Message]:
        """Take up to ``count`` unclaimed messages off the head of the queue (claim + delete, atomically)."""
        check_name(queue)
        count = check_int(count, "count", 1, MAX_LIMIT, 1)
        now = self.clock()
        with self.db.tx() as conn:
            rows = self._take(conn, queue, count, now, project_id)
            if rows:
                conn.execute(M.delete().where(M.c.id.in_([r.id for r in rows])))
        self._maybe_purge(now)
        return [self._message(r, now) for r in rows]

    # ------------------------------------------------------------ claims

    def claim(self, queue: str, ttl: Any = None, grace: Any = None, limit: Any = None,
              project_id: str | None = None) -> Claim | None:
        """Claim up to ``limit`` unclaimed messages for ``ttl`` seconds; None when there are none.

        Claimed messages are hidden from other consumers until the claim expires
        or is released, and live at least ``ttl + grace`` seconds from now.
        """
        check_name(queue)
        ttl = check_int(ttl, "Claim TTL", 1, MAX_CLAIM_TTL, DEFAULT_CLAIM_TTL)
        grace = check_int(grace, "Claim grace", 0, MAX_CLAIM_GRACE, DEFAULT_CLAIM_GRACE)
        limit = check_int(limit, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
        now = self.clock()
        with self.db.tx() as conn:
            rows = self._take(conn, queue, limit, now, project_id)
            if not rows:
                return None
            claim_id = new_id()
            conn.execute(C.insert().values(id=claim_id, project_id=_project(project_id), queue_name=queue,
                                           ttl=ttl, grace=grace,
                                           created_at=now, expires_at=now + ttl))
            ids = [r.id for r in rows]
            conn.execute(M.update().where(M.c.id.in_(ids)).values(
                claim_id=claim_id, claim_expires_at=now + ttl, claim_count=M.c.claim_count + 1,
                expires_at=_at_least(M.c.expires_at, now + ttl + grace)))
            rows = conn.execute(sa.select(M).where(M.c.id.in_(ids)).order_by(M.c.seq)).fetchall()
        self._maybe_purge(now)
        return Claim(id=claim_id, queue=queue, ttl=ttl, grace=grace, age=0,
                     messages=[self._message(r, now) for r in rows])

    def get_claim(self, queue: str, claim_id: str, project_id: str | None = None) -> Claim:
        check_name(queue)
        now = self.clock()
        with self.db.read() as conn:
            c = self._live_claim(conn, queue, claim_id, now, project_id)
            rows = conn.execute(sa.select(M).where(M.c.claim_id == claim_id, M.c.expires_at > now)
                                .order_by(M.c.seq)).fetchall()
        return Claim(id=c.id, queue=queue, ttl=c.ttl, grace=c.grace, age=int(now - c.created_at),
                     messages=[self._message(r, now) for r in rows])

    def update_claim(self, queue: str, claim_id: str, ttl: Any = None, grace: Any = None,
                     project_id: str | None = None) -> None:
        """Renew a live claim: it now ends ``ttl`` seconds from now."""
        check_name(queue)
        now = self.clock()
        with self.db.tx() as conn:
            c = self._live_claim(conn, queue, claim_id, now, project_id)
            ttl = check_int(ttl, "Claim TTL", 1, MAX_CLAIM_TTL, c.ttl)
            grace = check_int(grace, "Claim grace", 0, MAX_CLAIM_GRACE, c.grace)
            conn.execute(C.update().where(C.c.id == claim_id).values(ttl=ttl, grace=grace,
                                                                     expires_at=now + ttl))
            conn.execute(M.update().where(M.c.claim_id == claim_id, M.c.expires_at > now).values(
                claim_expires_at=now + ttl, expires_at=_at_least(M.c.expires_at, now + ttl + grace)))

    def release_claim(self, queue: str, claim_id: str, project_id: str | None = None) -> None:
        """Give the claim's messages back to other consumers; a missing claim is no error."""
        check_name(queue)
        p = _project(project_id)
        with self.db.tx() as conn:
            conn.execute(M.update().where(*_messages_of(queue, p), M.c.claim_id == claim_id)
                         .values(claim_id=None, claim_expires_at=None))
            conn.execute(C.delete().where(C.c.project_id == p, C.c.queue_name == queue, C.c.id == claim_id))

    # ------------------------------------------------------------ housekeeping

    def purge_expired(self, now: float | None = None) -> int:
        """Delete expired messages and claims; returns how many messages went."""
        now = self.clock() if now is None else now
        with self.db.tx() as conn:
            n = conn.execute(M.delete().where(M.c.expires_at <= now)).rowcount
            conn.execute(C.delete().where(C.c.expires_at <= now))
        if n:
            log.info("role=queues purged %d expired message(s)", n)
        return n

    def _maybe_purge(self, now: float) -> None:
        if now - self._last_purge < self.purge_interval or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._last_purge = now
            self.purge_expired(now)
        except Exception:   # best effort: reads ignore expired rows anyway
            log.exception("role=queues purge of expired messages failed")
        finally:
            self._purge_lock.release()

    # ------------------------------------------------------------ helpers

    def _ensure(self, conn: sa.Connection, name: str, now: float, metadata: dict | None = None,
                project_id: str | None = None) -> dict | None:
        """Create the queue if missing. Returns the existing queue's metadata, or None if created."""
        row = conn.execute(sa.select(Q.c.meta).where(*_queue(name, project_id))).first()
        if row is not None:
            return _meta(row.meta)
        if metadata:
            _check_reserved(metadata)
        try:
            with conn.begin_nested():
                conn.execute(Q.insert().values(name=name, meta=json.dumps(metadata or {}), counter=0,
                                               project_id=_project(project_id),
                                               created_at=now, updated_at=None))
        except IntegrityError:  # another process created it a moment ago (PostgreSQL)
            row = conn.execute(sa.select(Q.c.meta).where(*_queue(name, project_id))).first()
            return _meta(row.meta) if row is not None else {}
        return None

    def _take(self, conn: sa.Connection, queue: str, limit: int, now: float,
              project_id: str | None = None) -> list:
        """Lock and return the oldest unclaimed live messages (skipping rows others hold)."""
        q = (sa.select(M).where(*_messages_of(queue, project_id), M.c.expires_at > now, _unclaimed(now))
             .order_by(M.c.seq).limit(limit))
        if self._skip_locked:
            q = q.with_for_update(skip_locked=True)
        return conn.execute(q).fetchall()

    def _live_claim(self, conn: sa.Connection, queue: str, claim_id: str, now: float,
                    project_id: str | None = None):
        c = conn.execute(sa.select(C).where(C.c.project_id == _project(project_id), C.c.queue_name == queue,
                                            C.c.id == claim_id)).first()
        if c is None or c.expires_at <= now:
            raise NotFound(f"Claim {claim_id} does not exist in queue {queue} (or it has expired).")
        return c

    @staticmethod
    def _message(r: Any, now: float) -> Message:
        live = bool(r.claim_id) and (r.claim_expires_at or 0) > now
        return Message(id=r.id, queue=r.queue_name, body=json.loads(r.body), ttl=r.ttl,
                       age=max(0, int(now - r.created_at)), created_at=r.created_at, seq=r.seq,
                       claim_id=r.claim_id if live else None, claim_count=r.claim_count)


def _queue(name: str, project_id: str | None) -> tuple:
    """Where-clauses of one queue's row."""
    return Q.c.project_id == _project(project_id), Q.c.name == name


def _messages_of(name: str, project_id: str | None) -> tuple:
    """Where-clauses of one queue's messages."""
    return M.c.project_id == _project(project_id), M.c.queue_name == name


def _at_least(col, floor: float):
    return sa.case((col < floor, floor), else_=col)


def _check_ids(ids: Any) -> list[str]:
    if isinstance(ids, str):
        ids = [i for i in ids.split(",") if i]
    ids = list(ids or [])
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise BadRequest("Message ids must be a non-empty list of strings.")
    if len(ids) > MAX_LIMIT:
        raise BadRequest(f"No more than {MAX_LIMIT} message ids at once, got {len(ids)}")
    return ids


def _check_reserved(meta: dict) -> None:
    if "_default_message_ttl" in meta:
        check_int(meta["_default_message_ttl"], "_default_message_ttl", 1, MAX_MESSAGE_TTL)
    if "_max_messages_post_size" in meta:
        check_int(meta["_max_messages_post_size"], "_max_messages_post_size", 1, 2**31)


class ProjectQueues:
    """The queue service as one project sees it (the API's caller, or the
    project of the execution running a zaqar.* action): every call addresses
    that project's queues. With ``project_id`` None (no authentication) it is
    ``<default-project>``'s, the only project there is."""

    def __init__(self, service: QueueService, project_id: str | None):
        self.service = service
        self.project_id = project_id

    def __getattr__(self, op: str):
        fn = getattr(self.service, op)
        if op.startswith("_") or not callable(fn) or op == "purge_expired":
            return fn
        return lambda *a, **kw: fn(*a, project_id=self.project_id, **kw)
