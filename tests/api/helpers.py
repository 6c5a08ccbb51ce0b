"""Helpers shared by the API tests (python-mistralclient against a live server)."""
from __future__ import annotations

import json
import time
import uuid

import pytest
from mistralclient.api.base import APIException

from tests.conftest import wait_for_state

FINAL = ("SUCCESS", "ERROR", "CANCELLED")


def unique(prefix: str = "wf") -> str:
    """A workflow/workbook/environment name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def wf_yaml(name: str, body: str) -> str:
    """A v2 document with one workflow ``name`` whose indented body is ``body``."""
    lines = ["---", 'version: "2.0"', f"{name}:"]
    lines += ["  " + ln if ln.strip() else ln for ln in body.strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def create_wf(mistral, name: str, body: str):
    (wf,) = mistral.workflows.create(wf_yaml(name, body))
    assert wf.name == name
    return wf


def finish(mistral, exec_id: str, timeout: float = 30.0):
    """Wait until the execution is SUCCESS/ERROR/CANCELLED and return it."""
    return wait_for_state(lambda: mistral.executions.get(exec_id), FINAL, timeout)


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def api_error(func, *args, **kwargs) -> APIException:
    """Call ``func`` expecting the client to raise APIException; return it."""
    with pytest.raises(APIException) as info:
        func(*args, **kwargs)
    return info.value


def as_json(value):
    """Mistral's JSON-valued fields arrive as JSON text: decode them."""
    assert isinstance(value, str), f"expected a JSON string, got {type(value).__name__}: {value!r}"
    return json.loads(value)


ECHO = """
tasks:
  hello:
    action: std.echo output="hi"
"""

SLEEPY = """
tasks:
  nap:
    action: std.sleep seconds=2
    on-success: [wake]
  wake:
    action: std.echo output="awake"
    publish:
      woke: <% task().result %>
"""
