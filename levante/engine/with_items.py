"""with-items: turn ``x in <% list %>`` clauses into per-item variables."""
from __future__ import annotations

from typing import Any, Callable

from levante.lang.spec import WithItems


class WithItemsError(Exception):
    pass


def expand(with_items: WithItems, evaluate: Callable[[Any], Any]) -> list[dict]:
    """The variables of every item, in item order.

    Several clauses are zipped; they must then have the same length.
    """
    columns: list[tuple[str, list]] = []
    for var, source in with_items.pairs:
        values = evaluate(source)
        if values is None:
            values = []
        if isinstance(values, dict) or isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise WithItemsError(
                f"Wrong input format for with-items: '{var}' must be a list, got {type(values).__name__}: {values!r}"
            )
        columns.append((var, list(values)))
    if not columns:
        return []
    lengths = {len(vals) for _, vals in columns}
    if len(lengths) > 1:
        raise WithItemsError(
            "Wrong input format for with-items: all arrays must have the same length, got "
            + ", ".join(f"{var}={len(vals)}" for var, vals in columns)
        )
    n = lengths.pop()
    return [{var: vals[i] for var, vals in columns} for i in range(n)]
