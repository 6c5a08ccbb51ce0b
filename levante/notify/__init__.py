"""Notifications and live progress of executions.

- ``notify`` targets (Mistral's publishers): webhooks called for the
  WORKFLOW_*/TASK_* events of an execution, from durable ``notify`` jobs
  written in the state-change transaction and delivered with retries.
- Live event streams: committed events fanned out in-process to the
  ``/v2/executions/{id}/events`` streams, with a database fallback.

Public surface: :class:`Notifier` (one per runtime, with its :class:`Hub`),
:mod:`levante.notify.targets` for the notify lists, :mod:`levante.notify.live`.
"""
from levante.notify.delivery import DeliveryConfig
from levante.notify.hub import Hub
from levante.notify.notifier import Notifier
from levante.notify.targets import ENV_VAR, TargetError, parse_default
from levante.store.notifications import NOTIFY

__all__ = ["DeliveryConfig", "ENV_VAR", "Hub", "NOTIFY", "Notifier", "TargetError", "parse_default"]
