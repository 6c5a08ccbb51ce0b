"""action-* commands (action definitions; running them is run-action)."""

from __future__ import annotations

from levante.cli.base import (DATA, LIST, SHOW, Arg, Data, Record, command, cut,
                              do_on_many, get_filters, lister_args,
                              list_params, listing, read_file, seg, tags_str)
from levante.cli.workflows import validation_record

COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("is_system", "Is system"),
    ("input", "Input"),
    ("description", "Description"),
    ("tags", "Tags"),
    ("created_at", "Created at"),
    ("updated_at", "Updated at"),
]
FIELDS = [c[0] for c in COLUMNS]
HEADINGS = [c[1] for c in COLUMNS]


def format_action(action: dict, lister: bool = False) -> tuple:
    return (
        action.get("id"),
        action.get("name"),
        action.get("is_system"),
        cut(action.get("input")) if lister else action.get("input"),
        cut(action.get("description")) if lister else action.get("description"),
        tags_str(action.get("tags")),
        action.get("created_at"),
        action.get("updated_at"),
    )


def _format_list(action: dict) -> tuple:
    return format_action(action, lister=True)


def _path(name: str, namespace: str | None) -> str:
    # One action is /actions/<name>/<namespace>; mistralclient keeps a
    # trailing slash when the namespace is empty, we send /actions/<name>
    # then (both forms are valid Mistral routes).
    if namespace:
        return "/actions/%s/%s" % (seg(name), seg(namespace))
    return "/actions/%s" % seg(name)


def _as_list(body) -> list:
    if isinstance(body, dict) and "actions" in body:
        return body["actions"]
    if isinstance(body, list):
        return body
    return [body] if body else []


def _scope_params(args) -> list:
    params = [("scope", "public" if args.public else "private")]
    if args.namespace:
        params.append(("namespace", args.namespace))
    return params


PUBLIC = Arg("--public", action="store_true",
             help='With this flag action will be marked as "public".')
NAMESPACE = Arg("--namespace", nargs="?", default="",
                help="Namespace of the action(s).")


@command("action-list", "List all actions.", LIST,
         args=lister_args() + [NAMESPACE])
def action_list(ctx, args):
    body = ctx.client.get("/actions", list_params(
        args, fields=FIELDS, filters=get_filters(args),
        namespace=args.namespace))
    return listing(HEADINGS, _format_list, body.get("actions", []))


@command("action-get", "Show specific action.", SHOW, args=[
    Arg("action", help="Action (name or ID)"), NAMESPACE])
def action_get(ctx, args):
    action = ctx.client.get(_path(args.action, args.namespace))
    return Record(HEADINGS, format_action(action))


@command("action-create", "Create new action.", LIST, args=lister_args() + [
    Arg("definition", help="Action definition file"), PUBLIC, NAMESPACE])
def action_create(ctx, args):
    body = ctx.client.post("/actions", params=_scope_params(args),
                           text=read_file(args.definition))
    return listing(HEADINGS, _format_list, _as_list(body))


@command("action-update", "Update action.", LIST, args=lister_args() + [
    Arg("definition", help="Action definition file"),
    Arg("--id", help="Action ID."),
    PUBLIC,
    NAMESPACE,
])
def action_update(ctx, args):
    path = "/actions/%s" % seg(args.id) if args.id else "/actions"
    body = ctx.client.put(path, params=_scope_params(args),
                          text=read_file(args.definition))
    return listing(HEADINGS, _format_list, _as_list(body))


@command("action-delete", "Delete action.", args=[
    Arg("action", nargs="+", help="Name or ID of action(s)."), NAMESPACE])
def action_delete(ctx, args):
    do_on_many(
        ctx,
        lambda name: ctx.client.delete(_path(name, args.namespace)),
        args.action,
        "Request to delete action %s has been accepted.",
        "Unable to delete the specified action(s).",
    )


@command("action-get-definition", "Show action definition.", DATA, args=[
    Arg("name", help="Action name"), NAMESPACE])
def action_get_definition(ctx, args):
    action = ctx.client.get(_path(args.name, args.namespace))
    return Data.document(action.get("definition"))


@command("action-validate", "Validate action.", SHOW, args=[
    Arg("definition", help="action definition file")])
def action_validate(ctx, args):
    result = ctx.client.post("/actions/validate",
                             text=read_file(args.definition))
    return validation_record(result)
