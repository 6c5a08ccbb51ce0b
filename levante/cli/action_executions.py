"""run-action and action-execution-* commands."""

from __future__ import annotations

import json

from levante.cli.base import (DATA, LIST, SHOW, Arg, CLIError, Data, Record, Text,
                              command, do_on_many, execution_lister_args,
                              get_filters, list_params, listing, load_json,
                              newest_first, seg)

COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("workflow_name", "Workflow name"),
    ("workflow_namespace", "Workflow namespace"),
    ("task_name", "Task name"),
    ("task_execution_id", "Task ID"),
    ("state", "State"),
    ("state_info", "State info"),
    ("accepted", "Accepted"),
    ("created_at", "Created at"),
    ("updated_at", "Updated at"),
]
HEADINGS = [c[1] for c in COLUMNS]
LIST_HEADINGS = [c[1] for c in COLUMNS if c[0] != "state_info"]

STATES = ["PAUSED", "RUNNING", "SUCCESS", "ERROR", "CANCELLED"]


def format_action_execution(ax: dict, lister: bool = False) -> tuple:
    data = (
        ax.get("id"),
        ax.get("name"),
        ax.get("workflow_name"),
        ax.get("workflow_namespace"),
        ax.get("task_name"),
        ax.get("task_execution_id"),
        ax.get("state"),
    )
    if not lister:
        data += (ax.get("state_info"),)
    return data + (
        ax.get("accepted"),
        ax.get("created_at"),
        ax.get("updated_at") or "<none>",
    )


def _format_list(ax: dict) -> tuple:
    return format_action_execution(ax, lister=True)


def build_run_body(name, action_input, namespace, params) -> dict:
    body: dict = {"name": name}
    if action_input:
        body["input"] = json.dumps(action_input)
    if params:
        body["params"] = json.dumps(params)
    if namespace:
        body["workflow_namespace"] = namespace
    return body


@command("run-action",
         "Create new Action execution or just run specific action.", SHOW, args=[
             Arg("name", help="Action name to execute."),
             Arg("input", nargs="?", help="Action input."),
             Arg("-s", "--save-result", dest="save_result", action="store_true",
                 help="Save the result into DB."),
             Arg("--run-sync", dest="run_sync", action="store_true",
                 help="Run the action synchronously."),
             Arg("-t", "--target", dest="target",
                 help="Action will be executed on <target> executor."),
             Arg("--namespace", nargs="?", default="",
                 help="Namespace of the action(s)."),
             Arg("--timeout", type=int, default=None,
                 help="Action timeout in seconds (sent as params.timeout)."),
         ])
def run_action(ctx, args):
    params: dict = {}
    if args.save_result:
        params["save_result"] = True
    if args.run_sync:
        params["run_sync"] = True
    if args.target:
        params["target"] = args.target
    if args.timeout is not None:
        params["timeout"] = args.timeout
    action_input = load_json(args.input) if args.input else None
    body = build_run_body(args.name, action_input, args.namespace, params)
    ax = ctx.client.post("/action_executions", json_body=body)
    if args.save_result and not args.run_sync:
        return Record(HEADINGS, format_action_execution(ax))
    output = ax.get("output")
    if not isinstance(output, str) and output is not None:
        output = json.dumps(output)
    return Text("%s\n" % (output,))


@command("action-execution-list", "List all Action executions.", LIST,
         args=execution_lister_args() + [
             Arg("task_execution_id", nargs="?", help="Task execution ID."),
         ])
def action_execution_list(ctx, args):
    reverse = newest_first(args)
    path = "/action_executions"
    if args.task_execution_id:
        path = "/tasks/%s/action_executions" % seg(args.task_execution_id)
    body = ctx.client.get(path, list_params(args, filters=get_filters(args)))
    items = list(body.get("action_executions", []))
    if reverse:
        items.reverse()
    return listing(LIST_HEADINGS, _format_list, items)


@command("action-execution-get", "Show specific Action execution.", SHOW, args=[
    Arg("action_execution", help="Action execution ID.")])
def action_execution_get(ctx, args):
    ax = ctx.client.get("/action_executions/%s" % seg(args.action_execution))
    return Record(HEADINGS, format_action_execution(ax))


@command("action-execution-update", "Update specific Action execution.", SHOW,
         args=[
             Arg("id", help="Action execution ID."),
             Arg("--state", dest="state", choices=STATES,
                 help="Action execution state"),
             Arg("--output", dest="output", help="Action execution output"),
         ])
def action_execution_update(ctx, args):
    output = load_json(args.output) if args.output else None
    if not (args.state or output):
        raise CLIError(
            "Please provide either state or output for action execution.")
    body: dict = {}
    if args.state:
        body["state"] = args.state
    if output:
        body["output"] = output
    ax = ctx.client.put("/action_executions/%s" % seg(args.id), json_body=body)
    return Record(HEADINGS, format_action_execution(ax))


@command("action-execution-get-output", "Show Action execution output data.", DATA,
         args=[Arg("id", help="Action execution ID.")])
def action_execution_get_output(ctx, args):
    ax = ctx.client.get("/action_executions/%s" % seg(args.id))
    return Data(ax.get("output"))


@command("action-execution-get-input", "Show Action execution input data.", DATA,
         args=[Arg("id", help="Action execution ID.")])
def action_execution_get_input(ctx, args):
    ax = ctx.client.get("/action_executions/%s" % seg(args.id))
    return Data(ax.get("input"))


@command("action-execution-delete", "Delete action execution.", args=[
    Arg("action_execution", nargs="+",
        help="Id of action execution identifier(s).")])
def action_execution_delete(ctx, args):
    do_on_many(
        ctx,
        lambda ax_id: ctx.client.delete("/action_executions/%s" % seg(ax_id)),
        args.action_execution,
        "Request to delete action execution %s has been accepted.",
        "Unable to delete the specified action execution(s).",
    )
