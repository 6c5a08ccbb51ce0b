"""GET /v2/executions/{id}/report: Mistral's execution report, the execution as
a tree of tasks, action executions and sub-workflows (``root_workflow_execution``)
with task counts (``statistics``), as python-mistralclient's
``execution-get-report`` prints it."""
from __future__ import annotations

import json
import time

import sqlalchemy as sa
from fastapi import APIRouter, Request

from levante.api import render
from levante.api.errors import ApiError
from levante.api.executions import EXEC_LIST_COLUMNS, TASK_LIST_COLUMNS, _get_execution, _rt
from levante.engine import states
from levante.store.schema import action_executions as AE
from levante.store.schema import task_executions as TE
from levante.store.schema import workflow_executions as WE

router = APIRouter()


@router.get("/v2/executions/{exec_id}/report")
def execution_report(exec_id: str, request: Request):
    """The report; ``errors_only`` keeps the failed tasks only (and counts only
    them), ``max_depth`` limits the levels of sub-workflows that show their
    tasks, ``statistics_only`` leaves the tree out."""
    q = request.query_params
    errors_only = q.get("errors_only", "").lower() == "true"
    statistics_only = q.get("statistics_only", "").lower() == "true"
    try:
        max_depth = int(q.get("max_depth", -1))
    except ValueError:
        raise ApiError(400, f"max_depth must be an integer, got {q.get('max_depth')!r}")
    stats = {k: 0 for k in ("total_tasks_count", "running_tasks_count", "success_tasks_count",
                            "error_tasks_count", "idle_tasks_count", "paused_tasks_count")}
    with _rt(request).db.read() as conn:
        ex = _get_execution(conn, exec_id)
        stats["estimated_time"] = _estimated_time(conn, ex)
        root = _report_workflow(conn, ex, errors_only, max_depth, 0, stats)
    if statistics_only:
        return {"statistics": stats}
    return {"statistics": stats, "root_workflow_execution": root}


def _report_entry(r, name: str) -> dict:
    return {"id": r.id, "name": name, "created_at": render.ts(r.created_at),
            "updated_at": render.ts(r.updated_at), "state": r.state, "state_info": r.state_info}


def _report_workflow(conn, ex, errors_only: bool, max_depth: int, depth: int, stats: dict) -> dict:
    node = _report_entry(ex, ex.workflow_name)
    if 0 <= max_depth < depth:
        return node
    node["task_executions"] = []
    for t in conn.execute(sa.select(*TASK_LIST_COLUMNS).where(TE.c.workflow_execution_id == ex.id)
                          .order_by(TE.c.seq)):
        if errors_only and t.state != states.ERROR:
            continue
        stats["total_tasks_count"] += 1
        key = {states.RUNNING: "running", states.SUCCESS: "success", states.ERROR: "error",
               states.IDLE: "idle", states.PAUSED: "paused"}.get(t.state)
        if key:
            stats[f"{key}_tasks_count"] += 1
        tn = _report_entry(t, t.name)
        runtime = json.loads(t.runtime) if t.runtime else {}
        if "retry_no" in runtime:
            tn["retry_count"] = runtime["retry_no"]
        tn["action_executions"] = [
            dict(_report_entry(a, a.name), accepted=bool(a.accepted), last_heartbeat=None)
            for a in conn.execute(sa.select(AE.c.id, AE.c.name, AE.c.created_at, AE.c.updated_at,
                                            AE.c.state, AE.c.state_info, AE.c.accepted)
                                  .where(AE.c.task_execution_id == t.id).order_by(AE.c.idx))]
        tn["workflow_executions"] = [
            _report_workflow(conn, sub, errors_only, max_depth, depth + 1, stats)
            for sub in conn.execute(sa.select(*EXEC_LIST_COLUMNS).where(WE.c.task_execution_id == t.id)
                                    .order_by(WE.c.created_at))]
        node["task_executions"].append(tn)
    return node


def _estimated_time(conn, ex) -> int:
    """Seconds a RUNNING execution may still take, from the last successful runs
    of its workflow (Mistral's estimate): -1 with no history, 0 when not running."""
    if ex.state != states.RUNNING:
        return 0
    prev = conn.execute(sa.select(WE.c.created_at, WE.c.updated_at).where(
        WE.c.workflow_id == ex.workflow_id, WE.c.state == states.SUCCESS)
        .order_by(WE.c.created_at.desc()).limit(20)).fetchall()
    if not prev:
        return -1
    average = sum((p.updated_at or p.created_at) - p.created_at for p in prev) / len(prev)
    left = int(average - (time.time() - ex.created_at))
    return left if left >= 0 else 1
