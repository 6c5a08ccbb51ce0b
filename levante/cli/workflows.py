"""workflow-* commands."""

from __future__ import annotations

from levante.cli.base import (DATA, LIST, SHOW, Arg, Data, Record, command,
                              cut, do_on_many, get_filters, lister_args,
                              list_params, listing, read_file, seg, tags_str)

COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("namespace", "Namespace"),
    ("project_id", "Project ID"),
    ("tags", "Tags"),
    ("input", "Input"),
    ("scope", "Scope"),
    ("created_at", "Created at"),
    ("updated_at", "Updated at"),
]
FIELDS = [c[0] for c in COLUMNS]
HEADINGS = [c[1] for c in COLUMNS]

VALIDATE_HEADINGS = ["Valid", "Error"]


def format_workflow(wf: dict, lister: bool = False) -> tuple:
    return (
        wf.get("id"),
        wf.get("name"),
        wf.get("namespace"),
        wf.get("project_id"),
        tags_str(wf.get("tags")),
        cut(wf.get("input")) if lister else wf.get("input"),
        wf.get("scope"),
        wf.get("created_at"),
        wf.get("updated_at"),
    )


def _format_list(wf: dict) -> tuple:
    return format_workflow(wf, lister=True)


def validation_record(result: dict | None) -> Record:
    if result:
        return Record(VALIDATE_HEADINGS, (result.get("valid"), result.get("error")))
    return Record(VALIDATE_HEADINGS, ("<none>", "<none>"))


def _scope(args) -> str:
    return "public" if args.public else "private"


def _as_list(body) -> list:
    if isinstance(body, dict) and "workflows" in body:
        return body["workflows"]
    if isinstance(body, list):
        return body
    return [body] if body else []


NAMESPACE = Arg("--namespace", nargs="?", default="",
                help="Namespace of the workflow.")


@command("workflow-list", "List all workflows.", LIST, args=lister_args())
def workflow_list(ctx, args):
    body = ctx.client.get("/workflows", list_params(
        args, fields=FIELDS, filters=get_filters(args)))
    return listing(HEADINGS, _format_list, body.get("workflows", []))


@command("workflow-get", "Show specific workflow.", SHOW, args=[
    Arg("workflow", help="Workflow ID or name."), NAMESPACE])
def workflow_get(ctx, args):
    wf = ctx.client.get("/workflows/%s" % seg(args.workflow),
                        [("namespace", args.namespace or "")])
    return Record(HEADINGS, format_workflow(wf))


@command("workflow-create", "Create new workflow.", LIST, args=lister_args() + [
    Arg("definition", help="Workflow definition file."),
    NAMESPACE,
    Arg("--public", action="store_true",
        help='With this flag workflow will be marked as "public".'),
])
def workflow_create(ctx, args):
    body = ctx.client.post(
        "/workflows",
        params=[("scope", _scope(args)), ("namespace", args.namespace or "")],
        text=read_file(args.definition))
    return listing(HEADINGS, _format_list, _as_list(body))


@command("workflow-update", "Update workflow.", LIST, args=lister_args() + [
    Arg("definition", help="Workflow definition file."),
    Arg("--id", help="Workflow ID."),
    NAMESPACE,
    Arg("--public", action="store_true",
        help='With this flag workflow will be marked as "public".'),
])
def workflow_update(ctx, args):
    path = "/workflows/%s" % seg(args.id) if args.id else "/workflows"
    body = ctx.client.put(
        path,
        params=[("namespace", args.namespace or ""), ("scope", _scope(args))],
        text=read_file(args.definition))
    return listing(HEADINGS, _format_list, _as_list(body))


@command("workflow-delete", "Delete workflow.", args=[
    Arg("workflow", nargs="+", help="Name or ID of workflow(s)."),
    Arg("--namespace", nargs="?", default=None,
        help="Namespace to delete the workflow from."),
])
def workflow_delete(ctx, args):
    params = [("namespace", args.namespace)] if args.namespace else None
    do_on_many(
        ctx,
        lambda name: ctx.client.delete("/workflows/%s" % seg(name), params),
        args.workflow,
        "Request to delete workflow %s has been accepted.",
        "Unable to delete the specified workflow(s).",
    )


@command("workflow-get-definition", "Show workflow definition.", DATA, args=[
    Arg("identifier", help="Workflow ID or name."), NAMESPACE])
def workflow_get_definition(ctx, args):
    wf = ctx.client.get("/workflows/%s" % seg(args.identifier),
                        [("namespace", args.namespace or "")])
    return Data.document(wf.get("definition"))


@command("workflow-validate", "Validate workflow.", SHOW, args=[
    Arg("definition", help="Workflow definition file.")])
def workflow_validate(ctx, args):
    result = ctx.client.post("/workflows/validate",
                             text=read_file(args.definition))
    return validation_record(result)
