"""The ``zaqar.*`` actions, served by Levante's built-in queues.

Names and inputs are those of Mistral's Zaqar actions (python-zaqarclient's
``Queue`` methods), so workflows written for Mistral + Zaqar run unchanged;
results have the shapes those actions return (plain JSON). Besides Mistral's
five (queue_post, queue_pop, queue_messages, claim_messages, delete_messages)
there are queue_create, queue_delete, queue_exists, queue_stats and
queue_metadata.

This module knows nothing of the database: the executor hands each action
its runtime's queue service in the action context (``context.backends``,
filled by the composition root, ``levante/cli/server.py``).
"""
from __future__ import annotations

from typing import Any

from mistral_lib import actions

# The keyword inputs zaqarclient's Queue.messages() and Queue.claim() take.
MESSAGE_PARAMS = ("echo", "include_claimed", "limit", "marker")
CLAIM_PARAMS = ("ttl", "grace", "limit")


def _queues(context: Any = None) -> Any:
    """The queue service of the runtime running the action (``context.backends``, given
    by the executor), as the execution's project sees it (all queues without
    authentication)."""
    backend = (getattr(context, "backends", None) or {}).get("queues")
    if backend is None:
        raise RuntimeError("The built-in queue service is not available in this process.")
    project = getattr(getattr(context, "security", None), "project_id", None)
    return backend.for_project(project)


def _href(queue: str, message_id: str, claim_id: str | None = None) -> str:
    href = f"/v2/queues/{queue}/messages/{message_id}"
    return f"{href}?claim_id={claim_id}" if claim_id else href


def message_result(m: Any, href: str | None) -> dict:
    """A message as Mistral's zaqar actions return it (zaqarclient's Message, serialized)."""
    return {"body": m.body, "age": m.age,
            "queue": {"_metadata": None, "client": None, "_name": m.queue},
            "href": href, "ttl": m.ttl, "_id": m.id}


def _only(params: dict, allowed: tuple[str, ...], action: str) -> None:
    bad = sorted(k for k in params if k not in allowed)
    if bad:
        raise ValueError(f"Unexpected input for {action}: {bad}; allowed: {list(allowed)}")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class QueuePostAction(actions.Action):
    """Posts one or more messages to a queue (created if missing).

    ``messages``: one message ``{"body": ..., "ttl": seconds}`` or a list of them.
    Returns ``{"resources": ["/v2/queues/<queue>/messages/<id>", ...]}``.
    """

    def __init__(self, queue_name, messages):
        self.queue_name = queue_name
        self.messages = messages

    def run(self, context):
        posted = _queues(context).post(self.queue_name, self.messages)
        return {"resources": [_href(m.queue, m.id) for m in posted]}


class QueuePopAction(actions.Action):
    """Pops ``count`` messages from the head of the queue (FIFO): they are
    returned and deleted at once. Returns a list, empty when the queue is."""

    def __init__(self, queue_name, count=1):
        self.queue_name = queue_name
        self.count = count

    def run(self, context):
        q = _queues(context)
        q.create_queue(self.queue_name)
        return [message_result(m, None) for m in q.pop(self.queue_name, self.count)]


class QueueMessagesAction(actions.Action):
    """Gets a list of messages from the queue without removing them.

    Filters: ``limit`` (default 10), ``marker``, ``echo``, ``include_claimed``
    (claimed messages are left out unless true).
    """

    def __init__(self, queue_name, **params):
        self.queue_name = queue_name
        self.params = params

    def run(self, context):
        _only(self.params, MESSAGE_PARAMS, "zaqar.queue_messages")
        q = _queues(context)
        q.create_queue(self.queue_name)
        msgs, _ = q.list_messages(self.queue_name, marker=self.params.get("marker"),
                                  limit=self.params.get("limit"),
                                  include_claimed=_truthy(self.params.get("include_claimed")))
        return [message_result(m, _href(m.queue, m.id)) for m in msgs]


