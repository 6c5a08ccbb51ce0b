"""The services beside the runtime that the API reaches (``runtime.services``)."""
from __future__ import annotations

from typing import Any, Callable

from fastapi import Request


def service(request: Request, name: str, make: Callable[[], Any]) -> Any:
    """The runtime's service ``name``, put in ``runtime.services`` by the
    composition root; for a runtime made without it, one ``make()`` kept on
    this app (a live stream then follows the database alone, an event
    trigger API keeps its state to itself)."""
    found = getattr(request.app.state.runtime, "services", {}).get(name)
    if found is None:
        key = f"local_{name}"
        found = getattr(request.app.state, key, None)
        if found is None:
            found = make()
            setattr(request.app.state, key, found)
    return found
