"""code-source-* and dynamic-action-* commands (as python-mistralclient's)."""

from __future__ import annotations

import re

from levante.cli.base import (DATA, LIST, SHOW, Arg, Data, Record, command, do_on_many,
                              get_filters, lister_args, list_params, listing,
                              read_file, seg)

CS_COLUMNS = [("id", "ID"), ("name", "Name"), ("namespace", "Namespace"),
              ("project_id", "Project ID"), ("scope", "Scope"),
              ("created_at", "Created at"), ("updated_at", "Updated at")]
DA_COLUMNS = [("id", "ID"), ("name", "Name"), ("class_name", "Class"),
              ("code_source_id", "Code source ID"), ("code_source_name", "Code source name"),
              ("project_id", "Project ID"), ("scope", "Scope"),
              ("created_at", "Created at"), ("updated_at", "Updated at")]
UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


def _row(columns):
    return lambda item: tuple(item.get(key) for key, _ in columns)


def _record(columns, item: dict) -> Record:
    return Record([h for _, h in columns], _row(columns)(item))


def _namespace(default=""):
    return Arg("--namespace", nargs="?", default=default, help="Namespace of the resource.")


# ---------------------------------------------------------------- code sources

@command("code-source-list", "List all code sources.", LIST, args=lister_args())
def code_source_list(ctx, args):
    body = ctx.client.get("/code_sources", list_params(
        args, fields=[k for k, _ in CS_COLUMNS], filters=get_filters(args)))
    return listing([h for _, h in CS_COLUMNS], _row(CS_COLUMNS), body.get("code_sources", []))


@command("code-source-get", "Show specific code source.", SHOW, args=[
    Arg("identifier", help="Code source ID or name."), _namespace()])
def code_source_get(ctx, args):
    return _record(CS_COLUMNS, ctx.client.get("/code_sources/%s" % seg(args.identifier),
                                              [("namespace", args.namespace)]))


@command("code-source-get-content", "Show the content of a code source.", DATA, args=[
    Arg("identifier", help="Code source ID or name."), _namespace()])
def code_source_get_content(ctx, args):
    src = ctx.client.get("/code_sources/%s" % seg(args.identifier), [("namespace", args.namespace)])
    return Data.document(src.get("content"))


@command("code-source-create", "Create new code source (a Python module).", SHOW, args=[
    Arg("name", help="Code source name (the module's name)."),
    Arg("content", help="Code source content file."),
    _namespace(),
    Arg("--public", action="store_true", help='Mark the code source "public".')])
def code_source_create(ctx, args):
    params = [("name", args.name), ("scope", "public" if args.public else "private"),
              ("namespace", args.namespace)]
    return _record(CS_COLUMNS, ctx.client.post("/code_sources", params=params,
                                               text=read_file(args.content)))


@command("code-source-update", "Update a code source (its version goes up).", SHOW, args=[
    Arg("identifier", help="Code source identifier (name or ID)."),
    Arg("content", help="Code source content file."),
    _namespace(),
    Arg("--public", action="store_true", help='Mark the code source "public".')])
def code_source_update(ctx, args):
    params = [("identifier", args.identifier), ("scope", "public" if args.public else "private"),
              ("namespace", args.namespace)]
    return _record(CS_COLUMNS, ctx.client.put("/code_sources", params=params,
                                              text=read_file(args.content)))


@command("code-source-delete", "Delete code source(s) and their dynamic actions.", args=[
    Arg("identifier", nargs="+", help="Code source name or ID (can be repeated)."),
    _namespace(None)])
def code_source_delete(ctx, args):
    params = [("namespace", args.namespace)] if args.namespace else None
    do_on_many(ctx, lambda s: ctx.client.delete("/code_sources/%s" % seg(s), params),
               args.identifier, "Request to delete code source '%s' has been accepted.",
               "Unable to delete the specified code source(s).")


# ---------------------------------------------------------------- dynamic actions

def _source_field(code_source: str) -> tuple[str, str]:
    return ("code_source_id" if UUID.match(code_source) else "code_source_name", code_source)


@command("dynamic-action-list", "List all dynamic actions.", LIST,
         args=lister_args() + [_namespace()])
def dynamic_action_list(ctx, args):
    body = ctx.client.get("/dynamic_actions", list_params(
        args, fields=[k for k, _ in DA_COLUMNS], filters=get_filters(args),
        namespace=args.namespace))
    return listing([h for _, h in DA_COLUMNS], _row(DA_COLUMNS), body.get("dynamic_actions", []))


@command("dynamic-action-get", "Show specific dynamic action.", SHOW, args=[
    Arg("identifier", help="Dynamic action identifier (name or ID)"), _namespace()])
def dynamic_action_get(ctx, args):
    return _record(DA_COLUMNS, ctx.client.get("/dynamic_actions/%s" % seg(args.identifier),
                                              [("namespace", args.namespace)]))


@command("dynamic-action-create", "Create new dynamic action from a class in a code source.",
         SHOW, args=[
             Arg("name", help="Dynamic action name"),
             Arg("class_name", help="Dynamic action class name"),
             Arg("code_source", help="Code source ID or name"),
             Arg("--public", action="store_true", help='Mark the action "public".'),
             _namespace()])
def dynamic_action_create(ctx, args):
    key, value = _source_field(args.code_source)
    body = {"name": args.name, "class_name": args.class_name,
            "scope": "public" if args.public else "private", "namespace": args.namespace,
            key: value}
    return _record(DA_COLUMNS, ctx.client.post("/dynamic_actions", json_body=body))


@command("dynamic-action-update", "Update dynamic action.", SHOW, args=[
    Arg("identifier", help="Dynamic action identifier (ID or name)"),
    Arg("--class-name", dest="class_name", nargs="?", help="Dynamic action class name."),
    Arg("--code-source", dest="code_source", nargs="?", help="Code source identifier (ID or name)."),
    Arg("--public", action="store_true", help='Mark the action "public".'),
    _namespace()])
def dynamic_action_update(ctx, args):
    body = {"scope": "public" if args.public else "private", "namespace": args.namespace,
            ("id" if UUID.match(args.identifier) else "name"): args.identifier}
    if args.class_name:
        body["class_name"] = args.class_name
    if args.code_source:
        body.update([_source_field(args.code_source)])
    return _record(DA_COLUMNS, ctx.client.put("/dynamic_actions", json_body=body))


@command("dynamic-action-delete", "Delete dynamic action(s).", args=[
    Arg("identifier", nargs="+", help="Dynamic action name or ID (can be repeated)."),
    _namespace()])
def dynamic_action_delete(ctx, args):
    do_on_many(ctx, lambda s: ctx.client.delete("/dynamic_actions/%s" % seg(s),
                                                [("namespace", args.namespace)]),
               args.identifier, "Request to delete dynamic action(s) %s has been accepted.",
               "Unable to delete the specified dynamic action(s).")
