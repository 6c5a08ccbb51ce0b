"""What one evaluation may spend: time, result size, regex time.

Workflow expressions are untrusted. :func:`levante.expr.evaluate` takes a
:class:`Budget`; the runtime passes one whose :meth:`Budget.start` arms a
watchdog (``levante.runtime.watchdog``) that raises :class:`OutOfTime` inside
the evaluating thread when the time is up. The expression layer itself starts
no threads: without a watchdog (``Budget()``), only the size limits apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class OutOfTime(BaseException):
    """Raised asynchronously inside an evaluation that ran out of time.

    A BaseException, so that no ``except Exception`` in yaql, Jinja or our
    own code swallows it on its way out of the evaluation.
    """


class Abandoned(BaseException):
    """Raised inside an evaluation when the work it belongs to is given up as a
    whole, to be done again elsewhere (not a failure of the expression): the
    API's fast start of an execution that takes longer than its allowance."""


@dataclass(frozen=True)
class Limits:
    #: Seconds one evaluate() call may run (setting ``expression_timeout``); 0: no limit.
    timeout: float = 0.0
    #: Longest string an expression or template may produce, in characters
    #: (setting ``expression_result_size``); 0: no limit.
    result_size: int = 0


class Budget:
    """No time limit (nothing interrupts the evaluation); size limits only."""

    def __init__(self, limits: Limits = Limits()):
        self.limits = limits

    def start(self) -> Any:
        """Arm the time limit for the calling thread; returns a handle for stop()."""
        return None

    def stop(self, handle: Any) -> None:
        """Disarm; safe to call twice with the same handle."""

    def timeout_message(self, handle: Any, expression: str | None) -> str:
        """What the error says when the evaluation armed with ``handle`` ran out of time."""
        return timeout_message(self.limits, expression)

    def memory_message(self, expression: str | None) -> str:
        """What the error says when an allocation failed during the evaluation."""
        return "Expression evaluation ran out of memory [expression=%s]" % expression

    def regex_timeout(self) -> float | None:
        """Seconds one regular expression match may take (None: no limit)."""
        return self.limits.timeout or None


NO_BUDGET = Budget()


def timeout_message(limits: Limits, expression: str | None) -> str:
    shown = int(limits.timeout) if float(limits.timeout).is_integer() else limits.timeout
    return ("Expression evaluation ran out of its time budget of %ss (setting "
            "expression_timeout) [expression=%s]" % (shown, expression))


def size_message(limits: Limits, expression: str | None) -> str:
    return ("Expression result is larger than its budget of %d characters (setting "
            "expression_result_size) [expression=%s]" % (limits.result_size, expression))
