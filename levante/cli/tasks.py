"""task-* commands."""

from __future__ import annotations

import json

from levante.cli.base import (DATA, LIST, SHOW, Arg, Data, Record, command, cut,
                              duration_str, execution_lister_args, get_filters,
                              list_params, listing, load_env, newest_first, seg)
from levante.cli.output import decode_json_field, pretty_json_text

COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("workflow_name", "Workflow name"),
    ("workflow_namespace", "Workflow namespace"),
    ("workflow_execution_id", "Workflow Execution ID"),
    ("state", "State"),
    ("state_info", "State info"),
    ("created_at", "Created at"),
    ("started_at", "Started at"),
    ("finished_at", "Finished at"),
    ("duration", "Duration", True),  # computed, not requested
]
FIELDS = [c[0] for c in COLUMNS if len(c) == 2]
HEADINGS = [c[1] for c in COLUMNS]


def format_task(task: dict, lister: bool = False) -> tuple:
    state_info = task.get("state_info")
    return (
        task.get("id"),
        task.get("name"),
        task.get("workflow_name"),
        task.get("workflow_namespace"),
        task.get("workflow_execution_id"),
        task.get("state"),
        cut(state_info) if lister else state_info,
        task.get("created_at"),
        task.get("started_at") or "<none>",
        task.get("finished_at") or "<none>",
        duration_str(task.get("started_at"), task.get("finished_at")),
    )


def _format_list(task: dict) -> tuple:
    return format_task(task, lister=True)


@command("task-list", "List all tasks.", LIST, args=execution_lister_args() + [
    Arg("workflow_execution", nargs="?",
        help="Workflow execution ID associated with list of Tasks."),
])
def task_list(ctx, args):
    reverse = newest_first(args)
    path = "/tasks"
    if args.workflow_execution:
        path = "/executions/%s/tasks" % seg(args.workflow_execution)
    body = ctx.client.get(path, list_params(
        args, fields=FIELDS, filters=get_filters(args)))
    items = list(body.get("tasks", []))
    if reverse:
        items.reverse()
    return listing(HEADINGS, _format_list, items)


@command("task-get", "Show specific task.", SHOW, args=[
    Arg("task", help="Task identifier")])
def task_get(ctx, args):
    task = ctx.client.get("/tasks/%s" % seg(args.task))
    return Record(HEADINGS, format_task(task))


@command("task-get-result", "Show task output data.", DATA, args=[
    Arg("id", help="Task ID")])
def task_get_result(ctx, args):
    task = ctx.client.get("/tasks/%s" % seg(args.id))
    return Data(task.get("result"))


@command("task-get-published", "Show task published variables.", DATA, args=[
    Arg("id", help="Task ID")])
def task_get_published(ctx, args):
    task = ctx.client.get("/tasks/%s" % seg(args.id))
    text = pretty_json_text(task.get("published"))
    published_global = task.get("published_global")
    if published_global:
        text += pretty_json_text(published_global)
        merged = {**(decode_json_field(task.get("published")) or {}),
                  **(decode_json_field(published_global) or {})}
        return Data(merged, text)
    return Data(task.get("published"), text)


@command("task-rerun", "Rerun an existing task.", SHOW, args=[
    Arg("id", help="Task identifier"),
    Arg("--resume", action="store_true", dest="resume", default=False,
        help="rerun only failed or unstarted action executions for "
             "with-items task"),
    Arg("-e", "--env", dest="env", help="Environment variables"),
])
def task_rerun(ctx, args):
    env = load_env(args.env)
    body = {"id": args.id, "state": "RUNNING", "reset": not args.resume}
    if env:
        body["env"] = json.dumps(env)
    task = ctx.client.put("/tasks/%s" % seg(args.id), json_body=body)
    return Record(HEADINGS, format_task(task))


@command("task-skip", "Skip a failed task: the workflow goes on along its on-skip "
                      "(else on-success) transitions.", SHOW, args=[
    Arg("id", help="Task identifier")])
def task_skip(ctx, args):
    task = ctx.client.put("/tasks/%s" % seg(args.id), json_body={"id": args.id, "state": "SKIPPED"})
    return Record(HEADINGS, format_task(task))


@command("task-get-sub-executions", "List the sub-executions of a task.", LIST, args=[
    Arg("id", help="Task ID"),
    Arg("--errors-only", dest="errors_only", action="store_true",
        help="Only the sub-executions that failed."),
    Arg("--max-depth", dest="max_depth", nargs="?", type=int, default=-1,
        help="Maximum depth of the tree (negative: no limit)."),
])
def task_get_sub_executions(ctx, args):
    from levante.cli.executions import sub_executions

    return sub_executions(ctx, "/tasks/%s/executions" % seg(args.id), args)
