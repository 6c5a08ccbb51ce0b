"""execution-* commands."""

from __future__ import annotations

import json
import uuid

from levante.cli.base import (DATA, LIST, SHOW, Arg, CLIError, Data, Failed, Record, Text,
                              command, cut, do_on_many, duration_str,
                              execution_lister_args, get_filters, list_params,
                              listing, load_env, load_json, newest_first, seg)
from levante.cli.watch import failure
from levante.cli.watch import wait as wait_for_execution  # also registers execution-watch

COLUMNS = [
    ("id", "ID"),
    ("workflow_id", "Workflow ID"),
    ("workflow_name", "Workflow name"),
    ("workflow_namespace", "Workflow namespace"),
    ("description", "Description"),
    ("task_execution_id", "Task Execution ID"),
    ("root_execution_id", "Root Execution ID"),
    ("state", "State"),
    ("state_info", "State info"),
    ("created_at", "Created at"),
    ("updated_at", "Updated at"),
    ("duration", "Duration", True),  # computed, not requested
]
FIELDS = [c[0] for c in COLUMNS if len(c) == 2]
HEADINGS = [c[1] for c in COLUMNS]

STATES = ["RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED"]


def format_execution(ex: dict, lister: bool = False) -> tuple:
    state = ex.get("state")
    state_info = ex.get("state_info")
    return (
        ex.get("id"),
        ex.get("workflow_id"),
        ex.get("workflow_name"),
        ex.get("workflow_namespace"),
        ex.get("description"),
        ex.get("task_execution_id") or "<none>",
        ex.get("root_execution_id") or "<none>",
        state,
        cut(state_info) if lister else state_info,
        ex.get("created_at"),
        ex.get("updated_at") or "<none>",
        duration_str(ex.get("created_at"),
                     ex.get("updated_at") if state in ("ERROR", "SUCCESS") else ""),
    )


def format_execution_list(ex: dict) -> tuple:
    return format_execution(ex, lister=True)