class ClaimMessagesAction(actions.Action):
    """Claims messages from the queue: ``ttl`` (claim seconds, default 300),
    ``grace`` (default 60), ``limit`` (default 10).

    Claimed messages are hidden from other consumers until the claim expires.
    Returns the claimed messages, each with its ``claim_id``; delete them with
    zaqar.delete_messages when done.
    """

    def __init__(self, queue_name, **params):
        self.queue_name = queue_name
        self.params = params

    def run(self, context):
        _only(self.params, CLAIM_PARAMS, "zaqar.claim_messages")
        q = _queues(context)
        q.create_queue(self.queue_name)
        claim = q.claim(self.queue_name, ttl=self.params.get("ttl"), grace=self.params.get("grace"),
                        limit=self.params.get("limit"))
        if claim is None:
            return []
        return [dict(message_result(m, _href(m.queue, m.id, claim.id)), claim_id=claim.id)
                for m in claim.messages]


class DeleteMessagesAction(actions.Action):
    """Deletes messages from the queue by id (``messages``: a list of ids,
    or of messages as other zaqar actions return them). Returns the ids deleted."""

    def __init__(self, queue_name, messages):
        self.queue_name = queue_name
        self.messages = messages

    def run(self, context):
        items = self.messages if isinstance(self.messages, list) else [self.messages]
        ids = [m.get("_id") or m.get("id") if isinstance(m, dict) else m for m in items]
        if not ids:
            return []
        return _queues(context).delete_messages(self.queue_name, ids)


class QueueCreateAction(actions.Action):
    """Creates a queue (with optional ``metadata``); an existing queue is kept as it is.
    Returns ``{"name", "created", "metadata"}``."""

    def __init__(self, queue_name, metadata=None):
        self.queue_name = queue_name
        self.metadata = metadata

    def run(self, context):
        q = _queues(context)
        created = q.create_queue(self.queue_name, self.metadata)
        return {"name": self.queue_name, "created": created, "metadata": q.get_metadata(self.queue_name)}


class QueueDeleteAction(actions.Action):
    """Deletes a queue and all its messages (a missing queue is no error)."""

    def __init__(self, queue_name):
        self.queue_name = queue_name

    def run(self, context):
        _queues(context).delete_queue(self.queue_name)
        return None


class QueueExistsAction(actions.Action):
    """Tells whether the queue exists (true or false)."""

    def __init__(self, queue_name):
        self.queue_name = queue_name

    def run(self, context):
        return _queues(context).queue_exists(self.queue_name)


class QueueStatsAction(actions.Action):
    """The queue's stats as Zaqar gives them: ``{"messages": {"free", "claimed",
    "total"}}``, plus ``oldest`` and ``newest`` (href, age, created) when there are messages."""

    def __init__(self, queue_name):
        self.queue_name = queue_name

    def run(self, context):
        stats = _queues(context).stats(self.queue_name)
        for key in ("oldest", "newest"):
            if key in stats:
                end = stats[key]
                stats[key] = {"href": _href(self.queue_name, end["id"]), "age": end["age"],
                              "created": end["created"]}
        return {"messages": stats}


class QueueMetadataAction(actions.Action):
    """Gets the queue's metadata, or replaces it with ``new_meta`` when given
    (the queue is created if missing). Returns the metadata."""

    def __init__(self, queue_name, new_meta=None):
        self.queue_name = queue_name
        self.new_meta = new_meta

    def run(self, context):
        q = _queues(context)
        if self.new_meta is not None:
            return q.set_metadata(self.queue_name, self.new_meta)
        q.create_queue(self.queue_name)
        return q.get_metadata(self.queue_name)


# name -> (class, safe_rerun), like levante.actions.std.BUILTINS
ACTIONS: dict[str, tuple[type, bool]] = {
    "zaqar.queue_post": (QueuePostAction, False),
    "zaqar.queue_pop": (QueuePopAction, False),
    "zaqar.queue_messages": (QueueMessagesAction, True),
    "zaqar.claim_messages": (ClaimMessagesAction, False),
    "zaqar.delete_messages": (DeleteMessagesAction, True),
    "zaqar.queue_create": (QueueCreateAction, True),
    "zaqar.queue_delete": (QueueDeleteAction, True),
    "zaqar.queue_exists": (QueueExistsAction, True),
    "zaqar.queue_stats": (QueueStatsAction, True),
    "zaqar.queue_metadata": (QueueMetadataAction, True),
}
