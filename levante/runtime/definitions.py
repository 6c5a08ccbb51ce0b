"""Finding a stored workflow and checking an execution's input against it."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from levante.lang.spec import WorkflowSpec
from levante.store import prepared, scope
from levante.store.scope import Caller
from levante.store.schema import workbooks as WB
from levante.store.schema import workflow_definitions as WD


@dataclass
class StoredWorkflow:
    id: str
    name: str
    source: str        # the text to parse it from: the workbook's, for a workbook workflow
    tags: str
    project_id: str


def resolve_workflow(conn: sa.Connection, identifier: str, namespace: str = "",
                     caller: Caller | None = None, with_global: bool = False) -> StoredWorkflow | None:
    """A workflow that ``caller`` may run (its project's own first, then public or
    shared ones), by id (in any namespace) or by name in ``namespace``; a
    workbook's workflow also by its short name when unambiguous.

    ``with_global``: a name not found in ``namespace`` is looked up among the
    workflows of no namespace too, as Mistral does for sub-workflows.
    """
    spaces = [namespace] + ([""] if with_global and namespace else [])
    wf = None
    for space in spaces:
        wf = _find(conn, identifier, space, caller)
        if wf is not None:
            break
    if wf is None:
        return None
    source = wf.definition
    if wf.workbook_name:
        wb = conn.execute(sa.select(WB.c.definition).where(WB.c.name == wf.workbook_name,
                                                            WB.c.namespace == wf.namespace,
                                                            WB.c.project_id == wf.project_id)).first()
        if wb is not None:
            source = wb.definition
    return StoredWorkflow(id=wf.id, name=wf.name, source=source, tags=wf.tags, project_id=wf.project_id)


def _find_query(restricted: bool):
    """The query of :func:`find_row`, built once (each start of an execution runs
    it), with parameters ``ident``, ``ns`` and ``project``. ``restricted``: only
    what the project may see, as scope.visible says for an authenticated caller
    who is not an admin (its own, public, and shared with it and accepted)."""
    project = sa.bindparam("project")
    where = [sa.or_(WD.c.id == sa.bindparam("ident"),
                    sa.and_(WD.c.name == sa.bindparam("ident"), WD.c.namespace == sa.bindparam("ns")))]
    if restricted:
        where.append(scope.visible_to_project(WD, project, scope.shared_query(project)))
    return sa.select(WD).where(*where).order_by(sa.case((WD.c.project_id == project, 0), else_=1))


_FIND = {False: prepared.Statement(_find_query(False)), True: prepared.Statement(_find_query(True))}


def find_row(conn: sa.Connection, identifier: str, namespace: str, caller: Caller | None):
    """The stored workflow row ``caller`` may see, by id (in any namespace) or by
    name in ``namespace``, the caller's own before public or shared ones; None if none."""
    restricted = caller is not None and caller.authenticated and not caller.is_admin
    return _FIND[restricted].first(conn, {"ident": identifier, "ns": namespace,
                                          "project": caller.project_id if caller else scope.DEFAULT_PROJECT})


def _find(conn: sa.Connection, identifier: str, namespace: str, caller: Caller | None):
    wf = find_row(conn, identifier, namespace, caller)
    if wf is None:
        mine = scope.visible(WD, caller, scope.shared_with(caller))
        # The crash course runs a workbook's workflow by its short name
        # (`execution-create flow_control`); accept that when it is unambiguous.
        hits = conn.execute(sa.select(WD).where(
            WD.c.workbook_name.is_not(None), WD.c.namespace == namespace, mine,
            WD.c.name == WD.c.workbook_name + ("." + identifier))).fetchall()
        wf = hits[0] if len(hits) == 1 else None
    return wf


def check_input(spec: WorkflowSpec, given: dict) -> dict:
    """The full input (defaults filled in); ValueError naming what is missing or unexpected."""
    declared = {p.name for p in spec.input}
    missing = [p.name for p in spec.input if p.required and p.name not in given]
    unexpected = [k for k in given if k not in declared]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing={missing}")
        if unexpected:
            parts.append(f"unexpected={unexpected}")
        kind = "ReverseWorkflowSpec" if spec.type == "reverse" else "DirectWorkflowSpec"
        raise ValueError(f"Invalid input [name={spec.name}, class={kind}, " + ", ".join(parts) + "]")
    return {p.name: given[p.name] if p.name in given else p.default for p in spec.input}


def check_params(spec: WorkflowSpec, params: dict) -> None:
    """ValueError when the execution parameters cannot start ``spec`` (a reverse
    workflow needs ``task_name``, one of its tasks)."""
    if spec.type != "reverse":
        return
    task_name = params.get("task_name")
    if not task_name or task_name not in spec.tasks:
        problem = ("the execution parameter 'task_name' is missing" if not task_name
                   else f"workflow '{spec.name}' has no task '{task_name}'")
        raise ValueError(f"Invalid task name [workflow={spec.name}, task_name={task_name}]: {problem}; "
                         f"a reverse workflow runs the task named by 'task_name' "
                         f"(one of: {', '.join(spec.tasks)}).")
