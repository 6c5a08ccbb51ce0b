"""workbook-* commands."""

from __future__ import annotations

from levante.cli.base import (DATA, LIST, SHOW, Arg, Data, Record, command,
                              do_on_many, get_filters, lister_args,
                              list_params, listing, read_file, seg, tags_str)
from levante.cli.workflows import validation_record

COLUMNS = [
    ("name", "Name"),
    ("namespace", "Namespace"),
    ("tags", "Tags"),
    ("scope", "Scope"),
    ("created_at", "Created at"),
    ("updated_at", "Updated at"),
]
HEADINGS = [c[1] for c in COLUMNS]


def format_workbook(wb: dict) -> tuple:
    return (
        wb.get("name"),
        wb.get("namespace"),
        tags_str(wb.get("tags")),
        wb.get("scope"),
        wb.get("created_at"),
        wb.get("updated_at"),
    )


def _url_params(namespace=None, scope=None) -> list:
    params = []
    if scope:
        params.append(("scope", scope))
    if namespace:
        params.append(("namespace", namespace))
    return params


def _scope(args) -> str:
    return "public" if args.public else "private"


PUBLIC = Arg("--public", action="store_true",
             help='With this flag workbook will be marked as "public".')


@command("workbook-list", "List all workbooks.", LIST, args=lister_args())
def workbook_list(ctx, args):
    body = ctx.client.get("/workbooks", list_params(
        args, filters=get_filters(args)))
    return listing(HEADINGS, format_workbook, body.get("workbooks", []))


@command("workbook-get", "Show specific workbook.", SHOW, args=[
    Arg("workbook", help="Workbook name"),
    Arg("--namespace", nargs="?", default="",
        help="Namespace to get the workbook from."),
])
def workbook_get(ctx, args):
    wb = ctx.client.get("/workbooks/%s" % seg(args.workbook),
                        _url_params(args.namespace))
    return Record(HEADINGS, format_workbook(wb))


@command("workbook-create", "Create new workbook.", SHOW, args=[
    Arg("definition", help="Workbook definition file"),
    PUBLIC,
    Arg("--namespace", nargs="?", default="",
        help="Namespace to create the workbook within."),
])
def workbook_create(ctx, args):
    wb = ctx.client.post("/workbooks",
                         params=_url_params(args.namespace, _scope(args)),
                         text=read_file(args.definition))
    return Record(HEADINGS, format_workbook(wb))


@command("workbook-update", "Update workbook.", SHOW, args=[
    Arg("definition", help="Workbook definition file"),
    Arg("--namespace", nargs="?", default=None,
        help="Namespace to update the workbook in."),
    PUBLIC,
])
def workbook_update(ctx, args):
    wb = ctx.client.put("/workbooks",
                        params=_url_params(args.namespace, _scope(args)),
                        text=read_file(args.definition))
    return Record(HEADINGS, format_workbook(wb))


@command("workbook-delete", "Delete workbook.", args=[
    Arg("workbook", nargs="+", help="Name of workbook(s)."),
    Arg("--namespace", nargs="?", default=None,
        help="Namespace to delete the workbook(s) from."),
])
def workbook_delete(ctx, args):
    params = _url_params(args.namespace)
    do_on_many(
        ctx,
        lambda name: ctx.client.delete("/workbooks/%s" % seg(name), params),
        args.workbook,
        "Request to delete workbook %s has been accepted.",
        "Unable to delete the specified workbook(s).",
    )


@command("workbook-get-definition", "Show workbook definition.", DATA, args=[
    Arg("name", help="Workbook name")])
def workbook_get_definition(ctx, args):
    wb = ctx.client.get("/workbooks/%s" % seg(args.name))
    return Data.document(wb.get("definition"))


@command("workbook-validate", "Validate workbook.", SHOW, args=[
    Arg("definition", help="Workbook definition file")])
def workbook_validate(ctx, args):
    result = ctx.client.post("/workbooks/validate",
                             text=read_file(args.definition))
    return validation_record(result)
