"""YAML loading that keeps source positions.

The document is composed into PyYAML nodes (which carry start/end marks) and
then constructed with the safe constructor; every node's Python value is kept
so parsers can walk nodes for positions and read values at the same time.
"""
from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import DSLError

__all__ = ["Source", "load", "safe_load", "MappingNode", "ScalarNode", "SequenceNode", "Node",
           "MAX_ALIAS_NODES"]

#: How many nodes aliases (``*name``) may add to a document once expanded, in
#: all. Anchors are handy for sharing a policy between tasks; a "billion laughs"
#: document (aliases of aliases of aliases...) of a few hundred bytes would
#: otherwise expand to gigabytes when the definition is stored or shown.
MAX_ALIAS_NODES = 10_000

_LINE_BREAK = re.compile(r"\r\n|\r|\n|\x85|\u2028|\u2029")


def _split_lines(text: str) -> list[str]:
    """Lines as YAML counts them, each with its line break (if any)."""
    lines = []
    pos = 0
    for m in _LINE_BREAK.finditer(text):
        lines.append(text[pos:m.end()])
        pos = m.end()
    if pos < len(text):
        lines.append(text[pos:])
    return lines


def yaml_error(exc: Exception) -> DSLError:
    """A DSLError for a PyYAML (or other loading) failure."""
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "invalid YAML"
        msg = "Definition could not be parsed: " + problem
        if exc.context and exc.problem:
            msg += f" ({exc.context})"
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return DSLError(msg, mark.line + 1, mark.column + 1)
        return DSLError(msg)
    if isinstance(exc, yaml.YAMLError):
        return DSLError(f"Definition could not be parsed: {exc}")
    if isinstance(exc, RecursionError):
        return DSLError("Definition could not be parsed: document is nested too deeply")
    return DSLError(f"Definition could not be parsed: {exc}")


class Source:
    """A loaded YAML document: root node, node values and source lines."""

    def __init__(self, text: str, root: Node | None, values: dict[Node, Any]):
        self.text = text
        self.root = root
        self._values = values
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = _split_lines(self.text)
        return self._lines

    # -- values -----------------------------------------------------------
    def value(self, node: Node | None) -> Any:
        if node is None:
            return None
        return self._values.get(node)

    # -- structure helpers -----------------------------------------------
    @staticmethod
    def is_mapping(node: Node | None) -> bool:
        return isinstance(node, MappingNode)

    @staticmethod
    def is_sequence(node: Node | None) -> bool:
        return isinstance(node, SequenceNode)

    def is_null(self, node: Node | None) -> bool:
        return node is None or (isinstance(node, ScalarNode) and self.value(node) is None)

    def items(self, node: MappingNode) -> list[tuple[Node, Node]]:
        """(key node, value node) pairs; for duplicate keys only the last is kept,
        at the position of the first (like the constructed dict)."""
        out: dict[Any, tuple[Node, Node]] = {}
        for k, v in node.value:
            out[self.value(k)] = (k, v)
        return list(out.values())

    def get(self, node: MappingNode, key: str) -> tuple[Node, Node] | None:
        found = None
        for k, v in node.value:
            if self.value(k) == key:
                found = (k, v)
        return found

    # -- positions -------------------------------------------------------
    @staticmethod
    def line(node: Node | None) -> int | None:
        return None if node is None else node.start_mark.line + 1

    @staticmethod
    def column(node: Node | None) -> int | None:
        return None if node is None else node.start_mark.column + 1

    def substring_column(self, node: Node, offset: int) -> int | None:
        """Column of character ``offset`` of a single-line scalar's value, if
        the value appears verbatim in the source; else the node's column."""
        col = node.start_mark.column
        if isinstance(node, ScalarNode) and isinstance(node.value, str) and "\n" not in node.value:
            lineno = node.start_mark.line
            if 0 <= lineno < len(self.lines):
                src = self.lines[lineno]
                start = col + (1 if node.style in ("'", '"') else 0)
                if src[start:start + len(node.value)] == node.value:
                    return start + offset + 1
        return col + 1

    def last_mark(self, node: Node):
        """The end mark of the last piece of source that belongs to ``node``."""
        while True:
            if isinstance(node, MappingNode) and node.value and not node.flow_style:
                k, v = node.value[-1]
                # an empty (null) value may end before its key in odd cases
                node = v if v.end_mark.index >= k.end_mark.index else k
            elif isinstance(node, SequenceNode) and node.value and not node.flow_style:
                node = node.value[-1]
            else:
                return node.end_mark


