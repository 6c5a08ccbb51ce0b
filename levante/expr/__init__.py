"""Expressions in workflow definitions: YAQL ``<% %>`` and Jinja ``{{ }}``.

Semantics follow Mistral's:

* :func:`evaluate` walks dicts (keys and values) and lists and evaluates
  every string holding an expression; anything else comes back as it is.
* A string that is a single ``<% expr %>`` (whitespace around it allowed)
  gives the raw YAQL result, of any type. A string mixing text and
  ``<% %>`` parts gives a string, each part's result put in with ``str()``.
* A string that is a single ``{{ expr }}`` gives the raw Jinja value; any
  other string with ``{{ }}`` or ``{% %}`` is rendered as a template. In
  Jinja the data is ``_``. When a string has both kinds, it is Jinja (as in
  Mistral, whose evaluators are tried in name order), and :func:`validate`
  reports the mix.
* Functions ``task``, ``tasks``, ``execution``, ``env``, ``global``,
  ``json_dump``, ``json_pp``, ``json_parse``, ``yaml_dump``, ``yaml_parse``
  and ``uuid`` exist in both languages; the first five need a
  :class:`FunctionContext`.

Also as in Mistral (with yaql 1.0 and later): ``<% $.missing %>`` is an
error (use ``$.get(missing)`` for an optional key), and Jinja's undefined
values are strict (``{{ _.missing }}`` is an error, ``is defined`` works).

Every failure is an :class:`ExpressionError`; its message names the
expression and the reason, and of the data only its top-level key names
(values may be secrets). Parsed expressions and compiled templates are
cached by their text (bounded LRU caches).

Speed: plain paths (``$.a.b``, ``task(x).result``) and simple conditions
over them (``=``, ``!=``, ``<``..., ``in``, ``not``, ``and``, ``or`` with
scalar literals) skip yaql and give exactly what yaql gives, falling back
to yaql in every case they do not cover (tests/expr/test_fast_path.py
checks this against yaql). Everything else goes through yaql, with the
data converted once per :func:`evaluate` call.

Limits: yaql collections are capped at 1,000,000 items and values at
64 MiB (:func:`configure`); Jinja runs sandboxed, with ``*`` and ``**``
bounded.
"""

from __future__ import annotations

import gc
import re
from functools import lru_cache
from typing import Any

from . import jinja_eval, yaql_eval
from .budget import NO_BUDGET, Budget, Limits, OutOfTime, size_message
from .context import CURRENT, EvalState, FunctionContext, StaticContext
from .errors import ExpressionError

__all__ = [
    "Budget",
    "ExpressionError",
    "Limits",
    "FunctionContext",
    "StaticContext",
    "evaluate",
    "is_expression",
    "validate",
    "clear_caches",
    "configure",
]

_YAQL_RE = re.compile(r"<%(.*?)%>", re.S)
_JINJA_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)

PLAN_CACHE_SIZE = 8192
#: Strings longer than this are planned afresh each time instead of cached.
PLAN_CACHE_MAX_TEXT = 64 * 1024

_LITERAL, _YAQL_ONE, _YAQL_MIXED, _JINJA = range(4)


class _Plan:
    __slots__ = ("kind", "compiled", "parts")

    def __init__(self, kind, compiled=None, parts=None):
        self.kind = kind
        self.compiled = compiled
        self.parts = parts


_LITERAL_PLAN = _Plan(_LITERAL)


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def _plan(text: str) -> _Plan:
    if _JINJA_RE.search(text):
        return _Plan(_JINJA, compiled=jinja_eval.compile_jinja(text))
    matches = list(_YAQL_RE.finditer(text))
    if not matches:
        return _LITERAL_PLAN
    if len(matches) == 1:
        m = matches[0]
        if not text[:m.start()].strip() and not text[m.end():].strip():
            return _Plan(_YAQL_ONE, compiled=yaql_eval.compile_yaql(m.group(1).strip()))
    parts: list = []
    pos = 0
    for m in matches:
        if m.start() > pos:
            parts.append(text[pos:m.start()])
        parts.append(yaql_eval.compile_yaql(m.group(1).strip()))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return _Plan(_YAQL_MIXED, parts=tuple(parts))


def is_expression(value: Any) -> bool:
    """True for a string holding ``<% %>``, ``{{ }}`` or ``{% %}``."""
    if not isinstance(value, str):
        return False
    if "<%" not in value and "{" not in value:
        return False
    return bool(_YAQL_RE.search(value) or _JINJA_RE.search(value))


def _eval_str(text: str, state: EvalState) -> Any:
    if "<%" not in text and "{" not in text:
        return text
    plan = _plan(text) if len(text) <= PLAN_CACHE_MAX_TEXT else _plan.__wrapped__(text)
    kind = plan.kind
    state.text = text
    if kind == _YAQL_ONE:
        result = yaql_eval.run(plan.compiled, state)
    elif kind == _LITERAL:
        return text
    elif kind == _JINJA:
        return jinja_eval.run(plan.compiled, state)
    else:
        out = []
        for part in plan.parts:
            if type(part) is str:
                out.append(part)
            else:
                out.append(str(yaql_eval.run(part, state)))
        result = "".join(out)
    if type(result) is str:
        limit = state.budget.limits.result_size
        if limit and len(result) > limit:
            raise ExpressionError(size_message(state.budget.limits, text), expression=text,
                                  reason="result too large")
    return result


