"""Limits on what users send: names and the size of execution fields.

A leaf module (like ``errors``): the API, the triggers and the runtime all
check with these, so the rules and messages are the same everywhere.

JSON from clients is read with :func:`loads`: nesting is bounded
(``max_json_depth``) and an integer too long for Python is a clear error.

Names follow Mistral's: definitions (workflows, workbooks, actions) have at
most 255 characters and no spaces; environments and triggers at most 200;
execution ids given by clients at most 36 (Mistral's id column). On top of
Mistral, no name may contain ``/`` or a control character: such a name could
be stored but never fetched or deleted through a URL.
"""
from __future__ import annotations

import json
import unicodedata
from typing import Any

from levante.config import get_settings
from levante.errors import BadRequest

__all__ = ["BadRequest", "FieldSizeExceeded", "check_name", "check_definition_name",
           "check_namespace", "check_scope", "check_field_size", "size_problem", "loads"]

DEFINITION_NAME_MAX = 255
OTHER_NAME_MAX = 200
EXECUTION_ID_MAX = 36

SIZE_SETTING_HINT = ("setting execution_field_size_limit_kb, environment variable "
                     "LEVANTE_EXECUTION_FIELD_SIZE_LIMIT_KB")


class FieldSizeExceeded(BadRequest):
    """An execution field is larger than execution_field_size_limit_kb."""


def name_problem(name: Any, most: int = OTHER_NAME_MAX, spaces: bool = True) -> str | None:
    """Why ``name`` cannot be used, or None."""
    if not isinstance(name, str):
        return f"must be a string, not {type(name).__name__}"
    if not name.strip():
        return "must not be empty"
    if len(name) > most:
        return f"is too long: {len(name)} characters, at most {most}"
    if "/" in name:
        return "must not contain '/'"
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        return "must not contain control characters"
    if not spaces and " " in name:
        return "must not contain spaces"
    return None


def check_name(kind: str, name: Any, most: int = OTHER_NAME_MAX, spaces: bool = True,
               what: str = "name") -> str:
    """``name`` if it is a valid name for a ``kind`` (e.g. "Environment"), else a 400."""
    problem = name_problem(name, most, spaces)
    if problem:
        shown = f" {name[:80]!r}" if isinstance(name, str) else ""
        raise BadRequest(f"{kind} {what}{shown} {problem}")
    return name


def check_definition_name(kind: str, name: Any) -> str:
    return check_name(kind, name, DEFINITION_NAME_MAX, spaces=False)


def check_namespace(namespace: Any) -> str:
    """A namespace ('' for none): the rules of a name, at most 255 characters."""
    if namespace is None or namespace == "":
        return ""
    problem = name_problem(namespace, DEFINITION_NAME_MAX)
    if problem:
        shown = f" {namespace[:80]!r}" if isinstance(namespace, str) else ""
        raise BadRequest(f"Namespace{shown} {problem}")
    return namespace


def check_scope(scope: Any) -> str:
    """'private' (the default) or 'public'."""
    if scope is None or scope == "":
        return "private"
    if scope not in ("private", "public"):
        shown = repr(scope[:80]) if isinstance(scope, str) else type(scope).__name__
        raise BadRequest(f"Scope must be 'private' or 'public', not {shown}")
    return scope


def field_size_limit() -> int:
    """The limit in bytes (0: none)."""
    return get_settings().execution_field_size_limit_kb * 1024


def size_problem(cls: str, field: str, text: str, limit: int | None = None) -> str | None:
    """The message for ``text`` (a field's stored JSON text) over the limit, or None."""
    limit = field_size_limit() if limit is None else limit
    if not limit or len(text) <= limit:
        return None
    return (f"Field size limit exceeded [class={cls}, field={field}, "
            f"size={-(-len(text) // 1024)}KB, limit={limit // 1024}KB] ({SIZE_SETTING_HINT})")


def check_field_size(cls: str, field: str, value: Any) -> None:
    """Raise FieldSizeExceeded (400) if ``value`` (JSON text, or a value to be
    stored as JSON) is over execution_field_size_limit_kb."""
    limit = field_size_limit()
    if not limit or value is None:
        return
    text = value if isinstance(value, str) else json.dumps(value)
    problem = size_problem(cls, field, text, limit)
    if problem:
        raise FieldSizeExceeded(problem)


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if level > deepest:
            deepest = level
        stack.extend((c, level + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def loads(data: bytes | str, what: str = "Request"):
    """Parse JSON a client sent; ValueError with a clear message when it cannot be used."""
    limit = get_settings().max_json_depth
    too_deep = f"{what} is nested too deeply (more than {limit} levels; setting max_json_depth)"
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(too_deep) from None
    except ValueError as e:
        if "integer string conversion" in str(e):
            raise ValueError(f"{what} holds an integer with too many digits ({e})") from None
        raise
    if limit and isinstance(value, (dict, list)) and json_depth(value) > limit:
        raise ValueError(too_deep)
    marker = "\\u0000" if isinstance(data, str) else b"\\u0000"
    if marker in data and _has_nul(value):
        raise ValueError(f"{what} must not hold NUL characters (\\u0000) in its strings")
    return value


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False
