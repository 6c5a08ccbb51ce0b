"""The ``std.*`` actions of the core: echo, noop, fail, sleep, async_noop."""
from __future__ import annotations

from mistral_lib import actions

from levante.actions.base import Deferred


class EchoAction(actions.Action):
    """Echo action: returns the configured value as its result.

    Useful to stub a step while designing a workflow, and in demonstrations.
    """

    def __init__(self, output, delay=0):
        self.output = output
        self.delay = delay

    def run(self, context):
        if self.delay:
            raise Deferred(float(self.delay), self.output)
        return self.output


class NoOpAction(actions.Action):
    """No-operation action: does nothing and returns None."""

    def run(self, context):
        return None


class AsyncNoOpAction(NoOpAction):
    """Asynchronous no-operation action: stays RUNNING until a client completes
    it through PUT /v2/action_executions/{id}."""

    def is_sync(self):
        return False


class FailAction(actions.Action):
    """Fail action: always fails; ``error_data`` becomes the error."""

    def __init__(self, error_data=None):
        self.error_data = error_data

    def run(self, context):
        if self.error_data is not None:
            return actions.Result(error=self.error_data)
        raise RuntimeError("Fail action expected exception.")


class SleepAction(actions.Action):
    """Sleep action: finishes after ``seconds``. Levante keeps it as a due job,
    so a sleeping action holds no thread and survives restarts."""

    def __init__(self, seconds=1):
        self.seconds = seconds

    def run(self, context):
        try:
            seconds = float(self.seconds)
        except (TypeError, ValueError):
            seconds = 0.0
        raise Deferred(max(seconds, 0.0), None)


class TestDictAction(actions.Action):
    """Test dict action: returns a dict of ``size`` keys ``key_prefix + i`` with ``val``.

    Meant for tests and benchmarks of large results.
    """

    def __init__(self, size=0, key_prefix="", val=""):
        self.size = size
        self.key_prefix = key_prefix
        self.val = val

    def run(self, context):
        return {f"{self.key_prefix}{i}": self.val for i in range(int(self.size))}
