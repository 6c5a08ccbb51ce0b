"""Helpers shared by the workflow-language API tests (test_language_v2_*)."""
from __future__ import annotations

import json
import textwrap
import time
import uuid

from tests.conftest import wait_for_state

def define(mistral, text: str, *tokens: str) -> dict[str, str]:
    """Create the workflows of ``text``, each token replaced by a fresh name."""
    names = {t: f"{t.lower()}_{uuid.uuid4().hex[:10]}" for t in tokens}
    for token in sorted(names, key=len, reverse=True):
        text = text.replace(token, names[token])
    mistral.workflows.create(textwrap.dedent(text))
    return names


def tasks_by_name(mistral, exec_id: str) -> dict:
    return {t.name: t for t in mistral.tasks.list(exec_id)}


def task_names(mistral, exec_id: str) -> list:
    return sorted(t.name for t in mistral.tasks.list(exec_id))


def until(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def finished(mistral, exec_id: str, timeout: float = 30.0):
    return wait_for_state(lambda: mistral.executions.get(exec_id), timeout=timeout)


def settled(mistral, exec_id: str, timeout: float = 30.0):
    return wait_for_state(lambda: mistral.executions.get(exec_id),
                          states=("SUCCESS", "ERROR", "CANCELLED", "PAUSED"), timeout=timeout)


def output(ex) -> dict:
    return json.loads(ex.output or "{}")


def actions_of(mistral, task_id: str) -> list:
    return list(mistral.action_executions.list(task_id))