class _AliasBudget:
    """Counts the nodes aliases add to a composed document (each alias adds the
    expanded size of its anchored node) and refuses aliases to a node that
    contains them (a document that would expand forever)."""

    def __init__(self, limit: int = MAX_ALIAS_NODES):
        self.limit = limit
        self.used = 0
        self._sizes: dict[int, int] = {}

    def size(self, node: Node, _active: set[int] | None = None) -> int:
        """Nodes in ``node`` with every alias expanded (memoized); raises _Cycle if it
        contains itself."""
        key = id(node)
        known = self._sizes.get(key)
        if known is not None:
            return known
        active = set() if _active is None else _active
        if key in active:
            raise _Cycle()
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            for child in node.value:
                total += self.size(child, active)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                total += self.size(k, active) + self.size(v, active)
        active.discard(key)
        self._sizes[key] = total
        return total

    def spend(self, node: Node, mark) -> None:
        try:
            self.used += self.size(node)
        except _Cycle:
            raise _alias_error("an alias refers to a node that contains it (the document would "
                               "never end)", mark) from None
        if self.used > self.limit:
            raise _alias_error(f"aliases expand to more than {self.limit} nodes (alias bomb?); "
                               "write the repeated parts out or share less", mark)


class _Cycle(Exception):
    pass


def _alias_error(problem: str, mark) -> DSLError:
    msg = "Definition could not be parsed: " + problem
    if mark is None:
        return DSLError(msg)
    return DSLError(msg, mark.line + 1, mark.column + 1)


def _check_aliases(root: Node | None) -> None:
    """Walk a composed document (from the fast loader, which cannot be hooked)
    and raise DSLError, without position, if its aliases expand too far."""
    if root is None:
        return
    budget = _AliasBudget()
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:        # a shared node: an alias of it
            budget.spend(node, None)
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                stack.append(k)
                stack.append(v)


class _BoundedSafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader that stops at the alias that goes over the budget."""

    def __init__(self, stream):
        super().__init__(stream)
        self._alias_budget = _AliasBudget()
        self._complete: set[int] = set()

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:
                if id(node) not in self._complete:
                    raise _alias_error("an alias refers to a node that contains it (the document "
                                       "would never end)", event.start_mark)
                self._alias_budget.spend(node, event.start_mark)
            return super().compose_node(parent, index)
        node = super().compose_node(parent, index)
        self._complete.add(id(node))
        return node

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except ValueError:      # more digits than Python converts
            raise yaml.constructor.ConstructorError(
                None, None, f"integer too long: {len(node.value)} characters, at most 4300 digits",
                node.start_mark) from None


_BoundedSafeLoader.add_constructor("tag:yaml.org,2002:int", _BoundedSafeLoader.construct_yaml_int)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with alias expansion bounded (raises DSLError)."""
    try:
        root, values = _compose(_BoundedSafeLoader, text)
    except DSLError:
        raise
    except Exception as e:
        raise yaml_error(e) from None
    return values.get(root) if root is not None else None


def load(text: str) -> Source:
    """Compose and construct a single YAML document; raise DSLError on failure."""
    if not isinstance(text, str):
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError as e:
                raise DSLError(f"Definition could not be parsed: {e}") from None
        else:
            raise DSLError("Definition must be a string")
    if _FastLoader is not None:
        try:
            root, values = _compose(_FastLoader, text)
            _check_aliases(root)
        except Exception:
            pass  # report with the pure-Python loader's (PyYAML's usual) messages
        else:
            return Source(text, root, values)
    try:
        root, values = _compose(_BoundedSafeLoader, text)
    except DSLError:
        raise
    except Exception as e:  # YAMLError, RecursionError, ...
        raise yaml_error(e) from None
    return Source(text, root, values)


#: libyaml's parser when available (much faster); errors are always reported
#: by re-parsing with the pure-Python loader so messages don't depend on it.
_FastLoader = getattr(yaml, "CSafeLoader", None)


def _compose(loader_class, text: str) -> tuple[Node | None, dict[Node, Any]]:
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        values: dict[Node, Any] = {}
        if root is not None:
            loader.construct_object(root, deep=True)
            values = dict(loader.constructed_objects)
        return root, values
    finally:
        loader.dispose()
