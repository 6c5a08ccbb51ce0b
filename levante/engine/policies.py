"""Task policies: how long to wait, whether to retry, when to give up.

Each value may be a literal or an expression; :func:`number` and
:func:`flag` evaluate them against the task's data.
"""
from __future__ import annotations

from typing import Any, Callable

from levante import expr
from levante.lang.spec import RetryPolicy


class PolicyError(Exception):
    pass


def number(value: Any, evaluate: Callable[[Any], Any], what: str) -> float:
    if value is None:
        return 0.0
    v = evaluate(value)
    if v is None or v == "":
        return 0.0
    try:
        n = float(v)
    except (TypeError, ValueError):
        raise PolicyError(f"'{what}' must be a number, got {v!r}")
    if n < 0:
        raise PolicyError(f"'{what}' must not be negative, got {v!r}")
    return n


def flag(value: Any, evaluate: Callable[[Any], Any]) -> bool:
    if value is None:
        return False
    return bool(evaluate(value))


def should_retry(retry: RetryPolicy | None, ok: bool, attempt: int,
                 evaluate: Callable[[Any], Any], max_count: int = 0) -> tuple[bool, float]:
    """(retry again?, delay seconds) after attempt number ``attempt`` (0-based) ended.

    Mistral's rules: a failed task is retried while retries are left unless
    ``break-on`` is true; ``continue-on`` keeps repeating a task while it is
    true, successful or not.
    """
    if retry is None:
        return False, 0.0
    try:
        count = int(number(retry.count, evaluate, "retry.count"))
        delay = number(retry.delay, evaluate, "retry.delay")
        if max_count and count > max_count:
            raise PolicyError(f"Retry count {count} is more than the limit of {max_count} "
                              "(setting max_retry_count)")
        if attempt >= count:
            return False, 0.0
        if not ok and retry.break_on is not None and flag(retry.break_on, evaluate):
            return False, 0.0
        if retry.continue_on is not None:
            return flag(retry.continue_on, evaluate), delay
        return (not ok), delay
    except expr.ExpressionError as e:
        raise PolicyError(f"Failed to evaluate retry policy: {e}")
