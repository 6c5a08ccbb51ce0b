"""Errors raised (or returned) for invalid workflow-language documents."""
from __future__ import annotations

from typing import Iterable


class DSLError(Exception):
    """One problem in a document, with a 1-based source position when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        if self.column is None:
            return f"line {self.line}: {self.message}"
        return f"line {self.line}, column {self.column}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, line={self.line!r}, column={self.column!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return (self.message, self.line, self.column) == (other.message, other.line, other.column)

    def __hash__(self) -> int:
        return hash((self.message, self.line, self.column))

    def to_dict(self) -> dict:
        return {"message": self.message, "line": self.line, "column": self.column}


class DSLErrors(DSLError):
    """Several problems at once; behaves like its first error."""

    def __init__(self, errors: Iterable[DSLError]):
        self.errors: list[DSLError] = list(errors)
        if not self.errors:
            raise ValueError("DSLErrors needs at least one error")
        first = self.errors[0]
        super().__init__(first.message, first.line, first.column)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def __repr__(self) -> str:
        return f"DSLErrors({self.errors!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DSLErrors):
            return NotImplemented
        return self.errors == other.errors

    def __hash__(self) -> int:
        return hash(tuple(self.errors))
