"""Built-in durable message queues, kept in Levante's own database.

They follow OpenStack Zaqar's model (queues, messages with a TTL, claims) so
that workflows written for Mistral's ``zaqar.*`` actions, and clients of
Zaqar's v2 messages API, work against Levante with nothing else to run.

``service.QueueService`` holds the logic; the composition root
(``levante/cli/server.py``) makes one per runtime and hands it to the
``zaqar.*`` actions (``levante/actions/zaqar.py``, through the runtime's
``backends``), to ``levante/api/queues.py`` over HTTP, and to the event
triggers; ``levante/cli/queues.py`` is its command line.
"""
from __future__ import annotations
