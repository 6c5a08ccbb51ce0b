"""Rows -> Mistral's JSON shapes (JSON-valued fields stay JSON strings)."""
from __future__ import annotations

import json
import time
from typing import Any


def ts(value: float | None) -> str | None:
    if value is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value))


def _tags(raw: str | None) -> list:
    return json.loads(raw) if raw else []


def workflow(r: Any, for_list: bool = False) -> dict:
    return {
        "id": r.id, "name": r.name, "namespace": r.namespace, "input": r.input,
        "interface": r.interface, "definition": r.definition, "checksum": r.checksum,
        "tags": _tags(r.tags), "scope": r.scope, "project_id": r.project_id,
        "created_at": ts(r.created_at), "updated_at": ts(r.updated_at),
    }


def workflow_created(r: Any) -> dict:
    d = workflow(r)
    d["interface"] = json.loads(r.interface)
    if d["updated_at"] is None:
        d.pop("updated_at")
    return d


def workbook(r: Any) -> dict:
    return {"id": r.id, "name": r.name, "namespace": r.namespace, "definition": r.definition,
            "tags": _tags(r.tags), "scope": r.scope, "project_id": r.project_id,
            "created_at": ts(r.created_at), "updated_at": ts(r.updated_at)}


def action_definition(r: Any) -> dict:
    return {"id": r.id, "name": r.name, "is_system": False, "input": r.input,
            "description": r.description, "tags": _tags(r.tags), "definition": r.definition,
            "scope": r.scope, "project_id": r.project_id, "created_at": ts(r.created_at),
            "updated_at": ts(r.updated_at), "namespace": r.namespace}


def builtin_action(d: Any) -> dict:
    return {"id": d.name, "name": d.name, "is_system": False, "input": d.input_display(),
            "description": d.description, "tags": None, "definition": "", "scope": None,
            "project_id": None, "created_at": "", "updated_at": "", "namespace": ""}


def environment(r: Any) -> dict:
    return {"id": r.id, "name": r.name, "description": r.description, "variables": r.variables,
            "scope": r.scope, "project_id": r.project_id, "created_at": ts(r.created_at),
            "updated_at": ts(r.updated_at)}


def execution(r: Any) -> dict:
    return {
        "id": r.id, "workflow_id": r.workflow_id, "workflow_name": r.workflow_name,
        "workflow_namespace": r.workflow_namespace, "description": r.description,
        "tags": _tags(r.tags), "params": r.params, "task_execution_id": r.task_execution_id,
        "root_execution_id": r.root_execution_id, "state": r.state, "state_info": r.state_info,
        "input": r.input, "output": r.output, "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at), "project_id": r.project_id,
        "published_global": r.published_global,
    }


def task(r: Any) -> dict:
    runtime = json.loads(r.runtime) if r.runtime else {}
    runtime_context = {}
    if "with_items" in runtime:
        wi = runtime["with_items"]
        runtime_context["with_items_context"] = {"count": wi.get("count", 0), "index": wi.get("done", 0)}
    return {
        "id": r.id, "name": r.name, "type": r.type, "workflow_name": r.workflow_name,
        "workflow_namespace": r.workflow_namespace, "workflow_id": r.workflow_id,
        "workflow_execution_id": r.workflow_execution_id, "tags": _tags(r.tags),
        "state": r.state, "state_info": r.state_info, "project_id": r.project_id,
        "runtime_context": json.dumps(runtime_context),
        "result": _result(r),
        "published": r.published, "processed": bool(r.processed),
        "created_at": ts(r.created_at), "updated_at": ts(r.updated_at),
        "started_at": ts(r.started_at), "finished_at": ts(r.finished_at),
    }


def _result(r: Any) -> str:
    raw = r._mapping.get("result")
    return raw if raw is not None else "null"


def action_execution(r: Any) -> dict:
    return {
        "id": r.id, "workflow_name": r.workflow_name, "workflow_namespace": r.workflow_namespace or "",
        "task_execution_id": r.task_execution_id, "task_name": r.task_name, "state": r.state,
        "state_info": r.state_info, "tags": None, "name": r.name, "description": r.description,
        "project_id": r.project_id, "accepted": bool(r.accepted), "input": r.input,
        "output": r.output, "params": r.params, "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at),
    }
