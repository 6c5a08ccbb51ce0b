"""Cron triggers and event triggers: workflows started by time or by events.

Public surface:

* :func:`fire_event` -- for any event source (the queues fire messages with
  it): starts the workflows of the matching event triggers in the caller's
  transaction.
* :func:`install` -- called once by the runtime: subscribes the execution
  event listener, lets triggers wake the engine, and (scheduler role, with a
  ``transport_url``) listens to the broker's notifications.
* :class:`CronFirer` -- the scheduler's cron step.
* :func:`check_workflow_deletable` -- for the workflow DELETE: refuses while
  triggers start the workflow, as Mistral does.
"""
from __future__ import annotations

from levante.triggers.cron import CronFirer, fire_due
from levante.triggers.guard import check_workflow_deletable
from levante.triggers.event import (ANY_EVENT, EXECUTION_EXCHANGES, EXECUTIONS_TOPIC, MAX_DEPTH,
                                    QUEUES_EXCHANGE, execution_depth, fire_event,
                                    on_execution_event, register_exchange)

__all__ = ["ANY_EVENT", "EXECUTION_EXCHANGES", "EXECUTIONS_TOPIC", "MAX_DEPTH", "QUEUES_EXCHANGE",
           "CronFirer", "check_workflow_deletable", "execution_depth", "fire_due", "fire_event", "install", "register_exchange"]


def install(runtime) -> None:
    """Hook the triggers into a runtime: fire event triggers on execution events
    and wake its engine when a trigger queued an execution."""
    from levante.runtime import events
    from levante.triggers import launch

    from levante.queues.service import subscribe_post

    from levante.triggers import broker

    events.subscribe(on_execution_event)
    subscribe_post(_on_queue_post)
    launch.add_waker(runtime._wake_engine)
    broker.install(runtime)     # OpenStack notifications, when the server has a broker


def _on_queue_post(conn, project_id: str, queue: str, messages: list) -> None:
    """A message posted to a queue fires the event triggers on exchange "queues",
    topic = the queue's name, event MESSAGE_POSTED (one event per message), of
    the project that owns the queue."""
    for m in messages:
        fire_event(conn, QUEUES_EXCHANGE, queue, "MESSAGE_POSTED",
                   {"queue": queue, "message_id": m.id, "body": m.body, "ttl": m.ttl}, project_id=project_id)
