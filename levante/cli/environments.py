"""environment-* commands."""

from __future__ import annotations

import json

from levante.cli.base import (LIST, SHOW, Arg, CLIError, Record, command,
                              do_on_many, get_filters, lister_args,
                              list_params, listing, load_content,
                              parse_json_field, read_file, seg)

COLUMNS = [
    ("name", "Name"),
    ("description", "Description"),
    ("variables", "Variables"),
    ("scope", "Scope"),
    ("created_at", "Created at"),
    ("updated_at", "Updated at"),
]
FIELDS = [c[0] for c in COLUMNS]
HEADINGS = [c[1] for c in COLUMNS]
LIST_HEADINGS = [c[1] for c in COLUMNS if c[0] != "variables"]


def format_environment(env: dict, lister: bool = False) -> tuple:
    data: tuple = (env.get("name"),)
    data += ((env.get("description") or "<none>") if "description" in env else None,)
    if not lister:
        data += (json.dumps(parse_json_field(env.get("variables")), indent=4),)
    data += (env.get("scope"), env.get("created_at"))
    data += ((env.get("updated_at") or "<none>") if "updated_at" in env else None,)
    return data


def _format_list(env: dict) -> tuple:
    return format_environment(env, lister=True)


def _missing(value) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _load_definition(path: str) -> dict:
    data = load_content(read_file(path))
    if not isinstance(data, dict):
        raise CLIError("Environment file %s must hold a mapping "
                       "(name, description, variables)" % path)
    return data


def build_create_body(data: dict) -> dict:
    for key in ("name", "variables"):
        if _missing(data.get(key)):
            raise CLIError('Environment is missing field "%s"' % key)
    body = dict(data)
    if isinstance(body["variables"], dict):
        body["variables"] = json.dumps(body["variables"])
    return body


def build_update_body(data: dict) -> dict:
    if _missing(data.get("name")):
        raise CLIError('Environment is missing field "name"')
    body = dict(data)
    if body.get("variables") and isinstance(body["variables"], dict):
        body["variables"] = json.dumps(body["variables"])
    return body


@command("environment-list", "List all environments.", LIST, args=lister_args())
def environment_list(ctx, args):
    body = ctx.client.get("/environments", list_params(
        args, fields=FIELDS, filters=get_filters(args)))
    return listing(LIST_HEADINGS, _format_list, body.get("environments", []))


@command("environment-get", "Show specific environment.", SHOW, args=[
    Arg("environment", help="Environment name"),
    Arg("--export", default=False, action="store_true",
        help="Export the environment suitable for import"),
])
def environment_get(ctx, args):
    env = ctx.client.get("/environments/%s" % seg(args.environment))
    if args.export:
        return Record(["name", "description", "scope", "variables"], (
            env.get("name"),
            env.get("description"),
            env.get("scope"),
            json.dumps(parse_json_field(env.get("variables"))),
        ))
    return Record(HEADINGS, format_environment(env))


@command("environment-create", "Create new environment.", SHOW, args=[
    Arg("file", help="Environment configuration file in JSON or YAML")])
def environment_create(ctx, args):
    body = build_create_body(_load_definition(args.file))
    env = ctx.client.post("/environments", json_body=body)
    return Record(HEADINGS, format_environment(env))


@command("environment-update", "Update environment.", SHOW, args=[
    Arg("file", help="Environment configuration file in JSON or YAML")])
def environment_update(ctx, args):
    body = build_update_body(_load_definition(args.file))
    env = ctx.client.put("/environments", json_body=body)
    return Record(HEADINGS, format_environment(env))


@command("environment-delete", "Delete environment.", args=[
    Arg("environment", nargs="+", help="Name of environment(s).")])
def environment_delete(ctx, args):
    do_on_many(
        ctx,
        lambda name: ctx.client.delete("/environments/%s" % seg(name)),
        args.environment,
        "Request to delete environment %s has been accepted.",
        "Unable to delete the specified environment(s).",
    )
