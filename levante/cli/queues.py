"""queue-* commands: Levante's built-in message queues (Zaqar's v2 API under /v2/queues)."""

from __future__ import annotations

import json
from typing import Any

from levante.cli.base import (LIST, SHOW, Arg, CLIError, Listing, Record,
                              command, do_on_many, listing, seg)

MESSAGE_HEADINGS = ["ID", "Body", "Age", "TTL"]
PAGE = 100


def parse_body(text: str) -> Any:
    """A message body: JSON text, else the text itself as a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _body_text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)


def _message_row(m: dict) -> tuple:
    return (m.get("id"), _body_text(m.get("body")), m.get("age"), m.get("ttl"))


def _path(queue: str, *rest: str) -> str:
    return "/queues/" + "/".join([seg(queue), *rest])


@command("queue-post", "Post a message to a queue (the queue is created if missing).", LIST, args=[
    Arg("queue", help="Queue name."),
    Arg("body", help="Message body: JSON (an object, list, string, number...); "
                     "text that is not JSON is posted as a string."),
    Arg("--ttl", type=int, default=None,
        help="Seconds the message lives (default: the queue's, 3600)."),
])
def queue_post(ctx, args):
    message: dict = {"body": parse_body(args.body)}
    if args.ttl is not None:
        message["ttl"] = args.ttl
    result = ctx.client.post(_path(args.queue, "messages"), json_body={"messages": [message]})
    hrefs = (result or {}).get("resources", [])
    return Listing(["ID", "Href"], [(h.rsplit("/", 1)[-1], h) for h in hrefs])


@command("queue-pop", "Take messages off the head of a queue (they are deleted).", LIST, args=[
    Arg("queue", help="Queue name."),
    Arg("--count", type=int, default=1, help="How many messages to pop (default 1)."),
])
def queue_pop(ctx, args):
    if args.count < 1:
        raise CLIError("--count must be at least 1")
    result = ctx.client.delete(_path(args.queue, "messages"), params=[("pop", args.count)])
    return listing(MESSAGE_HEADINGS, _message_row, (result or {}).get("messages", []))


@command("queue-list", "List queues, or the messages of one queue (claimed ones too; "
                       "nothing is removed).", LIST, args=[
    Arg("queue", nargs="?", help="Queue name: list its messages instead of the queues."),
    Arg("--limit", type=int, default=None, help="At most this many entries."),
])
def queue_list(ctx, args):
    if args.queue:
        messages = _all(ctx, _path(args.queue, "messages"), "messages", args.limit,
                        [("echo", "true"), ("include_claimed", "true")])
        return Listing(MESSAGE_HEADINGS + ["Claimed"],
                       [_message_row(m) + (bool(m.get("claim_id")),) for m in messages]
                       or [("", "", "", "", "")])
    queues = _all(ctx, "/queues", "queues", args.limit, [("detailed", "true")])
    rows = []
    for q in queues:
        stats = (ctx.client.get(_path(q["name"], "stats")) or {}).get("messages", {})
        rows.append((q["name"], stats.get("total", 0), stats.get("claimed", 0),
                     json.dumps(q.get("metadata") or {})))
    return Listing(["Name", "Messages", "Claimed", "Metadata"], rows or [("", "", "", "")])


def _all(ctx, path: str, key: str, limit: int | None, params: list) -> list[dict]:
    """Every page of a Zaqar listing (up to ``limit`` entries)."""
    items: list[dict] = []
    marker = None
    while limit is None or len(items) < limit:
        page = PAGE if limit is None else min(PAGE, limit - len(items))
        query = params + [("limit", page)] + ([("marker", marker)] if marker else [])
        body = ctx.client.get(path, query) or {}
        chunk = body.get(key, [])
        items.extend(chunk)
        nxt = [link["href"] for link in body.get("links", []) if link.get("rel") == "next"]
        if not chunk or not nxt or "marker=" not in nxt[0]:
            break
        marker = nxt[0].split("marker=", 1)[1].split("&", 1)[0]
    return items


@command("queue-create", "Create a queue.", args=[
    Arg("queue", help="Queue name (letters, digits, _ and -; at most 64)."),
    Arg("--metadata", default=None, help="Queue metadata as a JSON object, e.g. "
                                         "'{\"_default_message_ttl\": 600}'."),
])
def queue_create(ctx, args):
    metadata = {}
    if args.metadata:
        metadata = parse_body(args.metadata)
        if not isinstance(metadata, dict):
            raise CLIError("--metadata must be a JSON object")
    ctx.client.put(_path(args.queue), json_body=metadata)
    ctx.stdout.write("Queue %s is ready.\n" % args.queue)


@command("queue-delete", "Delete queues with all their messages.", args=[
    Arg("queue", nargs="+", help="Name of queue(s).")])
def queue_delete(ctx, args):
    do_on_many(
        ctx,
        lambda name: ctx.client.delete(_path(name)),
        args.queue,
        "Request to delete queue %s has been accepted.",
        "Unable to delete the specified queue(s).",
    )


@command("queue-stats", "Show how many messages a queue holds.", SHOW, args=[
    Arg("queue", help="Queue name.")])
def queue_stats(ctx, args):
    stats = (ctx.client.get(_path(args.queue, "stats")) or {}).get("messages", {})
    oldest, newest = stats.get("oldest") or {}, stats.get("newest") or {}
    return Record(["Queue", "Free", "Claimed", "Total", "Oldest age", "Newest age"],
                  (args.queue, stats.get("free", 0), stats.get("claimed", 0), stats.get("total", 0),
                   oldest.get("age"), newest.get("age")))
