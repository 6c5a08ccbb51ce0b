"""The queue service against a real database (SQLite; PostgreSQL when
make test's PostgreSQL): FIFO, TTL, claims, pop,
concurrent consumers."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from levante.queues.service import QueueService
from levante.errors import BadRequest, Forbidden, NotFound
from levante.store.db import Database
from levante.store.queues import queue_claims, queue_messages, queues



class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'q.sqlite'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def svc(db, clock):
    return QueueService(db, clock=clock)


def bodies(msgs):
    return [m.body for m in msgs]


# ---------------------------------------------------------------- schema

def test_upgrade_creates_the_queue_tables(db):
    names = set(sa.inspect(db.engine).get_table_names())
    assert {"queues", "queue_messages", "queue_claims"} <= names
    with db.read() as conn:
        heads = {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    from alembic.script import ScriptDirectory

    from levante.store.db import alembic_config
    assert heads == set(ScriptDirectory.from_config(alembic_config()).get_heads())   # the one head


# ---------------------------------------------------------------- post / list / FIFO

def test_post_one_or_many_and_read_back_in_fifo_order(svc):
    one = svc.post("q", {"body": {"n": 0}})
    many = svc.post("q", [{"body": {"n": i}} for i in range(1, 6)])
    assert len(one) == 1 and len(many) == 5
    assert len({m.id for m in one + many}) == 6
    msgs, nxt = svc.list_messages("q", limit=100)
    assert bodies(msgs) == [{"n": i} for i in range(6)]
    assert nxt is None
    assert [m.ttl for m in msgs] == [3600] * 6
    assert bodies(svc.pop("q", 2)) == [{"n": 0}, {"n": 1}]
    assert bodies(svc.pop("q", 10)) == [{"n": i} for i in range(2, 6)]
    assert svc.pop("q") == []


def test_post_creates_the_queue_and_any_json_body_round_trips(svc):
    assert not svc.queue_exists("fresh")
    values = ["text", 42, 1.5, None, True, [1, "a"], {"nested": {"x": [1, 2]}}]
    svc.post("fresh", [{"body": v} for v in values])
    assert svc.queue_exists("fresh")
    assert bodies(svc.list_messages("fresh", limit=50)[0]) == values


def test_listing_pages_with_marker(svc):
    svc.post("q", [{"body": i} for i in range(7)])
    seen, marker = [], None
    while True:
        msgs, marker = svc.list_messages("q", marker=marker, limit=3)
        seen += bodies(msgs)
        if marker is None:
            break
    assert seen == list(range(7))


def test_fifo_holds_across_many_posts(svc):
    for i in range(30):
        svc.post("q", {"body": i})
    assert bodies(svc.pop("q", 30)) == list(range(30))


def test_echo_hides_a_clients_own_messages_unless_asked(svc):
    svc.post("q", {"body": "mine"}, client_id="c1")
    svc.post("q", {"body": "theirs"}, client_id="c2")
    svc.post("q", {"body": "anonymous"})
    assert bodies(svc.list_messages("q", client_id="c1")[0]) == ["theirs", "anonymous"]
    assert bodies(svc.list_messages("q", client_id="c1", echo=True)[0]) == ["mine", "theirs", "anonymous"]
    assert bodies(svc.list_messages("q")[0]) == ["mine", "theirs", "anonymous"]


def test_get_message_and_messages_by_id(svc):
    a, b = svc.post("q", [{"body": "a"}, {"body": "b"}])
    assert svc.get_message("q", b.id).body == "b"
    assert bodies(svc.get_messages("q", [b.id, "nope", a.id])) == ["a", "b"]
    with pytest.raises(NotFound):
        svc.get_message("q", "nope")
    with pytest.raises(NotFound):
        svc.get_message("other", a.id)


# ---------------------------------------------------------------- TTL

def test_expired_messages_are_never_returned_and_then_purged(db, clock):
    svc = QueueService(db, clock=clock, purge_interval=10**9)   # only the explicit purge below
    short, long_ = svc.post("q", [{"body": "short", "ttl": 10}, {"body": "long", "ttl": 100}])
    clock.advance(5)
    assert bodies(svc.list_messages("q")[0]) == ["short", "long"]
    assert svc.list_messages("q")[0][0].age == 5
    clock.advance(5)    # exactly at expiry: gone
    assert bodies(svc.list_messages("q")[0]) == ["long"]
    assert bodies(svc.get_messages("q", [short.id, long_.id])) == ["long"]
    with pytest.raises(NotFound):
        svc.get_message("q", short.id)
    assert svc.stats("q")["total"] == 1
    assert svc.claim("q", limit=5).messages[0].body == "long"
    clock.advance(1000)
    assert svc.pop("q", 5) == []
    assert svc.list_messages("q", include_claimed=True)[0] == []
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(queue_messages)).scalar_one() == 2
    assert svc.purge_expired() == 2
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(queue_messages)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(queue_claims)).scalar_one() == 0


def test_writes_purge_expired_rows_now_and_then(svc, clock, db):
    svc.post("q", {"body": "old", "ttl": 1})
    clock.advance(120)     # past the purge interval
    svc.post("q", {"body": "new"})
    with db.read() as conn:
        left = [r.body for r in conn.execute(sa.select(queue_messages.c.body))]
    assert left == ['"new"']


def test_queue_default_ttl_from_metadata(svc):
    svc.create_queue("q", {"_default_message_ttl": 60})
    (m,) = svc.post("q", {"body": 1})
    assert m.ttl == 60
    (m,) = svc.post("q", {"body": 2, "ttl": 90})
    assert m.ttl == 90


# ---------------------------------------------------------------- claims

def test_claims_hide_messages_until_they_expire(svc, clock):
    svc.post("q", [{"body": i} for i in range(3)])
    claim = svc.claim("q", ttl=30, grace=0, limit=2)
    assert bodies(claim.messages) == [0, 1]
    assert all(m.claim_id == claim.id for m in claim.messages)
    # others see only the unclaimed one
    assert bodies(svc.list_messages("q")[0]) == [2]
    assert bodies(svc.list_messages("q", include_claimed=True)[0]) == [0, 1, 2]
    other = svc.claim("q", ttl=30, limit=10)
    assert bodies(other.messages) == [2]
    assert svc.claim("q", ttl=30) is None
    assert svc.pop("q", 10) == []
    stats = svc.stats("q")
    assert (stats["claimed"], stats["free"], stats["total"]) == (3, 0, 3)
    clock.advance(31)     # both claims ran out: everything is free again
    assert bodies(svc.list_messages("q")[0]) == [0, 1, 2]
    assert bodies(svc.pop("q", 10)) == [0, 1, 2]


def test_claim_keeps_messages_alive_for_ttl_plus_grace(svc, clock):
    svc.post("q", {"body": "x", "ttl": 10})
    claim = svc.claim("q", ttl=20, grace=15)
    clock.advance(30)     # past the message's own TTL, inside claim ttl + grace
    assert bodies(svc.list_messages("q")[0]) == ["x"]
    clock.advance(6)
    assert svc.list_messages("q")[0] == []


def test_get_update_and_release_a_claim(svc, clock):
    svc.post("q", [{"body": "a"}, {"body": "b"}])
    claim = svc.claim("q", ttl=10, grace=0)
    clock.advance(4)
    got = svc.get_claim("q", claim.id)
    assert (got.ttl, got.age, bodies(got.messages)) == (10, 4, ["a", "b"])
    svc.update_claim("q", claim.id, ttl=60)
    clock.advance(20)     # would have expired without the renewal
    assert svc.list_messages("q")[0] == []
    svc.release_claim("q", claim.id)
    assert bodies(svc.list_messages("q")[0]) == ["a", "b"]
    with pytest.raises(NotFound):
        svc.get_claim("q", claim.id)
    with pytest.raises(NotFound):
        svc.update_claim("q", claim.id, ttl=30)
    svc.release_claim("q", "no-such-claim")   # no error


def test_deleting_a_claimed_message_needs_its_claim(svc, clock):
    a, b = svc.post("q", [{"body": "a"}, {"body": "b"}])
    claim = svc.claim("q", ttl=10, limit=1)
    with pytest.raises(Forbidden):
        svc.delete_message("q", a.id)
    with pytest.raises(Forbidden):
        svc.delete_message("q", a.id, claim_id="someone-else")
    with pytest.raises(Forbidden):          # b is not claimed
        svc.delete_message("q", b.id, claim_id=claim.id)
    svc.delete_message("q", a.id, claim_id=claim.id)
    svc.delete_message("q", b.id)
    svc.delete_message("q", "already-gone")
    assert svc.list_messages("q", include_claimed=True)[0] == []


def test_a_late_worker_cannot_delete_after_its_claim_expired(svc, clock):
    (m,) = svc.post("q", {"body": "job"})
    claim = svc.claim("q", ttl=5)
    clock.advance(6)
    with pytest.raises(Forbidden):
        svc.delete_message("q", m.id, claim_id=claim.id)
    assert bodies(svc.pop("q")) == ["job"]


def test_bulk_delete_by_ids_optionally_limited_to_claims(svc):
    msgs = svc.post("q", [{"body": i} for i in range(4)])
    claim = svc.claim("q", ttl=60, limit=2)
    ids = [m.id for m in msgs]
    assert svc.delete_messages("q", ids, claim_ids=[claim.id]) == ids[:2]
    assert svc.delete_messages("q", ids + ["missing"]) == ids[2:]
    assert svc.stats("q")["total"] == 0


def test_pop_takes_only_unclaimed_messages_and_deletes_them(svc):
    svc.post("q", [{"body": i} for i in range(4)])
    svc.claim("q", ttl=60, limit=1)
    assert bodies(svc.pop("q", 2)) == [1, 2]
    assert bodies(svc.list_messages("q", include_claimed=True)[0]) == [0, 3]


# ---------------------------------------------------------------- queues and stats

def test_queue_create_list_metadata_stats_delete(svc, clock):
    assert svc.create_queue("b-queue", {"description": "two"}) is True
    assert svc.create_queue("b-queue", {"ignored": 1}) is False
    svc.create_queue("a_queue")
    svc.create_queue("c")
    page, marker = svc.list_queues(limit=2, detailed=True)
    assert page == [{"name": "a_queue", "metadata": {}}, {"name": "b-queue", "metadata": {"description": "two"}}]
    rest, marker = svc.list_queues(marker=marker, limit=2)
    assert rest == [{"name": "c"}] and marker is None
    assert svc.count_queues() == 3
    meta = svc.get_metadata("b-queue")
    assert meta["description"] == "two" and meta["_default_message_ttl"] == 3600
    svc.patch_metadata("b-queue", [{"op": "add", "path": "/metadata/k", "value": 1},
                                   {"op": "remove", "path": "/metadata/description"}])
    assert svc.get_metadata("b-queue")["k"] == 1
    assert "description" not in svc.get_metadata("b-queue")
    svc.set_metadata("b-queue", {"only": True})
    assert {k: v for k, v in svc.get_metadata("b-queue").items() if not k.startswith("_")} == {"only": True}

    svc.post("c", [{"body": 1}, {"body": 2}])
    clock.advance(7)
    svc.post("c", {"body": 3})
    svc.claim("c", ttl=60, limit=1)
    stats = svc.stats("c")
    assert (stats["free"], stats["claimed"], stats["total"]) == (2, 1, 3)
    assert stats["oldest"]["age"] == 7 and stats["newest"]["age"] == 0
    assert svc.stats("empty") == {"claimed": 0, "free": 0, "total": 0}

    svc.delete_queue("c")
    assert not svc.queue_exists("c")
    assert svc.list_messages("c", include_claimed=True)[0] == []
    svc.delete_queue("c")        # again: no error
    with pytest.raises(NotFound):
        svc.get_metadata("c")


@pytest.mark.parametrize("call", [
    lambda s: s.post("bad name", {"body": 1}),
    lambda s: s.post("x" * 65, {"body": 1}),
    lambda s: s.post("q", {"nobody": 1}),
    lambda s: s.post("q", []),
    lambda s: s.post("q", "text"),
    lambda s: s.post("q", {"body": 1, "ttl": 0}),
    lambda s: s.post("q", {"body": 1, "ttl": "soon"}),
    lambda s: s.post("q", {"body": "x" * 300_000}),
    lambda s: s.pop("q", 0),
    lambda s: s.claim("q", ttl=-1),
    lambda s: s.list_messages("q", limit=0),
    lambda s: s.list_messages("q", marker="abc"),
    lambda s: s.create_queue("q", ["not", "a", "dict"]),
    lambda s: s.delete_messages("q", []),
])
def test_bad_input_is_a_bad_request(svc, call):
    with pytest.raises(BadRequest):
        call(svc)


# ---------------------------------------------------------------- concurrency

def _consume_concurrently(databases: list[Database], queue: str, total: int, use_claims: bool) -> list[list]:
    """Several consumer threads (one service per database handle) drain ``queue``."""
    results: list[list] = [[] for _ in range(len(databases) * 2)]
    start = threading.Barrier(len(results))
    errors: list[BaseException] = []

    def consume(slot: int, service: QueueService) -> None:
        try:
            start.wait()
            idle = 0
            while idle < 3:
                if use_claims:
                    claim = service.claim(queue, ttl=300, limit=3)
                    got = claim.messages if claim else []
                    for m in got:
                        service.delete_message(queue, m.id, claim_id=claim.id)
                else:
                    got = service.pop(queue, 2)
                results[slot].extend(m.body for m in got)
                idle = 0 if got else idle + 1
        except BaseException as e:   # surfaced by the test
            errors.append(e)

    threads = [threading.Thread(target=consume, args=(i, QueueService(databases[i % len(databases)])))
               for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


@pytest.mark.parametrize("use_claims", [False, True], ids=["pop", "claim"])
def test_concurrent_consumers_each_get_distinct_messages(tmp_path, use_claims):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    # Two handles on one file: threads share a handle's lock, and the two
    # handles only have SQLite's own locking between them (like two processes).
    dbs = [Database(url), Database(url)]
    dbs[0].upgrade()
    try:
        total = 200
        QueueService(dbs[0]).post("work", [{"body": i} for i in range(total)])
        results = _consume_concurrently(dbs, "work", total, use_claims)
        got = [b for r in results for b in r]
        assert sorted(got) == list(range(total))          # every message once, none twice
        assert sum(1 for r in results if r) > 1            # the work was shared
        for r in results:
            assert r == sorted(r)                           # each consumer saw FIFO order
    finally:
        for d in dbs:
            d.dispose()


@pytest.mark.parametrize("use_claims", [False, True], ids=["pop", "claim"])
def test_concurrent_consumers_on_postgresql(use_claims, pg_url):
    dbs = [Database(pg_url), Database(pg_url)]
    dbs[0].upgrade()
    queue = f"pg-work-{int(time.time() * 1000)}"
    try:
        total = 200
        QueueService(dbs[0]).post(queue, [{"body": i} for i in range(total)])
        results = _consume_concurrently(dbs, queue, total, use_claims)
        got = [b for r in results for b in r]
        assert sorted(got) == list(range(total))
        assert sum(1 for r in results if r) > 1
    finally:
        QueueService(dbs[0]).delete_queue(queue)
        for d in dbs:
            d.dispose()


def test_concurrent_producers_keep_fifo_on_postgresql(pg_url):
    db = Database(pg_url)
    db.upgrade()
    svc = QueueService(db)
    queue = f"pg-fifo-{int(time.time() * 1000)}"
    try:
        def produce(p: int) -> None:
            for i in range(25):
                svc.post(queue, {"body": [p, i]})

        threads = [threading.Thread(target=produce, args=(p,)) for p in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        got = bodies(svc.pop(queue, 1000))
        assert len(got) == 100
        for p in range(4):
            assert [i for q, i in got if q == p] == list(range(25))
    finally:
        svc.delete_queue(queue)
        db.dispose()


def test_queue_tables_are_on_the_shared_metadata():
    from levante.store.schema import metadata
    assert {"queues", "queue_messages", "queue_claims"} <= set(metadata.tables)
    assert queues.c.counter is not None
