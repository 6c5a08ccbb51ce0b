"""``GET /v2/executions/{id}/events``: an execution's events as server-sent events.

The stream sends ``event: state`` first (the execution and its tasks as they
are now), then one message per WORKFLOW_*/TASK_* event of the execution, its
``event:`` line naming the event and its ``data:`` line holding the event as
JSON; it ends after the workflow reaches SUCCESS, ERROR or CANCELLED (at
once if it already has). Comment lines (``: keepalive``) keep idle
connections open through proxies.
"""
from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from levante.api.errors import ApiError
from levante.api.services import service
from levante.auth import Caller, current_caller
from levante.notify import Hub, live
from levante.store import scope as access
from levante.store.schema import workflow_executions as WE

router = APIRouter()

POLL = 1.0          # seconds of quiet before looking at the database
KEEPALIVE = 15.0


def _hub(request: Request) -> Hub:
    return service(request, "hub", Hub)


def _message(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get("/v2/executions/{exec_id}/events")
async def execution_events(exec_id: str, request: Request, caller: Caller = Depends(current_caller)):
    db = request.app.state.runtime.db
    if not await run_in_threadpool(_visible, db, exec_id, caller):
        raise ApiError(404, f"WorkflowExecution not found [id={exec_id}]")
    # Subscribe before the snapshot, so nothing committed in between is lost.
    hub = _hub(request)
    sub = hub.subscribe(exec_id)
    try:
        snapshot = await run_in_threadpool(live.read_snapshot, db, exec_id)
    except BaseException:
        hub.unsubscribe(sub)
        raise
    if snapshot is None:
        hub.unsubscribe(sub)
        raise ApiError(404, f"WorkflowExecution not found [id={exec_id}]")
    return StreamingResponse(_stream(db, hub, sub, snapshot), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _visible(db, exec_id: str, caller: Caller) -> bool:
    with db.read() as conn:
        return conn.execute(sa.select(WE.c.id).where(WE.c.id == exec_id, access.visible(WE, caller))).first() is not None


async def _stream(db, hub: Hub, sub, snapshot: dict):
    loop = asyncio.get_running_loop()
    tracker = live.Tracker(snapshot)
    try:
        yield _message("state", tracker.first)
        last_sent = loop.time()
        while not tracker.done:
            out: list[dict] = []
            try:
                item = await asyncio.wait_for(sub.queue.get(), POLL)
            except asyncio.TimeoutError:
                item = None
            if sub.lagged:
                # Fell behind: forget the queue, catch up from the database.
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                sub.lagged = False
                item = None
                tracker.version = -1
            if item is not None:
                out = tracker.accept(item)
                while not sub.queue.empty() and not tracker.done:
                    out += tracker.accept(sub.queue.get_nowait())
            else:
                version = await run_in_threadpool(live.read_version, db, tracker.execution_id)
                if version is None:
                    break   # deleted
                if version != tracker.version:
                    snap = await run_in_threadpool(live.read_snapshot, db, tracker.execution_id)
                    # Events that arrived meanwhile are exact: take them first.
                    if snap is not None and sub.queue.empty():
                        out = tracker.reconcile(snap)
            for ev in out:
                yield _message(ev["event"], ev)
            if out:
                last_sent = loop.time()
            elif loop.time() - last_sent >= KEEPALIVE:
                yield ": keepalive\n\n"
                last_sent = loop.time()
    finally:
        hub.unsubscribe(sub)
