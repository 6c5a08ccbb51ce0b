"""Built-in durable message queues, kept in Levante's own database.

They follow OpenStack Zaqar's model (queues, messages with a TTL, claims) so
that workflows written for Mistral's ``zaqar.*`` actions, and clients of
Zaqar's v2 messages API, work against Levante with nothing else to run.

``service.QueueService`` holds the logic; ``levante/actions/zaqar.py`` exposes
it as actions, ``levante/api/queues.py`` over HTTP and ``levante/cli/queues.py``
on the command line.
"""
from __future__ import annotations


def install(db):
    """Serve the queues in ``db`` to this process's ``zaqar.*`` actions; returns the service."""
    from levante.actions import zaqar
    from levante.queues.service import QueueService

    service = QueueService(db)
    zaqar.set_backend(service)
    return service
