"""Notification targets: the ``notify`` execution parameter and the server default.

A target is Mistral's publisher entry, a dict with a ``type`` and the
publisher's own keys::

    {"type": "webhook", "url": "https://example.com/hook",
     "headers": {"X-Auth-Token": "..."}, "event_types": ["WORKFLOW_SUCCEEDED"]}

``event_types`` (optional, empty = all) filters the events sent to it.
``noop`` targets are accepted and send nothing, as in Mistral.
"""
from __future__ import annotations

import json
import os
from typing import Any

from levante.runtime.events import TASK_EVENTS, WORKFLOW_EVENTS

ENV_VAR = "LEVANTE_NOTIFY"
TYPES = ("webhook", "noop")
# Mistral's names, WORKFLOW_RERUN included (a failed workflow running again).
EVENT_TYPES = WORKFLOW_EVENTS + TASK_EVENTS


class TargetError(ValueError):
    """A notify list that cannot be used; the message says what and where."""


def check(value: Any, where: str = "notify") -> list[dict]:
    """Validate a notify list; returns it (None -> [])."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TargetError(f"'{where}' must be a list of publishers, got {type(value).__name__}: "
                          f"{_short(value)}")
    for i, t in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(t, dict):
            raise TargetError(f"'{at}' must be an object like {{\"type\": \"webhook\", \"url\": ...}}, "
                              f"got {_short(t)}")
        kind = t.get("type")
        if kind not in TYPES:
            raise TargetError(f"'{at}.type' must be one of {', '.join(TYPES)}, got {kind!r}")
        if kind == "webhook":
            url = t.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise TargetError(f"'{at}.url' must be an http:// or https:// URL, got {url!r}")
            headers = t.get("headers", {})
            if headers is None:
                headers = {}
            if not isinstance(headers, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
                raise TargetError(f"'{at}.headers' must be an object of strings, got {_short(headers)}")
        types = t.get("event_types", [])
        if types is None:
            types = []
        if not isinstance(types, list):
            raise TargetError(f"'{at}.event_types' must be a list of event names, got {_short(types)}")
        bad = [e for e in types if e not in EVENT_TYPES]
        if bad:
            raise TargetError(f"'{at}.event_types' has unknown event(s) {bad}; known: "
                              f"{', '.join(EVENT_TYPES)}")
    return value


def parse_default(text: str | None, where: str = ENV_VAR) -> list[dict]:
    """The server-wide default list from JSON text (a single object is a list of one)."""
    if text is None or not text.strip():
        return []
    try:
        value = json.loads(text)
    except ValueError as e:
        raise TargetError(f"{where} is not valid JSON: {e}") from e
    if isinstance(value, dict):
        value = [value]
    return check(value, where)


def default_from_env() -> list[dict]:
    return parse_default(os.environ.get(ENV_VAR))


def wants(target: dict, event_type: str) -> bool:
    """Whether ``target`` subscribes to ``event_type``."""
    types = target.get("event_types") or []
    if not isinstance(types, list):
        return False
    return not types or event_type in types


def usable(target: Any) -> bool:
    """A quick check for lists that come from stored data (never raises)."""
    try:
        check([target])
    except TargetError:
        return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
