"""Cron triggers and event triggers: workflows started by time or by events.

Public surface:

* :func:`fire_event` -- for any event source (the queues fire messages with
  it): starts the workflows of the matching event triggers in the caller's
  transaction.
* :class:`EventTriggers` -- the live state of one runtime's event triggers
  (known exchanges, change hooks, routes cache, broker listener), made by
  the composition root.
* :func:`install` -- called by the composition root for each runtime:
  listens to its execution events and its queues' posts, gives its scheduler
  the cron step, and (scheduler role, with a ``transport_url``) listens to
  the broker's notifications.
* :class:`CronFirer` -- the scheduler's cron step.
* :func:`check_workflow_deletable` -- for the workflow DELETE: refuses while
  triggers start the workflow, as Mistral does.
"""
from __future__ import annotations

from levante.triggers.cron import CronFirer, fire_due
from levante.triggers.guard import check_workflow_deletable
from levante.triggers.event import ANY_EVENT, MAX_DEPTH, execution_depth, fire_event
from levante.triggers.exchanges import EXECUTION_EXCHANGES, EXECUTIONS_TOPIC, QUEUES_EXCHANGE
from levante.triggers.registry import EventTriggers

__all__ = ["ANY_EVENT", "EXECUTION_EXCHANGES", "EXECUTIONS_TOPIC", "MAX_DEPTH", "QUEUES_EXCHANGE",
           "CronFirer", "EventTriggers", "check_workflow_deletable", "execution_depth", "fire_due",
           "fire_event", "install"]


def install(runtime, event_triggers: EventTriggers, queues=None) -> None:
    """Hook the triggers into ``runtime`` (the composition root calls it, with
    the runtime's own ``event_triggers``): fire the event triggers on its
    execution events and on messages posted to ``queues`` (its QueueService),
    fire the cron triggers from its scheduler, and (scheduler role, with a
    ``transport_url``) listen to the broker's notifications. Each wakes the
    runtime's engine when it started an execution."""
    from levante.triggers import broker, event

    def on_execution(conn, ev) -> None:
        if event.on_execution_event(conn, ev, event_triggers):
            runtime.wake_engine()

    def on_queue_post(conn, project_id: str, queue: str, messages: list) -> None:
        if _on_queue_post(conn, project_id, queue, messages):
            runtime.wake_engine()

    runtime.events.subscribe(on_execution)
    if queues is not None:
        queues.on_post(on_queue_post)
    runtime.scheduler.add_step(CronFirer(runtime.db).run)
    broker.install(runtime, event_triggers)     # OpenStack notifications, when the server has a broker


def _on_queue_post(conn, project_id: str, queue: str, messages: list) -> list[str]:
    """A message posted to a queue fires the event triggers on exchange "queues",
    topic = the queue's name, event MESSAGE_POSTED (one event per message), of
    the project that owns the queue; returns the executions started."""
    started: list[str] = []
    for m in messages:
        started += fire_event(conn, QUEUES_EXCHANGE, queue, "MESSAGE_POSTED",
                              {"queue": queue, "message_id": m.id, "body": m.body, "ttl": m.ttl},
                              project_id=project_id)
    return started
