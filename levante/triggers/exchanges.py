"""Where event triggers listen: Levante's own exchanges, and whether this
server can listen to a message broker for the others."""
from __future__ import annotations

import importlib.util

from levante.config import get_settings

# Levante's execution events go out on both names (``mistral`` as Mistral's own).
EXECUTION_EXCHANGES = ("levante", "mistral")
EXECUTIONS_TOPIC = "executions"
QUEUES_EXCHANGE = "queues"
INSTALL_HINT = "pip install 'levante[broker]'"


def oslo_messaging_installed() -> bool:
    return importlib.util.find_spec("oslo_messaging") is not None


def waiting_reason(transport_url: str | None = None) -> str | None:
    """Why triggers on a broker's exchanges cannot fire here, or None if they can."""
    url = get_settings().transport_url if transport_url is None else transport_url
    if not url:
        return ("the server has no message broker: set transport_url (levante server "
                "--transport-url rabbit://user:password@host:5672/)")
    if not oslo_messaging_installed():
        return f"oslo.messaging is not installed ({INSTALL_HINT})"
    return None
