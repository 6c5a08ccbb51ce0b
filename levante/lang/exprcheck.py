"""Syntax checks for the expressions embedded in workflow documents.

``<% ... %>`` is YAQL (parsed with the real yaql parser), ``{{ ... }}`` /
``{% ... %}`` is Jinja2 (parsed with ``jinja2.Environment().parse``). Only
syntax is checked; nothing is evaluated.
"""
from __future__ import annotations

import collections.abc  # noqa: F401  (yaql 3.2 needs it imported first on 3.11)
import re
import threading
from functools import lru_cache

_YAQL_INLINE = re.compile(r"<%(.*?)%>", re.S)

_lock = threading.Lock()
_yaql_engine = None
_jinja_env = None


def _engine():
    global _yaql_engine
    if _yaql_engine is None:
        from yaql.language import factory

        _yaql_engine = factory.YaqlFactory().create()
    return _yaql_engine


def _jinja():
    global _jinja_env
    if _jinja_env is None:
        import jinja2

        _jinja_env = jinja2.Environment()
    return _jinja_env


@lru_cache(maxsize=4096)
def yaql_error(expression: str) -> str | None:
    """The reason ``expression`` (without ``<% %>``) is not valid YAQL, or None."""
    from yaql.language import exceptions as yaql_exc

    with _lock:
        try:
            _engine()(expression.strip())
        except (yaql_exc.YaqlException, KeyError, ValueError, TypeError) as e:
            return str(getattr(e, "message", None) or e) or type(e).__name__
        except Exception as e:  # defensive: never let a checker crash the parser
            return f"{type(e).__name__}: {e}"
    return None


@lru_cache(maxsize=4096)
def jinja_error(text: str) -> str | None:
    """The reason ``text`` is not a valid Jinja2 template, or None."""
    import jinja2

    with _lock:
        try:
            _jinja().parse(text)
        except jinja2.TemplateSyntaxError as e:
            return e.message or str(e)
        except Exception as e:
            return f"{type(e).__name__}: {e}"
    return None


def check_string(value: str) -> list[tuple[int, str]]:
    """Errors in a string value: a list of (offset in ``value``, message)."""
    out: list[tuple[int, str]] = []
    if _YAQL_INLINE.search(value) and ("{{" in value or "{%" in value):
        # Mistral refuses this too: only one of the two languages would be evaluated.
        out.append((value.find("<%"), f"Expression '{value.strip()}' mixes YAQL <% %> and Jinja "
                                      "{{ }}; use one language per value."))
        return out
    if "<%" in value:
        for m in _YAQL_INLINE.finditer(value):
            reason = yaql_error(m.group(1))
            if reason is not None:
                out.append((m.start(), f"Invalid YAQL expression '{m.group(1).strip()}': {reason}"))
    if "{{" in value or "{%" in value:
        reason = jinja_error(value)
        if reason is not None:
            i = value.find("{{")
            j = value.find("{%")
            offs = [k for k in (i, j) if k >= 0]
            out.append((min(offs), f"Invalid Jinja expression '{value.strip()}': {reason}"))
    return out
