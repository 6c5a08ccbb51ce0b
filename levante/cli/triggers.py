"""cron-trigger-* and event-trigger-* commands."""

from __future__ import annotations

import datetime
import json
import re

from levante.cli.base import (LIST, SHOW, Arg, CLIError, Record, command,
                              do_on_many, get_filters, lister_args,
                              list_params, listing, load_json, seg)

CRON_COLUMNS = [
    ("name", "Name"),
    ("workflow_name", "Workflow"),
    ("workflow_params", "Params"),
    ("pattern", "Pattern"),
    ("next_execution_time", "Next execution time"),
    ("remaining_executions", "Remaining executions"),
    ("created_at", "Created at"),
    ("updated_at", "Updated at"),
]
CRON_FIELDS = [c[0] for c in CRON_COLUMNS]
CRON_HEADINGS = [c[1] for c in CRON_COLUMNS]

EVENT_COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("workflow_id", "Workflow ID"),
    ("workflow_params", "Params"),
    ("exchange", "Exchange"),
    ("topic", "Topic"),
    ("event", "Event"),
    ("created_at", "Created at"),
    ("updated_at", "Updated at"),
]
EVENT_FIELDS = [c[0] for c in EVENT_COLUMNS]
EVENT_HEADINGS = [c[1] for c in EVENT_COLUMNS]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


def format_cron(t: dict) -> tuple:
    return tuple(t.get(key) for key in CRON_FIELDS)


def format_event(t: dict) -> tuple:
    return tuple(t.get(key) for key in EVENT_FIELDS)


def event_record(t: dict) -> Record:
    """One event trigger; one on a broker's exchange also says whether the server listens for it."""
    if "broker" in t:
        return Record(EVENT_HEADINGS + ["Broker"], format_event(t) + (t["broker"],))
    return Record(EVENT_HEADINGS, format_event(t))


def _json_arg(value: str | None) -> dict:
    """An input/params argument: JSON text or a JSON/YAML file; empty -> {}."""
    return load_json(value) if value else {}


def to_utc(value: str | None) -> str | None:
    """``--first-time`` in local time -> the same moment in UTC, as the mistral CLI does."""
    if not value:
        return value
    for fmt in _TIME_FORMATS:
        try:
            local = datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return local.astimezone(datetime.timezone.utc).strftime(fmt)
    raise CLIError("time data %r does not match format '%%Y-%%m-%%d %%H:%%M'" % value)


# --------------------------------------------------------------------------
# cron triggers
# --------------------------------------------------------------------------


@command("cron-trigger-list", "List all cron triggers.", LIST, args=lister_args())
def cron_trigger_list(ctx, args):
    body = ctx.client.get("/cron_triggers", list_params(
        args, fields=CRON_FIELDS, filters=get_filters(args)))
    return listing(CRON_HEADINGS, format_cron, body.get("cron_triggers", []))


@command("cron-trigger-get", "Show specific cron trigger.", SHOW, args=[
    Arg("cron_trigger", help="Cron trigger name")])
def cron_trigger_get(ctx, args):
    return Record(CRON_HEADINGS, format_cron(
        ctx.client.get("/cron_triggers/%s" % seg(args.cron_trigger))))


@command("cron-trigger-create", "Create new trigger.", SHOW, args=[
    Arg("name", help="Cron trigger name"),
    Arg("workflow_identifier", help="Workflow name or ID"),
    Arg("workflow_input", nargs="?", help="Workflow input"),
    Arg("--params", help="Workflow params"),
    Arg("--pattern", type=str, metavar="<* * * * *>", help="Cron trigger pattern"),
    Arg("--first-time", dest="first_time", type=str, default=None,
        metavar="<YYYY-MM-DD HH:MM>",
        help="Date and time of the first execution. Time is treated as "
             "local time unless --utc is also specified"),
    Arg("--count", type=int, metavar="<integer>", help="Number of wanted executions"),
    Arg("--utc", action="store_true", help="All times specified should be treated as UTC"),
])
def cron_trigger_create(ctx, args):
    body = {
        "name": args.name,
        "pattern": args.pattern,
        "first_execution_time": args.first_time if args.utc else to_utc(args.first_time),
        "remaining_executions": args.count,
    }
    key = "workflow_id" if _UUID.match(args.workflow_identifier) else "workflow_name"
    body[key] = args.workflow_identifier
    wf_input = _json_arg(args.workflow_input)
    params = _json_arg(args.params)
    if wf_input:
        body["workflow_input"] = json.dumps(wf_input)
    if params:
        body["workflow_params"] = json.dumps(params)
    return Record(CRON_HEADINGS, format_cron(ctx.client.post("/cron_triggers", json_body=body)))


@command("cron-trigger-delete", "Delete trigger.", args=[
    Arg("cron_trigger", nargs="+", help="Name of cron trigger(s).")])
def cron_trigger_delete(ctx, args):
    do_on_many(
        ctx,
        lambda name: ctx.client.delete("/cron_triggers/%s" % seg(name)),
        args.cron_trigger,
        "Request to delete cron trigger %s has been accepted.",
        "Unable to delete the specified cron trigger(s).",
    )


# --------------------------------------------------------------------------
# event triggers
# --------------------------------------------------------------------------


@command("event-trigger-list", "List all event triggers.", LIST, args=lister_args())
def event_trigger_list(ctx, args):
    body = ctx.client.get("/event_triggers", list_params(
        args, fields=EVENT_FIELDS, filters=get_filters(args)))
    return listing(EVENT_HEADINGS, format_event, body.get("event_triggers", []))


@command("event-trigger-get", "Show specific event trigger.", SHOW, args=[
    Arg("event_trigger", help="Event trigger ID")])
def event_trigger_get(ctx, args):
    return event_record(ctx.client.get("/event_triggers/%s" % seg(args.event_trigger)))


@command("event-trigger-create", "Create new trigger.", SHOW, args=[
    Arg("name", help="Event trigger name"),
    Arg("workflow_id", help="Workflow ID"),
    Arg("exchange", type=str, help="Event trigger exchange"),
    Arg("topic", type=str, help="Event trigger topic"),
    Arg("event", type=str, help="Event trigger event name"),
    Arg("workflow_input", nargs="?", help="Workflow input"),
    Arg("--params", help="Workflow params"),
])
def event_trigger_create(ctx, args):
    body = {"workflow_id": args.workflow_id, "name": args.name, "exchange": args.exchange,
            "topic": args.topic, "event": args.event}
    wf_input = _json_arg(args.workflow_input)
    params = _json_arg(args.params)
    if wf_input:
        body["workflow_input"] = json.dumps(wf_input)
    if params:
        body["workflow_params"] = json.dumps(params)
    return event_record(ctx.client.post("/event_triggers", json_body=body))


@command("event-trigger-delete", "Delete trigger.", args=[
    Arg("event_trigger_id", nargs="+", help="ID of event trigger(s).")])
def event_trigger_delete(ctx, args):
    do_on_many(
        ctx,
        lambda tid: ctx.client.delete("/event_triggers/%s" % seg(tid)),
        args.event_trigger_id,
        "Request to delete event trigger %s has been accepted.",
        "Unable to delete the specified event trigger(s).",
    )
