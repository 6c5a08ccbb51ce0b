"""Mistral's one-line "name key=value ..." syntax.

Used by ``action:``/``workflow:`` (``std.echo output="Hi"``), engine-command
transitions (``fail msg='boom'``), ``retry: count=3 delay=1`` and ad-hoc
action ``base:``. As in Mistral, the parameters may also follow the name in
parentheses, separated by spaces or commas: ``fail(msg='it broke, badly')``.
"""
from __future__ import annotations

import re
from typing import Any

from .errors import DSLError
from .yamlsource import safe_load

__all__ = ["parse_inline", "parse_params", "is_expression"]

_KEY = re.compile(r"[-\w]+=")
_INT = re.compile(r"[-+]?\d+\Z")
_FLOAT = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?\Z")
_CONSTANTS = {
    "true": True, "True": True, "TRUE": True,
    "false": False, "False": False, "FALSE": False,
    "null": None, "Null": None, "NULL": None, "~": None,
}
_EXPR_OPEN = {"<%": "%>", "{{": "}}"}


def is_expression(value: Any) -> bool:
    """True if ``value`` is a string holding a ``<% %>`` or ``{{ }}`` expression."""
    if not isinstance(value, str):
        return False
    i = value.find("<%")
    if i >= 0 and value.find("%>", i + 2) >= 0:
        return True
    i = value.find("{{")
    return i >= 0 and value.find("}}", i + 2) >= 0


def _scalar(tok: str) -> Any:
    if tok in _CONSTANTS:
        return _CONSTANTS[tok]
    if _INT.match(tok):
        try:
            return int(tok)
        except ValueError:      # more digits than Python converts (4,300)
            raise DSLError(f"Integer too long: {len(tok)} digits, at most 4300") from None
    if _FLOAT.match(tok):
        return float(tok)
    return tok


def _skip_ws(s: str, i: int) -> int:
    n = len(s)
    while i < n and s[i].isspace():
        i += 1
    return i


def _read_expr(s: str, i: int, whole: str) -> int:
    """``s[i:]`` starts with an expression opener; return the index after its closer."""
    closer = _EXPR_OPEN[s[i:i + 2]]
    j = s.find(closer, i + 2)
    if j < 0:
        raise DSLError(f"Unterminated expression in '{whole}'")
    return j + 2


def _read_quoted(s: str, i: int, whole: str) -> int:
    q = s[i]
    j = i + 1
    n = len(s)
    while j < n:
        c = s[j]
        if c == "\\" and q == '"' and j + 1 < n:
            j += 2
            continue
        if c == q:
            return j + 1
        j += 1
    raise DSLError(f"Unterminated quoted string in '{whole}'")


def _read_flow(s: str, i: int, whole: str) -> int:
    """A bracketed ``[...]`` / ``{...}`` value; quotes and expressions may nest."""
    depth = 0
    j = i
    n = len(s)
    while j < n:
        two = s[j:j + 2]
        c = s[j]
        if two in _EXPR_OPEN:
            j = _read_expr(s, j, whole)
            continue
        if c in "\"'":
            j = _read_quoted(s, j, whole)
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise DSLError(f"Unbalanced brackets in '{whole}'")


def _read_value(s: str, i: int, whole: str, stops: str = "") -> tuple[Any, int]:
    """Read one value starting at ``s[i]``; it ends at whitespace (or one of
    ``stops``) outside quotes, expressions and brackets."""
    n = len(s)
    segments: list[tuple[str, str]] = []
    start = i
    while i < n and not s[i].isspace() and s[i] not in stops:
        two = s[i:i + 2]
        c = s[i]
        if two in _EXPR_OPEN:
            j = _read_expr(s, i, whole)
            segments.append(("expr", s[i:j]))
        elif c in "\"'" and not segments:
            j = _read_quoted(s, i, whole)
            segments.append(("quoted", s[i:j]))
        elif c in "[{" and not segments:
            j = _read_flow(s, i, whole)
            segments.append(("flow", s[i:j]))
        else:
            j = i
            while j < n and not s[j].isspace() and s[j] not in stops and s[j:j + 2] not in _EXPR_OPEN:
                j += 1
            segments.append(("plain", s[i:j]))
        i = j
    raw = s[start:i]
    if len(segments) != 1:
        return raw, i
    kind, text = segments[0]
    if kind == "quoted":
        inner = text[1:-1]
        if text[0] == '"':
            inner = inner.replace('\\"', '"')
        return inner, i
    if kind == "expr":
        return text, i
    if kind == "flow":
        try:
            value = safe_load(text)
        except Exception:
            return text, i
        return (value if isinstance(value, (list, dict)) else text), i
    return _scalar(text), i


def _parse(s: str, with_name: bool) -> tuple[str | None, dict]:
    if not isinstance(s, str):
        raise DSLError(f"Expected a string, got {type(s).__name__}")
    whole = s.strip()
    n = len(s)
    i = _skip_ws(s, 0)
    name = None
    if with_name and i < n:
        if s[i:i + 2] in _EXPR_OPEN:
            j = _read_expr(s, i, whole)
            name = s[i:j]
            i = j
            if i < n and not s[i].isspace() and s[i] != "(":
                raise DSLError(f"Invalid name in '{whole}'")
        elif not _KEY.match(s, i):
            j = i
            while j < n and not s[j].isspace() and s[j] != "(":
                j += 1
            name = s[i:j]
            i = j
    if name is not None and i < n and s[i] == "(":
        params, i = _read_pairs(s, i + 1, whole, ",)")
        if i >= n or s[i] != ")":
            raise DSLError(f"Missing ')' in '{whole}'")
        if s[i + 1:].strip():
            raise DSLError(f"Unexpected text after ')' in '{whole}'")
        return name, params
    params, _ = _read_pairs(s, i, whole, "")
    return name, params


def _read_pairs(s: str, i: int, whole: str, stops: str) -> tuple[dict, int]:
    """``key=value`` pairs from ``s[i]`` on, separated by whitespace (and, inside
    parentheses, commas); stops at the end or at ``)`` when it is in ``stops``."""
    n = len(s)
    params: dict[str, Any] = {}
    while True:
        i = _skip_ws(s, i)
        while stops and i < n and s[i] == ",":
            i = _skip_ws(s, i + 1)
        if i >= n or (stops and s[i] == ")"):
            return params, i
        m = _KEY.match(s, i)
        if not m:
            j = i
            while j < n and not s[j].isspace() and s[j] not in stops:
                j += 1
            raise DSLError(f"Invalid parameter '{s[i:j]}' in '{whole}' (expected key=value)")
        key = m.group()[:-1]
        i = m.end()
        if i >= n or s[i].isspace() or s[i] in stops:
            raise DSLError(f"Missing value for parameter '{key}' in '{whole}'")
        value, i = _read_value(s, i, whole, stops)
        params[key] = value


def parse_inline(s: str) -> tuple[str | None, dict]:
    """Split ``"std.echo output='Hi' n=1"`` into ``("std.echo", {...})``.

    The name is None when the string starts with a ``key=value`` pair.
    Values: quoted strings -> str (quotes removed); ``<% %>`` / ``{{ }}``
    expressions are kept verbatim; ``[...]`` / ``{...}`` are parsed as YAML
    flow collections; ``true``/``false``/``null`` and numbers are converted;
    anything else stays a string. Raises DSLError (without position) when the
    string is malformed.
    """
    return _parse(s, True)


def parse_params(s: str) -> dict:
    """Only ``key=value`` pairs (e.g. ``retry: count=3 delay=1``)."""
    return _parse(s, False)[1]
