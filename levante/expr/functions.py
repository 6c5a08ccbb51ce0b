"""Mistral's expression functions, shared by YAQL and Jinja.

``task``, ``tasks``, ``execution``, ``env`` and ``global`` read the
:class:`~levante.expr.context.FunctionContext` of the evaluation in
progress; the others are pure.
"""

from __future__ import annotations

import datetime
import json
import uuid as _uuid
from collections.abc import Iterable, Iterator, Mapping, Set
from typing import Any

import jinja2
import yaml

from .context import CURRENT
from .errors import ExpressionError


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON-like Python: dicts, lists and scalars.

    Mappings (including yaql's FrozenDict) become dicts; tuples, sets,
    iterators and other iterables (yaql's lazy query results) become lists; ``str`` subclasses (Jinja's Markup) become
    ``str``. A Jinja undefined value raises (StrictUndefined). Other objects
    are returned as they are.
    """
    t = type(value)
    if t is str or t is int or t is float or t is bool or value is None:
        return value
    if t is dict or isinstance(value, Mapping):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [to_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here with a useful message
        return None
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        # sets, ranges, generators, yaql's lazy query results...
        return [to_plain(v) for v in value]
    return value


def _fctx(fname: str):
    state = CURRENT.get()
    fctx = state.fctx if state is not None else None
    if fctx is None:
        raise ExpressionError(
            "function %s() needs a workflow context, and this evaluation has none"
            % fname)
    return fctx


def task(task_name: Any = None) -> dict | None:
    """``task(name)``: a task execution by name; the current task without one."""
    return _fctx("task").task(task_name)


def tasks(workflow_execution_id: Any = None, recursive: Any = False, state: Any = None,
          flat: Any = False) -> list[dict]:
    """``tasks(...)``: task executions, filtered."""
    return _fctx("tasks").tasks(workflow_execution_id, recursive, state, flat)


def execution() -> dict:
    """``execution()``: the current workflow execution."""
    return _fctx("execution").execution()


def env() -> dict:
    """``env()``: the execution environment."""
    return _fctx("env").env()


def global_(var_name: Any) -> Any:
    """``global(name)``: a workflow-global variable."""
    return _fctx("global").global_var(var_name)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime):
        return obj.isoformat(" ")
    if isinstance(obj, (datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, (Set, tuple, Iterator)):
        return list(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (bytes, bytearray)):
        return obj.decode("utf-8", "replace")
    return str(obj)


def json_dump(data: Any) -> str:
    """``json_dump(x)``: JSON text, indented by 4 as in Mistral."""
    return json.dumps(to_plain(data), indent=4, default=_json_default)


def json_pp(data: Any = None) -> str:
    """``json_pp(x)``: the deprecated pretty printer (``$`` when no argument)."""
    if data is None:
        state = CURRENT.get()
        data = state.data if state is not None else None
    text = json.dumps(to_plain(data), indent=4, default=_json_default)
    return text.replace("\\n", "\n").replace(" \n", "\n")


def json_parse(data: Any) -> Any:
    """``json_parse(s)``: the value of JSON text ``s``."""
    return json.loads(data)


def yaml_dump(data: Any) -> str:
    """``yaml_dump(x)``: block-style YAML text."""
    return yaml.safe_dump(to_plain(data), default_flow_style=False)


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader, minus anchors and aliases.

    An alias (``*x``) is read as the plain string ``"*x"`` and anchors are
    never recorded, so a "billion laughs" document cannot blow up in memory.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            return yaml.ScalarNode("tag:yaml.org,2002:str", "*" + event.anchor,
                                   event.start_mark, event.end_mark)
        node = super().compose_node(parent, index)
        self.anchors = {}
        return node


def yaml_parse(data: Any) -> Any:
    """``yaml_parse(s)``: the value of YAML text ``s`` (safe, no aliases)."""
    return yaml.load(data, Loader=_NoAliasLoader)


def uuid() -> str:
    """``uuid()``: a new random UUID string."""
    return str(_uuid.uuid4())


#: Expression-level name -> implementation (same names in YAQL and Jinja).
FUNCTIONS = {
    "task": task,
    "tasks": tasks,
    "execution": execution,
    "env": env,
    "global": global_,
    "json_dump": json_dump,
    "json_pp": json_pp,
    "json_parse": json_parse,
    "yaml_dump": yaml_dump,
    "yaml_parse": yaml_parse,
    "uuid": uuid,
}

#: Functions that also make sense as Jinja filters (``{{ _.x | json_dump }}``).
FILTERS = ("json_dump", "json_pp", "json_parse", "yaml_dump", "yaml_parse")
