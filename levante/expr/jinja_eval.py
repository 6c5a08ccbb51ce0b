"""Jinja: a sandboxed environment set up as Mistral's, and a compile cache.

The data dict is ``_`` (``{{ _.x }}``). Undefined values are strict, as in
Mistral: ``{{ _.missing }}`` is an error, while ``{% if _.missing is
defined %}`` still works. A string that is one ``{{ ... }}`` and nothing
else (whitespace aside) gives the expression's raw value (a list stays a
list); any other template renders to a string.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from . import functions as fn
from .context import EvalState
from .budget import size_message
from .errors import ExpressionError

#: Longest string or sequence ``*`` may build in a template.
MAX_REPEAT = 10_000_000
#: Largest integer (in bits) ``**`` may build in a template.
MAX_POWER_BITS = 100_000
CACHE_SIZE = 4096

_CONTEXT_VARS = ("__env", "__execution", "__task_execution")
_SINGLE = re.compile(r"\A\s*\{\{(.*)\}\}\s*\Z", re.S)
_NOT_SINGLE_TOKENS = frozenset((
    "block_begin", "comment_begin", "linestatement_begin", "linecomment_begin",
    "raw_begin",
))


def _check_repeat(seq: Any, times: Any) -> None:
    if isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int) \
            and len(seq) * times > MAX_REPEAT:
        raise SecurityError("the result of '*' would be longer than %d" % MAX_REPEAT)


class _Sandbox(SandboxedEnvironment):
    """The sandbox, plus bounds on ``*`` and ``**``."""

    intercepted_binops = frozenset(("*", "**"))

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
            return left * right
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 \
                    and abs(left) > 1 and left.bit_length() * right > MAX_POWER_BITS:
                raise SecurityError("the result of '**' would be too large")
            return left ** right
        return super().call_binop(context, operator, left, right)


def _make_env() -> _Sandbox:
    env = _Sandbox(undefined=jinja2.StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True, autoescape=False)
    env.globals.update(fn.FUNCTIONS)
    for name in fn.FILTERS:
        env.filters[name] = fn.FUNCTIONS[name]
    return env


ENV = _make_env()


class CompiledJinja:
    """A compiled template, or a compiled single expression, or an error."""

    __slots__ = ("text", "expression", "template", "error")

    def __init__(self, text, expression=None, template=None, error=None):
        self.text = text
        self.expression = expression
        self.template = template
        self.error = error


def _single_expression(text: str) -> str | None:
    """The inside of ``{{ ... }}`` if ``text`` is just that, else None."""
    m = _SINGLE.match(text)
    if m is None:
        return None
    begins = 0
    try:
        for _, ttype, value in ENV.lex(text):
            if ttype == "variable_begin":
                begins += 1
                if begins > 1:
                    return None
            elif ttype in _NOT_SINGLE_TOKENS:
                return None
            elif ttype == "data" and value.strip():
                return None
    except jinja2.TemplateSyntaxError:
        return None
    if begins != 1:
        return None
    inner = m.group(1)
    # Whitespace control marks belong to the delimiters, not the expression.
    if inner[:1] in ("-", "+"):
        inner = inner[1:]
    if inner[-1:] == "-":
        inner = inner[:-1]
    return inner


@lru_cache(maxsize=CACHE_SIZE)
def compile_jinja(text: str) -> CompiledJinja:
    """Compile ``text`` once; later calls with the same text reuse it."""
    inner = _single_expression(text)
    if inner is not None:
        try:
            return CompiledJinja(text, expression=ENV.compile_expression(
                inner, undefined_to_none=False))
        except Exception:
            pass  # not a plain expression after all: treat it as a template
    try:
        return CompiledJinja(text, template=ENV.from_string(text))
    except Exception as e:
        return CompiledJinja(text, error=ExpressionError.grammar("Jinja", text, e))


def run(c: CompiledJinja, state: EvalState) -> Any:
    if c.error is not None:
        raise c.error
    data = state.data
    ctx = {"_": data}
    if type(data) is dict:
        for name in _CONTEXT_VARS:
            if name in data:
                ctx[name] = data[name]
    limit = state.budget.limits.result_size if state.budget is not None else 0
    try:
        if c.expression is not None:
            value = fn.to_plain(c.expression(**ctx))
            if limit and type(value) is str and len(value) > limit:
                raise _TooLarge
            return value
        if not limit:
            return c.template.render(**ctx)
        # Consumed piece by piece, so that a template printing a large string in
        # a loop fails at the budget instead of building gigabytes first.
        parts = []
        size = 0
        for piece in c.template.generate(**ctx):
            size += len(piece)
            if size > limit:
                raise _TooLarge
            parts.append(piece)
        return "".join(parts)
    except _TooLarge:
        raise ExpressionError(size_message(state.budget.limits, c.text), expression=c.text,
                              reason="result too large") from None
    except MemoryError:
        raise               # levante.expr.evaluate says which limit
    except Exception as e:
        raise ExpressionError.evaluation("Jinja", c.text, e, data) from e


class _TooLarge(Exception):
    pass


def clear_cache() -> None:
    compile_jinja.cache_clear()