def _eval(value: Any, state: EvalState) -> Any:
    if type(value) is str:
        return _eval_str(value, state)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str):
                key = _eval_str(k, state)
                try:
                    hash(key)
                except TypeError:
                    reason = "a %s can not be a dict key" % type(key).__name__
                    raise ExpressionError(
                        "Can not use the value of expression %s as a key: %s" % (k, reason),
                        expression=k, reason=reason) from None
            else:
                key = k
            out[key] = _eval(v, state)
        return out
    if isinstance(value, list):
        return [_eval(v, state) for v in value]
    if isinstance(value, str):  # a str subclass
        return _eval_str(str(value), state)
    return value


def evaluate(value: Any, data: dict, ctx: FunctionContext | None = None,
             budget: Budget | None = None) -> Any:
    """Evaluate every expression in ``value`` with ``data`` as ``$`` (``_``).

    ``ctx`` serves ``task()``, ``tasks()``, ``execution()``, ``env()`` and
    ``global()``; calling one of them without it is an ExpressionError.
    ``budget`` bounds the time and the result size of the whole call
    (:mod:`levante.expr.budget`); running out is an ExpressionError naming
    the budget and its setting.
    """
    budget = NO_BUDGET if budget is None else budget
    state = EvalState(data, ctx, budget)
    token = CURRENT.set(state)
    handle = budget.start()
    try:
        try:
            return _eval(value, state)
        finally:
            budget.stop(handle)
    except OutOfTime:
        budget.stop(handle)     # again: the exception may have landed before stop() did its work
        raise ExpressionError(budget.timeout_message(handle, state.text), expression=state.text,
                              reason="out of time") from None
    except RecursionError as e:
        raise ExpressionError("Can not evaluate expressions: value nested too deeply",
                              reason=str(e)) from e
    except MemoryError:
        pass    # reported below, once the evaluation's frames are let go
    finally:
        CURRENT.reset(token)
    # What the evaluation built is often held in reference cycles (frames,
    # tracebacks, Jinja namespaces) that only the cycle collector frees: free
    # it now, not at some later collection, so the next allocations succeed.
    gc.collect()
    raise ExpressionError(budget.memory_message(state.text), expression=state.text,
                          reason="out of memory")


def warm_up() -> None:
    """Build now what the first expressions would build: yaql's parser tables
    (about a tenth of a second) and the Jinja sandbox's first template. A
    server calls this before it serves, so no request pays for it."""
    evaluate(["<% [1, 2].sum() %>", "{{ [1, 2] | sum }}"], {})


def _validate_str(text: str, errors: list[str]) -> None:
    if "<%" not in text and "{" not in text:
        return
    has_jinja = bool(_JINJA_RE.search(text))
    has_yaql = bool(_YAQL_RE.search(text))
    if has_jinja and has_yaql:
        errors.append("Mixing YAQL and Jinja expressions in one string is not allowed "
                      "[string=%s]" % text)
    plan = _plan(text) if len(text) <= PLAN_CACHE_MAX_TEXT else _plan.__wrapped__(text)
    if plan.kind == _JINJA:
        if plan.compiled.error is not None:
            errors.append(str(plan.compiled.error))
    elif plan.kind == _YAQL_ONE:
        if plan.compiled.error is not None:
            errors.append(str(plan.compiled.error))
    elif plan.kind == _YAQL_MIXED:
        for part in plan.parts:
            if type(part) is not str and part.error is not None:
                errors.append(str(part.error))


def _validate(value: Any, errors: list[str], depth: int = 0) -> None:
    if depth > 200:
        return
    if isinstance(value, str):
        _validate_str(str(value), errors)
    elif isinstance(value, dict):
        for k, v in value.items():
            _validate(k, errors, depth + 1)
            _validate(v, errors, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _validate(v, errors, depth + 1)


def validate(value: Any) -> list[str]:
    """Syntax problems of every expression in ``value`` (dicts, lists walked).

    Nothing is evaluated. An empty list means all expressions parse.
    """
    errors: list[str] = []
    _validate(value, errors)
    return errors


def clear_caches() -> None:
    """Forget every parsed expression and compiled template."""
    _plan.cache_clear()
    yaql_eval.clear_cache()
    jinja_eval.clear_cache()


def configure(**limits: Any) -> None:
    """Set YAQL limits: ``limit_iterators`` (most items of any collection)
    and ``memory_quota`` (bytes); None means unlimited. Clears the caches."""
    unknown = set(limits) - {"limit_iterators", "memory_quota"}
    if unknown:
        raise TypeError("unknown limits: %s" % ", ".join(sorted(unknown)))
    yaql_eval.configure(**limits)
    clear_caches()