def is_uuid_like(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    plain = value.lower()
    for junk in ("urn:", "uuid:", "{", "}", "-"):
        plain = plain.replace(junk, "")
    return parsed.hex == plain


def build_create_body(identifier, namespace, wf_input, description,
                      source_execution_id, params) -> dict:
    if not (identifier or source_execution_id):
        raise CLIError('Execution is missing field "workflow_identifier"')
    body: dict = {"description": description}
    if is_uuid_like(source_execution_id):
        body["source_execution_id"] = source_execution_id
    if identifier:
        if is_uuid_like(identifier):
            body["workflow_id"] = identifier
        else:
            body["workflow_name"] = identifier
    if namespace:
        body["workflow_namespace"] = namespace
    if wf_input:
        body["input"] = wf_input if isinstance(wf_input, str) else json.dumps(wf_input)
    if params:
        body["params"] = json.dumps(params)
    return body


@command("execution-list", "List all executions.", LIST,
         args=execution_lister_args() + [
             Arg("--task", nargs="?",
                 help="Parent task execution ID associated with workflow "
                      "execution list."),
             Arg("--rootsonly", action="store_true",
                 help="return only root executions"),
         ])
def execution_list(ctx, args):
    reverse = newest_first(args)
    filters = {}
    if args.rootsonly:
        filters["nulls"] = "root_execution_id"
    filters.update(get_filters(args))
    if args.task:
        filters["task_execution_id"] = args.task
    body = ctx.client.get("/executions", list_params(
        args, fields=FIELDS, filters=filters))
    items = list(body.get("executions", []))
    if reverse:
        items.reverse()
    return listing(HEADINGS, format_execution_list, items)


@command("execution-get", "Show specific execution.", SHOW, args=[
    Arg("execution", help="Execution identifier")])
def execution_get(ctx, args):
    ex = ctx.client.get("/executions/%s" % seg(args.execution))
    return Record(HEADINGS, format_execution(ex))


@command("execution-create", "Create new execution.", SHOW, args=[
    Arg("workflow_identifier", nargs="?", help="Workflow ID or name"),
    Arg("--namespace", nargs="?", default="", help="Workflow namespace."),
    Arg("workflow_input", nargs="?", help="Workflow input"),
    Arg("params", nargs="?", help="Workflow additional parameters"),
    Arg("-d", "--description", dest="description", default="",
        help="Execution description"),
    Arg("-s", dest="source_execution_id", nargs="?",
        help="Workflow Execution id which will allow operators to create a "
             "new workflow execution based on the previously successful "
             "executed workflow."),
    Arg("--wait", action="store_true", default=False,
        help="Follow the execution until it ends (task progress on stderr), then show "
             "it (also when it fails); exit 1 with its state_info unless it succeeds."),
])
def execution_create(ctx, args):
    wf_input = load_json(args.workflow_input) if args.workflow_input else {}
    params = load_json(args.params) if args.params else {}
    body = build_create_body(args.workflow_identifier, args.namespace, wf_input,
                             args.description, args.source_execution_id, params)
    ex = ctx.client.post("/executions", json_body=body)
    if args.wait:
        ex = wait_for_execution(ctx, ex["id"], ctx.stderr, check=False)
        message = failure(ex)
        if message:     # the execution on stdout all the same, then exit 1
            return Failed(Record(HEADINGS, format_execution(ex)), message)
    return Record(HEADINGS, format_execution(ex))


@command("execution-update", "Update execution.", SHOW, args=[
    Arg("id", help="Execution identifier"),
    Arg("-s", "--state", dest="state", choices=STATES, help="Execution state"),
    Arg("-e", "--env", dest="env", help="Environment variables"),
    Arg("-d", "--description", dest="description", help="Execution description"),
])
def execution_update(ctx, args):
    env = load_env(args.env)
    body: dict = {}
    if args.state:
        body["state"] = args.state
    if args.description:
        body["description"] = args.description
    if env:
        body["params"] = {"env": env}
    ex = ctx.client.put("/executions/%s" % seg(args.id), json_body=body)
    return Record(HEADINGS, format_execution(ex))


@command("execution-delete", "Delete execution.", args=[
    Arg("execution", nargs="+", help="Id of execution identifier(s)."),
    Arg("--force", action="store_true", default=False,
        help="Force the deletion of an execution. Might cause a cascade of "
             "errors if used for running executions."),
])
def execution_delete(ctx, args):
    params = [("force", "true")] if args.force else None
    do_on_many(
        ctx,
        lambda ex_id: ctx.client.delete("/executions/%s" % seg(ex_id), params),
        args.execution,
        "Request to delete execution %s has been accepted.",
        "Unable to delete the specified execution(s).",
    )


@command("execution-get-input", "Show execution input data.", DATA, args=[
    Arg("id", help="Execution ID")])
def execution_get_input(ctx, args):
    ex = ctx.client.get("/executions/%s" % seg(args.id))
    return Data(ex.get("input"))


@command("execution-get-output", "Show execution output data.", DATA, args=[
    Arg("id", help="Execution ID")])
def execution_get_output(ctx, args):
    ex = ctx.client.get("/executions/%s" % seg(args.id))
    return Data(ex.get("output"))


@command("execution-get-published",
         "Show workflow global published variables.", DATA, args=[
             Arg("id", help="Workflow ID")])
def execution_get_published(ctx, args):
    ex = ctx.client.get("/executions/%s" % seg(args.id))
    return Data(ex.get("published_global"))


# ---------------------------------------------------------------- report, sub-executions

REPORT_INDENT = 4


def _report_lines(out: list[str], node: dict, level: int, kind: str) -> None:
    pad = " " * (level * REPORT_INDENT)
    name = node.get("name") or node.get("workflow_name") if kind == "workflow" else node.get("name")
    out.append("%s%s '%s' [%s] %s" % (pad, kind, name, node.get("state"), node.get("id")))
    if kind == "task" and "retry_count" in node:
        out.append("%s(retry count: %s)" % (pad, node["retry_count"]))
    if node.get("state") == "ERROR" and node.get("state_info") and kind != "workflow":
        out.append("%s(error info: %s...)" % (pad, node["state_info"][:100].replace("\n", " ")))
    for t in node.get("task_executions") or ():
        _report_lines(out, t, level + 1, "task")
    for a in node.get("action_executions") or ():
        _report_lines(out, a, level + 1, "action")
    for w in node.get("workflow_executions") or ():
        _report_lines(out, w, level + 1, "workflow")


def format_report(report: dict) -> str:
    """The report as mistralclient's execution-get-report prints it."""
    stats = report.get("statistics") or {}
    frame = "=" * 30
    lines = ["\nTo get more details on a task failure run: mistral task-get <id> -c 'State info'\n",
             "%s General Statistics %s\n" % (frame, frame),
             "Number of tasks in SUCCESS state: %s" % stats.get("success_tasks_count", 0),
             "Number of tasks in ERROR state: %s" % stats.get("error_tasks_count", 0),
             "Number of tasks in RUNNING state: %s" % stats.get("running_tasks_count", 0),
             "Number of tasks in IDLE state: %s" % stats.get("idle_tasks_count", 0),
             "Number of tasks in PAUSED state: %s\n" % stats.get("paused_tasks_count", 0)]
    if "estimated_time" in stats:
        lines.append("Estimated time (seconds) for the execution to finish: %s\n" % stats["estimated_time"])
    root = report.get("root_workflow_execution")
    if root:
        lines.append("%s Workflow Execution Tree %s\n" % (frame, frame))
        _report_lines(lines, root, 0, "workflow")
    return "\n".join(lines) + "\n"


@command("execution-get-report", "Print execution report (the tree of tasks, actions and "
                                 "sub-workflows, with counts).", args=[
    Arg("id", help="Execution ID"),
    Arg("--errors-only", dest="errors_only", action="store_true",
        help="Only error paths will be included (the default)."),
    Arg("--no-errors-only", dest="errors_only", action="store_false",
        help="Not only error paths will be included."),
    Arg("--statistics-only", dest="statistics_only", action="store_true",
        help="Only the statistics will be included."),
    Arg("--max-depth", dest="max_depth", nargs="?", type=int, default=-1,
        help="Maximum depth of the workflow execution tree (0: the root and its tasks)."),
])
def execution_get_report(ctx, args):
    params = [("errors_only", str(args.errors_only is not False).lower()),
              ("max_depth", args.max_depth)]
    if args.statistics_only:
        params.append(("statistics_only", "true"))
    return Text(format_report(ctx.client.get("/executions/%s/report" % seg(args.id), params)))


def sub_executions(ctx, path: str, args):
    params = [("max_depth", args.max_depth)]
    if args.errors_only:
        params.append(("errors_only", "true"))
    body = ctx.client.get(path, params)
    return listing(HEADINGS, format_execution_list, body.get("executions", []))


SUB_ARGS = [
    Arg("id", help="Execution ID"),
    Arg("--errors-only", dest="errors_only", action="store_true",
        help="Only the sub-executions that failed (and their failed parents)."),
    Arg("--max-depth", dest="max_depth", nargs="?", type=int, default=-1,
        help="Maximum depth of the tree (negative: no limit)."),
]


@command("execution-get-sub-executions", "List the execution and all its sub-executions.",
         LIST, args=SUB_ARGS)
def execution_get_sub_executions(ctx, args):
    return sub_executions(ctx, "/executions/%s/executions" % seg(args.id), args)
