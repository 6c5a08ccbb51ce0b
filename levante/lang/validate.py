"""``validate``: every problem of a document as a list, never raising."""
from __future__ import annotations

from typing import Callable

from .errors import DSLError
from .parser import collect_errors


def validate(text: str, known_action: Callable[[str], bool] | None = None,
             kind: str | None = None) -> list[DSLError]:
    """All errors in a workflows document, workbook or actions document.

    ``kind`` is 'workflows', 'workbook' or 'actions'; by default a document
    with top-level ``name`` and ``workflows`` keys is a workbook, anything
    else a workflows document. Returns [] for a valid document.
    """
    try:
        return collect_errors(text, kind, known_action)
    except ValueError:
        raise
    except Exception as e:  # a bug in the parser must not surface as a crash
        return [DSLError(f"Definition could not be validated: {type(e).__name__}: {e}")]
