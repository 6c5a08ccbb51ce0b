"""The one exception type the expression layer lets out."""

from __future__ import annotations

from typing import Any

#: Longest rendering of a value put into an error message.
DATA_PREVIEW_CHARS = 200
#: How many names of the data's top-level keys an error message lists.
DATA_KEYS_SHOWN = 10


def preview(value: Any, limit: int = DATA_PREVIEW_CHARS) -> str:
    """A short, never-failing rendering of ``value`` for messages."""
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = "<%s>" % type(value).__name__
    if len(text) > limit:
        text = text[:limit] + "...(%d chars)" % len(text)
    return text


def data_summary(data: Any) -> str:
    """What an error message says of the data: only its top-level key names.

    Values are left out on purpose: the data context may hold secrets
    (tokens, passwords in env) and error messages end up in task state_info
    and logs (recent Mistral leaves the context out of messages too).
    """
    if isinstance(data, dict):
        names = [str(k) for k in list(data)[:DATA_KEYS_SHOWN + 1]]
        if len(names) > DATA_KEYS_SHOWN:
            names[DATA_KEYS_SHOWN:] = ["... (%d keys)" % len(data)]
        return "keys: " + ", ".join(names) if names else "empty"
    return type(data).__name__


def describe(exc: BaseException) -> str:
    """The reason part of a message: what went wrong, briefly."""
    if isinstance(exc, ExpressionError):
        return exc.reason
    text = str(exc)
    name = type(exc).__name__
    if isinstance(exc, KeyError):
        # str(KeyError('x')) is just "'x'", which says nothing on its own.
        return "no such key: %s" % text
    if not text:
        return name
    if name.endswith("Exception") and exc.__module__.startswith("yaql"):
        # yaql messages are descriptive already ("Unknown function ...").
        return text
    return "%s: %s" % (name, text)


class ExpressionError(Exception):
    """An expression could not be parsed or evaluated.

    ``str()`` says which expression failed and why, e.g.
    ``Can not evaluate YAQL expression [expression=$.x.y, error=..., data=keys: x, z]``
    (the data's key names only, never its values).
    Attributes: ``expression`` (the expression text), ``reason`` (what went
    wrong), ``language`` (``"YAQL"``, ``"Jinja"`` or ``None``) and
    ``syntax`` (True for a parse error).
    """

    def __init__(self, message: str, expression: str | None = None,
                 reason: str | None = None, language: str | None = None,
                 syntax: bool = False):
        super().__init__(message)
        self.expression = expression
        self.reason = reason if reason is not None else message
        self.language = language
        self.syntax = syntax

    @classmethod
    def evaluation(cls, language: str, expression: str, error: BaseException | str,
                   data: Any = None) -> "ExpressionError":
        reason = error if isinstance(error, str) else describe(error)
        msg = "Can not evaluate %s expression [expression=%s, error=%s, data=%s]" % (
            language, expression, reason, data_summary(data))
        return cls(msg, expression=expression, reason=reason, language=language)

    @classmethod
    def grammar(cls, language: str, expression: str,
                error: BaseException | str) -> "ExpressionError":
        reason = error if isinstance(error, str) else describe(error)
        msg = "Invalid %s expression [expression=%s, error=%s]" % (
            language, expression, reason)
        return cls(msg, expression=expression, reason=reason, language=language,
                   syntax=True)
