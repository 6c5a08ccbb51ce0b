"""Workflow Language v2 parser: YAML text -> spec objects (``spec.py``).

Every problem found is collected with its source position; the public
functions raise one :class:`DSLErrors` holding all of them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import yaml

from .errors import DSLError, DSLErrors
from .exprcheck import check_string
from .inline import is_expression, parse_inline, parse_params
from .spec import (
    ENGINE_COMMANDS,
    ActionSpec,
    InputParam,
    OnClause,
    RetryPolicy,
    TaskSpec,
    Transition,
    WithItems,
    WorkbookSpec,
    WorkflowSpec,
)
from .yamlsource import MappingNode, Node, ScalarNode, SequenceNode, Source, load, safe_load

__all__ = ["parse_workflows", "parse_workbook", "parse_actions"]

KnownAction = Callable[[str], bool] | None

MAX_TASK_NAME = 255      # Mistral's limit (and the length of the stored name)

WORKFLOW_KEYS = (
    "type", "description", "tags", "input", "output", "output-on-error",
    "vars", "task-defaults", "tasks",
)
WORKBOOK_KEYS = ("version", "name", "description", "tags", "workflows", "actions")
ACTION_KEYS = ("base", "base-input", "input", "output", "description", "tags")
CLAUSE_KEYS = ("on-success", "on-error", "on-complete", "on-skip")
POLICY_KEYS = (
    "retry", "wait-before", "wait-after", "timeout", "pause-before",
    "concurrency", "fail-on", "safe-rerun", "keep-result", "target",
)
COMMON_TASK_KEYS = (
    "action", "workflow", "input", "publish", "publish-on-error", "publish-on-skip", "with-items",
    "description", "tags",
) + POLICY_KEYS
DIRECT_TASK_KEYS = CLAUSE_KEYS + ("join",)
REVERSE_TASK_KEYS = ("requires",)
TASK_DEFAULTS_KEYS = POLICY_KEYS + CLAUSE_KEYS + ("requires",)
RETRY_KEYS = ("count", "delay", "break-on", "continue-on")

#: TaskSpec attributes a task inherits from task-defaults when it doesn't set them.
DEFAULTABLE = (
    "retry", "wait_before", "wait_after", "timeout", "pause_before", "concurrency",
    "fail_on", "safe_rerun", "keep_result", "target",
)
CLAUSE_ATTRS = ("on_success", "on_error", "on_complete", "on_skip")


def _attr(key: str) -> str:
    return key.replace("-", "_")


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "list"
    if isinstance(v, dict):
        return "mapping"
    return type(v).__name__


# --------------------------------------------------------------------------
# context


@dataclass
class _Scope:
    """Names defined in the workbook being parsed (short names)."""

    name: str
    actions: frozenset
    workflows: frozenset

    def resolve(self, name: str, kind: str) -> tuple[str, bool]:
        local = self.actions if kind == "action" else self.workflows
        if name in local:
            return f"{self.name}.{name}", True
        prefix = self.name + "."
        if name.startswith(prefix) and name[len(prefix):] in local:
            return name, True
        return name, False


class _Ctx:
    def __init__(self, src: Source, known_action: KnownAction):
        self.src = src
        self.known_action = known_action
        self.errors: list[DSLError] = []
        self._expr_seen: set[int] = set()

    # positions / values
    def v(self, node: Node | None) -> Any:
        return self.src.value(node)

    def err(self, message: str, node: Node | None = None, column: int | None = None) -> None:
        if node is None:
            self.errors.append(DSLError(message))
        else:
            self.errors.append(DSLError(message, Source.line(node), column or Source.column(node)))

    def finish(self) -> list[DSLError]:
        seen = set()
        out = []
        for e in self.errors:
            key = (e.message, e.line, e.column)
            if key not in seen:
                seen.add(key)
                out.append(e)
        out.sort(key=lambda e: (e.line or 0, e.column or 0))
        return out

    def raise_if_errors(self) -> None:
        errs = self.finish()
        if errs:
            raise DSLErrors(errs)

    # known actions
    def action_known(self, name: str) -> bool:
        if self.known_action is None:
            return True
        try:
            return bool(self.known_action(name))
        except Exception:
            return False

    # expressions
    def check_exprs(self, node: Node | None) -> None:
        """Check the syntax of every expression in ``node`` (recursively)."""
        if node is None or id(node) in self._expr_seen:
            return
        self._expr_seen.add(id(node))
        if isinstance(node, ScalarNode):
            value = self.v(node)
            if isinstance(value, str) and ("<%" in value or "{{" in value or "{%" in value):
                for offset, msg in check_string(value):
                    self.err(msg, node, self.src.substring_column(node, offset))
        elif isinstance(node, MappingNode):
            for k, val in node.value:
                self.check_exprs(k)
                self.check_exprs(val)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                self.check_exprs(item)


# --------------------------------------------------------------------------
# document level


def _load(text: str, known_action: KnownAction) -> _Ctx:
    try:
        src = load(text)
    except DSLError as e:
        raise DSLErrors([e]) from None
    return _Ctx(src, known_action)


def _root_mapping(ctx: _Ctx) -> MappingNode | None:
    root = ctx.src.root
    if root is None or ctx.src.is_null(root):
        ctx.errors.append(DSLError("Definition is empty.", 1, 1))
        return None
    if not isinstance(root, MappingNode):
        ctx.err(f"Definition must be a YAML mapping, got {_type_name(ctx.v(root))}.", root)
        return None
    return root


def _check_version(ctx: _Ctx, root: MappingNode) -> None:
    kv = ctx.src.get(root, "version")
    if kv is None:
        ctx.err("Missing required key 'version' (must be '2.0').", root)
        return
    v = ctx.v(kv[1])
    ok = False
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        try:
            ok = float(v) == 2.0
        except ValueError:
            ok = False
    if not ok:
        ctx.err(f"Unsupported DSL version '{v}' (must be '2.0').", kv[1] if not ctx.src.is_null(kv[1]) else kv[0])


def _name_of(ctx: _Ctx, key_node: Node, what: str) -> str | None:
    name = ctx.v(key_node)
    if not isinstance(name, str) or not name.strip():
        ctx.err(f"{what} name must be a non-empty string, got {name!r}.", key_node)
        return None
    return name


def _str_field(ctx: _Ctx, node: Node, what: str) -> str | None:
    v = ctx.v(node)
    if v is None or isinstance(v, str):
        return v
    ctx.err(f"{what} must be a string, got {_type_name(v)}.", node)
    return None


def _tags(ctx: _Ctx, node: Node, what: str) -> tuple[str, ...]:
    v = ctx.v(node)
    if v is None:
        return ()
    if isinstance(v, list) and all(isinstance(t, str) for t in v):
        return tuple(v)
    ctx.err(f"'tags' of {what} must be a list of strings.", node)
    return ()


def _mapping(ctx: _Ctx, node: Node, what: str) -> dict:
    v = ctx.v(node)
    if v is None:
        return {}
    if isinstance(v, dict):
        return v
    ctx.err(f"{what} must be a mapping, got {_type_name(v)}.", node)
    return {}


def _input_params(ctx: _Ctx, node: Node, what: str) -> tuple[InputParam, ...]:
    if ctx.src.is_null(node):
        return ()
    if not isinstance(node, SequenceNode):
        ctx.err(f"'input' of {what} must be a list of names or single-key mappings.", node)
        return ()
    params: list[InputParam] = []
    seen: set[str] = set()
    for item in node.value:
        v = ctx.v(item)
        if isinstance(v, str) and v.strip():
            param = InputParam(v)
        elif isinstance(v, dict) and len(v) == 1 and isinstance(next(iter(v)), str):
            (name, default), = v.items()
            param = InputParam(name, default)
        else:
            ctx.err(f"Invalid input parameter in {what}: expected a name or a single-key "
                    f"mapping {{name: default}}, got {v!r}.", item)
            continue
        if param.name in seen:
            ctx.err(f"Duplicate input parameter '{param.name}' in {what}.", item)
            continue
        seen.add(param.name)
        params.append(param)
    return tuple(params)


def _definition(ctx: _Ctx, key_node: Node, value_node: Node, version: Node | None = None) -> str:
    """The source lines of ``key: value``, dedented, after the document's
    ``version`` line when ``version`` (its key node) is given.

    As in Mistral, a workflow of a workbook is shown without a version line;
    a document holding one workflow keeps its whole text (see ``_top_level_doc``).
    """
    src = ctx.src
    lines = src.lines
    start = key_node.start_mark.line
    indent = key_node.start_mark.column
    end_mark = src.last_mark(value_node)
    if end_mark.index < key_node.end_mark.index:
        end_mark = key_node.end_mark
    end = end_mark.line if end_mark.column > 0 else end_mark.line - 1
    end = max(end, start)
    ok = start < len(lines) and lines[start][:indent].strip() == ""
    if ok and end_mark.column > 0 and end_mark.line < len(lines):
        rest = lines[end_mark.line][end_mark.column:].strip()
        ok = rest == "" or rest.startswith("#")
    header = ""
    if ok and version is not None:
        vline = version.start_mark.line
        ok = lines[vline][:version.start_mark.column].strip() == "" and \
            ctx.src.get(ctx.src.root, "version")[1].end_mark.line == vline
        header = lines[vline][version.start_mark.column:] if ok else ""
        if header and not header.endswith(("\n", "\r")):
            header += "\n"
    if not ok:
        # flow style (several items on one line): re-serialise the data
        data = {ctx.v(key_node): ctx.v(value_node)}
        if version is not None:
            data = {"version": ctx.v(ctx.src.get(ctx.src.root, "version")[1]), **data}
        try:
            return yaml.safe_dump(data, default_flow_style=False, sort_keys=False, allow_unicode=True)
        except Exception:
            return ""
    block = lines[start:end + 1]
    while block and not block[-1].strip():
        block.pop()
    out = []
    for line in block:
        lead = len(line) - len(line.lstrip(" \t"))
        out.append(line[min(lead, indent):])
    text = "".join(out)
    if not text.endswith(("\n", "\r")):
        text += "\n"
    return header + text


# --------------------------------------------------------------------------
# values


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_number(ctx: _Ctx, v: Any, node: Node, what: str, integer: bool = True) -> Any:
    if is_expression(v):
        return v
    if _is_number(v) and v >= 0 and (not integer or isinstance(v, int)):
        return v
    kind = "a non-negative integer" if integer else "a non-negative number"
    ctx.err(f"{what} must be {kind} or an expression, got {v!r}.", node)
    return None


def _check_bool(ctx: _Ctx, v: Any, node: Node, what: str) -> Any:
    if isinstance(v, bool) or is_expression(v):
        return v
    ctx.err(f"{what} must be a boolean or an expression, got {v!r}.", node)
    return None


def _retry(ctx: _Ctx, node: Node, owner: str) -> RetryPolicy | None:
    v = ctx.v(node)
    what = f"'retry' of {owner}"
    if v is None:
        return None
    if isinstance(v, str):
        try:
            data = parse_params(v)
        except DSLError as e:
            ctx.err(f"Invalid {what}: {e.message}", node)
            return None
    elif isinstance(v, dict):
        data = v
    else:
        ctx.err(f"{what} must be a mapping or a 'count=N delay=N' string, got {_type_name(v)}.", node)
        return None
    kwargs: dict[str, Any] = {}
    key_nodes = dict((ctx.v(k), k) for k, _ in node.value) if isinstance(node, MappingNode) else {}
    for key, val in data.items():
        at = key_nodes.get(key, node)
        if key not in RETRY_KEYS:
            ctx.err(f"Unknown key '{key}' in {what}.", at)
            continue
        if key == "count":
            kwargs["count"] = _check_number(ctx, val, at, f"'count' of {what}")
        elif key == "delay":
            kwargs["delay"] = _check_number(ctx, val, at, f"'delay' of {what}", integer=False)
        else:
            kwargs[_attr(key)] = val
    if kwargs.get("count") is None:
        kwargs.pop("count", None)
    if kwargs.get("delay") is None:
        kwargs.pop("delay", None)
    return RetryPolicy(**kwargs)


def _with_items(ctx: _Ctx, node: Node, owner: str) -> WithItems | None:
    if isinstance(node, SequenceNode):
        items = list(node.value)
    else:
        items = [node]
    if not items:
        ctx.err(f"'with-items' of {owner} must not be empty.", node)
        return None
    pairs = []
    for item in items:
        v = ctx.v(item)
        pair = _with_items_pair(v) if isinstance(v, str) else None
        if pair is None:
            ctx.err(f"Invalid 'with-items' of {owner}: {v!r}; expected 'var in <% $.list %>' "
                    f"or 'var in [literal, list]'.", item)
            continue
        pairs.append(pair)
    return WithItems(tuple(pairs)) if pairs else None


def _with_items_pair(s: str) -> tuple[str, Any] | None:
    parts = s.strip().split(None, 2)
    if len(parts) != 3 or parts[1] != "in":
        return None
    var, _, source = parts
    if not (var.replace("_", "a").replace("-", "a").isalnum()) or var[0].isdigit():
        return None
    source = source.strip()
    if ((source.startswith("<%") and source.find("%>") == len(source) - 2)
            or (source.startswith("{{") and source.find("}}") == len(source) - 2)):
        return var, source
    if source.startswith("["):
        try:
            value = safe_load(source)
        except Exception:
            return None
        if isinstance(value, list):
            return var, value
    return None


# --------------------------------------------------------------------------
# transitions


def _target(ctx: _Ctx, text: Any, node: Node, task_names: set, condition: Any = None) -> Transition | None:
    if not isinstance(text, str) or not text.strip():
        ctx.err(f"Invalid transition target {text!r}.", node)
        return None
    text = text.strip()
    if text in task_names:
        return Transition(text, condition)
    try:
        name, params = parse_inline(text)
    except DSLError as e:
        ctx.err(f"Invalid transition '{text}': {e.message}", node)
        return None
    if name in task_names and params:
        ctx.err(f"Invalid transition '{text}': only engine commands "
                f"({', '.join(ENGINE_COMMANDS)}) take parameters"
                f"{' (a task has that name)' if name in ENGINE_COMMANDS else ''}.", node)
        return None
    if name in task_names:
        return Transition(name, condition)
    if name in ENGINE_COMMANDS:
        return Transition(name, condition, params)
    ctx.err(f"Task '{text}' not found.", node)
    return Transition(text, condition)


def _transition_list(ctx: _Ctx, node: Node, task_names: set, what: str) -> list[Transition]:
    v = ctx.v(node)
    out: list[Transition] = []
    if v is None:
        return out
    if isinstance(node, ScalarNode):
        tr = _target(ctx, v, node, task_names)
        if tr:
            out.append(tr)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            if isinstance(item, MappingNode):
                pairs = ctx.src.items(item)
                if len(pairs) != 1:
                    ctx.err(f"Invalid transition in {what}: a mapping item must have exactly "
                            f"one key ({{task_name: condition}}).", item)
                    continue
                k, c = pairs[0]
                tr = _target(ctx, ctx.v(k), k, task_names, ctx.v(c))
            elif isinstance(item, ScalarNode):
                tr = _target(ctx, ctx.v(item), item, task_names)
            else:
                ctx.err(f"Invalid transition in {what}: expected a task name or "
                        f"{{task_name: condition}}.", item)
                continue
            if tr:
                out.append(tr)
    elif isinstance(node, MappingNode):
        for k, c in ctx.src.items(node):
            tr = _target(ctx, ctx.v(k), k, task_names, ctx.v(c))
            if tr:
                out.append(tr)
    return out


def _clause(ctx: _Ctx, node: Node, task_names: set, what: str) -> OnClause | None:
    if ctx.src.is_null(node):
        return None
    if isinstance(node, MappingNode):
        keys = {ctx.v(k) for k, _ in node.value}
        if keys & {"publish", "next"}:
            return _advanced_clause(ctx, node, task_names, what)
    nxt = tuple(_transition_list(ctx, node, task_names, what))
    return OnClause(next=nxt) if nxt else None


def _advanced_clause(ctx: _Ctx, node: MappingNode, task_names: set, what: str) -> OnClause:
    nxt: list[Transition] = []
    publish: dict = {}
    publish_global: dict = {}
    for k, val in ctx.src.items(node):
        key = ctx.v(k)
        if key == "next":
            nxt = _transition_list(ctx, val, task_names, what)
        elif key == "publish":
            data = ctx.v(val)
            if data is None:
                continue
            if not isinstance(data, dict):
                ctx.err(f"'publish' of {what} must be a mapping, got {_type_name(data)}.", val)
                continue
            if data and set(data) <= {"branch", "global", "atomic"}:
                for pk, pv in ctx.src.items(val):
                    scope = ctx.v(pk)
                    pdata = _mapping(ctx, pv, f"'publish.{scope}' of {what}")
                    if scope == "global":
                        publish_global.update(pdata)
                    else:
                        publish.update(pdata)
            else:
                publish.update(data)
        else:
            ctx.err(f"Unknown key '{key}' in {what} (expected 'publish' and/or 'next').", k)
    if not (nxt or publish or publish_global):
        return None
    return OnClause(next=tuple(nxt), publish=publish, publish_global=publish_global)


def _without_self(clause: OnClause | None, name: str) -> OnClause | None:
    if clause is None:
        return None
    nxt = tuple(tr for tr in clause.next if tr.target != name)
    if len(nxt) == len(clause.next):
        return clause
    if not nxt and not clause.publish and not clause.publish_global:
        return None
    return OnClause(next=nxt, publish=clause.publish, publish_global=clause.publish_global)


def _requires(ctx: _Ctx, node: Node, task_names: set, what: str) -> tuple[str, ...]:
    v = ctx.v(node)
    if v is None:
        return ()
    if isinstance(node, ScalarNode) and isinstance(v, str):
        items = [(v, node)]
    elif isinstance(node, SequenceNode):
        items = [(ctx.v(n), n) for n in node.value]
    else:
        ctx.err(f"'requires' of {what} must be a task name or a list of task names.", node)
        return ()
    out = []
    for name, n in items:
        if not isinstance(name, str):
            ctx.err(f"'requires' of {what} must be a task name or a list of task names.", n)
            continue
        if name not in task_names:
            ctx.err(f"Task '{name}' not found.", n)
        if name not in out:
            out.append(name)
    return tuple(out)


# --------------------------------------------------------------------------
# tasks


def _task_attrs(ctx: _Ctx, body: MappingNode, task_names: set, wf_type: str, owner: str,
                scope: _Scope | None, defaults: bool = False) -> dict:
    """TaskSpec keyword arguments for the keys present in ``body``."""
    attrs: dict[str, Any] = {}
    inline: dict = {}
    explicit_input: dict | str | None = None
    input_node: Node | None = None
    if defaults:
        allowed = TASK_DEFAULTS_KEYS
    else:
        allowed = COMMON_TASK_KEYS + (DIRECT_TASK_KEYS if wf_type == "direct" else REVERSE_TASK_KEYS)
    for k, node in ctx.src.items(body):
        key = ctx.v(k)
        if key not in allowed:
            if not defaults and key in DIRECT_TASK_KEYS + REVERSE_TASK_KEYS:
                ctx.err(f"Key '{key}' is not allowed in {owner}: it belongs to "
                        f"{'reverse' if wf_type == 'direct' else 'direct'} workflows.", k)
            else:
                ctx.err(f"Unknown key '{key}' in {owner}.", k)
            continue
        v = ctx.v(node)
        what = f"'{key}' of {owner}"
        if key in ("action", "workflow"):
            if not isinstance(v, str) or not v.strip():
                ctx.err(f"{what} must be a non-empty string.", node)
                continue
            try:
                name, params = parse_inline(v)
            except DSLError as e:
                ctx.err(f"Invalid {what}: {e.message}", node)
                continue
            if name is None:
                ctx.err(f"Invalid {what}: missing {key} name in '{v.strip()}'.", node)
                continue
            if scope is not None and not is_expression(name):
                name, local = scope.resolve(name, key)
                if local:
                    attrs[f"_{key}_local"] = True
            attrs[key] = name
            inline.update(params)
        elif key == "input":
            if v is None:
                explicit_input = {}
            elif isinstance(v, dict) or is_expression(v):
                # As in Mistral, the whole input may be one expression giving a mapping.
                explicit_input = v
                input_node = node
            else:
                ctx.err(f"{what} must be a mapping or an expression, got {_type_name(v)}.", node)
        elif key in ("publish", "publish-on-error", "publish-on-skip"):
            attrs[_attr(key)] = _mapping(ctx, node, what)
        elif key in CLAUSE_KEYS:
            attrs[_attr(key)] = _clause(ctx, node, task_names, what)
        elif key == "join":
            if v in ("all", "one") or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                attrs["join"] = v
            else:
                ctx.err(f"{what} must be 'all', 'one' or a positive integer, got {v!r}.", node)
        elif key == "with-items":
            attrs["with_items"] = _with_items(ctx, node, owner)
        elif key == "retry":
            r = _retry(ctx, node, owner)
            if r is not None:
                attrs["retry"] = r
        elif key in ("wait-before", "wait-after", "timeout"):
            if v is not None:
                attrs[_attr(key)] = _check_number(ctx, v, node, what, integer=False)
        elif key == "concurrency":
            if v is not None:
                attrs["concurrency"] = _check_number(ctx, v, node, what)
        elif key in ("pause-before", "keep-result", "safe-rerun"):
            if v is not None:
                checked = _check_bool(ctx, v, node, what)
                if checked is not None:
                    attrs[_attr(key)] = checked
        elif key == "fail-on":
            if v is not None:
                if isinstance(v, (str, bool)):
                    attrs["fail_on"] = v
                else:
                    ctx.err(f"{what} must be an expression or a boolean, got {v!r}.", node)
        elif key == "target":
            if v is not None:
                if isinstance(v, str):
                    attrs["target"] = v
                else:
                    ctx.err(f"{what} must be a string, got {_type_name(v)}.", node)
        elif key == "requires":
            attrs["requires"] = _requires(ctx, node, task_names, owner)
        elif key == "description":
            attrs["description"] = _str_field(ctx, node, what)
        elif key == "tags":
            attrs["tags"] = _tags(ctx, node, owner)
    if isinstance(explicit_input, str):
        if inline:
            ctx.err(f"'input' of {owner} is an expression: give the parameters either inline "
                    f"or in 'input', not both.", input_node)
        attrs["input"] = explicit_input
    elif inline or explicit_input is not None:
        # As in Mistral, a parameter given inline wins over the same key in `input:`.
        attrs["input"] = {**(explicit_input or {}), **inline}
    return attrs


def _parse_task(ctx: _Ctx, key: Node, body: Node, name: str, task_names: set, wf_type: str,
                wf_name: str, scope: _Scope | None, defaults: dict) -> TaskSpec | None:
    owner = f"task '{name}'"
    if ctx.src.is_null(body):
        attrs: dict[str, Any] = {}
    elif not isinstance(body, MappingNode):
        ctx.err(f"Task '{name}' of workflow '{wf_name}' must be a mapping, "
                f"got {_type_name(ctx.v(body))}.", body)
        return None
    else:
        attrs = _task_attrs(ctx, body, task_names, wf_type, owner, scope)
        for k, val in ctx.src.items(body):
            if ctx.v(k) not in ("description", "tags"):
                ctx.check_exprs(k)
                ctx.check_exprs(val)
    action_local = attrs.pop("_action_local", False)
    attrs.pop("_workflow_local", None)
    if attrs.get("action") is not None and attrs.get("workflow") is not None:
        ctx.err(f"Task '{name}' cannot have both 'action' and 'workflow'.", key)
    action = attrs.get("action")
    if (action is not None and not action_local and not is_expression(action)
            and not ctx.action_known(action)):
        ctx.err(f"Action '{action}' not found.", key)
    # task-defaults
    for a in DEFAULTABLE:
        if attrs.get(a) is None and defaults.get(a) is not None:
            attrs[a] = defaults[a]
    if wf_type == "direct":
        for a in CLAUSE_ATTRS:
            if attrs.get(a) is None and defaults.get(a) is not None:
                attrs[a] = _without_self(defaults[a], name)
    else:
        extra = tuple(r for r in defaults.get("requires", ())
                      if r != name and r not in attrs.get("requires", ()))
        if extra:
            attrs["requires"] = tuple(attrs.get("requires", ())) + extra
    attrs = {a: v for a, v in attrs.items() if v is not None or a in CLAUSE_ATTRS}
    return TaskSpec(name=name, line=Source.line(key), **attrs)


# --------------------------------------------------------------------------
# workflows


def _parse_workflow(ctx: _Ctx, key: Node, body: Node, short: str, full: str,
                    scope: _Scope | None) -> WorkflowSpec | None:
    if not isinstance(body, MappingNode):
        ctx.err(f"Workflow '{short}' must be a mapping, got {_type_name(ctx.v(body))}.",
                key if ctx.src.is_null(body) else body)
        return None
    owner = f"workflow '{short}'"
    fields: dict[str, Any] = {}
    nodes: dict[str, tuple[Node, Node]] = {}
    for k, val in ctx.src.items(body):
        name = ctx.v(k)
        if name not in WORKFLOW_KEYS:
            ctx.err(f"Unknown key '{name}' in {owner}.", k)
            continue
        nodes[name] = (k, val)
        if name not in ("description", "tags", "tasks"):
            ctx.check_exprs(val)

    wf_type = "direct"
    if "type" in nodes:
        t = ctx.v(nodes["type"][1])
        if t in ("direct", "reverse"):
            wf_type = t
        elif t is not None:
            ctx.err(f"Invalid type '{t}' of {owner}: must be 'direct' or 'reverse'.", nodes["type"][1])
    if "description" in nodes:
        fields["description"] = _str_field(ctx, nodes["description"][1], f"'description' of {owner}")
    if "tags" in nodes:
        fields["tags"] = _tags(ctx, nodes["tags"][1], owner)
    if "input" in nodes:
        fields["input"] = _input_params(ctx, nodes["input"][1], owner)
    if "output" in nodes:
        fields["output"] = ctx.v(nodes["output"][1])
    if "output-on-error" in nodes:
        fields["output_on_error"] = ctx.v(nodes["output-on-error"][1])
    if "vars" in nodes:
        fields["vars"] = _mapping(ctx, nodes["vars"][1], f"'vars' of {owner}")

    tasks_node = nodes.get("tasks", (None, None))[1]
    task_items: list[tuple[Node, Node, str]] = []
    if "tasks" not in nodes:
        ctx.err(f"Missing required key 'tasks' in {owner}.", key)
    elif not isinstance(tasks_node, MappingNode):
        if ctx.src.is_null(tasks_node):
            ctx.err(f"'tasks' of {owner} must not be empty.", nodes["tasks"][0])
        else:
            ctx.err(f"'tasks' of {owner} must be a mapping of task names to tasks, "
                    f"got {_type_name(ctx.v(tasks_node))}.", tasks_node)
    else:
        if not tasks_node.value:
            ctx.err(f"'tasks' of {owner} must not be empty.", nodes["tasks"][0])
        for k, val in ctx.src.items(tasks_node):
            tname = _name_of(ctx, k, "Task")
            if tname is None:
                continue
            if len(tname) > MAX_TASK_NAME:      # as Mistral; the name column holds 255
                ctx.err(f"The length of a task name must not exceed {MAX_TASK_NAME} symbols, "
                        f"got {len(tname)}.", k)
                continue
            task_items.append((k, val, tname))
    task_names = {t for _, _, t in task_items}

    defaults: dict[str, Any] = {}
    if "task-defaults" in nodes:
        td_node = nodes["task-defaults"][1]
        fields["task_defaults"] = _mapping(ctx, td_node, f"'task-defaults' of {owner}")
        if isinstance(td_node, MappingNode):
            defaults = _task_attrs(ctx, td_node, task_names, wf_type,
                                   f"task-defaults of {owner}", scope, defaults=True)

    tasks: dict[str, TaskSpec] = {}
    for k, val, tname in task_items:
        spec = _parse_task(ctx, k, val, tname, task_names, wf_type, short, scope, defaults)
        if spec is not None:
            tasks[tname] = spec

    return WorkflowSpec(
        name=full,
        type=wf_type,
        tasks=tasks,
        line=Source.line(key),
        definition=_definition(ctx, key, body),
        **fields,
    )


def _top_level_doc(ctx: _Ctx, kind: str, parse_item) -> list:
    """A document of ``version`` plus named items (workflows or actions) at the top."""
    root = _root_mapping(ctx)
    if root is None:
        return []
    _check_version(ctx, root)
    items = [(k, body) for k, body in ctx.src.items(root) if ctx.v(k) != "version"]
    version = ctx.src.get(root, "version")
    out = []
    for k, body in items:
        name = _name_of(ctx, k, kind)
        if name is None:
            continue
        item = parse_item(ctx, k, body, name, name, None)
        if item is not None:
            # As Mistral: a document of one item is its definition, byte for byte;
            # of several, each is its version line and its own lines.
            definition = ctx.src.text if len(items) == 1 else \
                _definition(ctx, k, body, version[0] if version else None)
            out.append(dataclasses.replace(item, definition=definition))
    if not items:
        ctx.err(f"No {kind.lower()}s found in the definition.", root)
    return out


def _workflows_doc(ctx: _Ctx) -> list[WorkflowSpec]:
    return _top_level_doc(ctx, "Workflow", _parse_workflow)


# --------------------------------------------------------------------------
# actions


def _parse_action(ctx: _Ctx, key: Node, body: Node, short: str, full: str,
                  scope: _Scope | None) -> ActionSpec | None:
    owner = f"action '{short}'"
    if not isinstance(body, MappingNode):
        ctx.err(f"Action '{short}' must be a mapping, got {_type_name(ctx.v(body))}.",
                key if ctx.src.is_null(body) else body)
        return None
    nodes: dict[str, tuple[Node, Node]] = {}
    for k, val in ctx.src.items(body):
        name = ctx.v(k)
        if name not in ACTION_KEYS:
            ctx.err(f"Unknown key '{name}' in {owner}.", k)
            continue
        nodes[name] = (k, val)
        if name not in ("description", "tags"):
            ctx.check_exprs(val)
    fields: dict[str, Any] = {}
    base = None
    base_input: dict = {}
    if "base" not in nodes:
        ctx.err(f"Missing required key 'base' in {owner}.", key)
    else:
        bnode = nodes["base"][1]
        bv = ctx.v(bnode)
        if not isinstance(bv, str) or not bv.strip():
            ctx.err(f"'base' of {owner} must be a non-empty string.", bnode)
        else:
            try:
                base, base_input = parse_inline(bv)
                if base is None:
                    ctx.err(f"Invalid 'base' of {owner}: missing action name in '{bv.strip()}'.", bnode)
            except DSLError as e:
                ctx.err(f"Invalid 'base' of {owner}: {e.message}", bnode)
            local = False
            if base is not None:
                if scope is not None and not is_expression(base):
                    base, local = scope.resolve(base, "action")
                if base == full:
                    ctx.err(f"Action '{short}' cannot be based on itself.", bnode)
                elif not local and not is_expression(base) and not ctx.action_known(base):
                    ctx.err(f"Action '{base}' not found.", bnode)
    if "base-input" in nodes:
        base_input = {**base_input, **_mapping(ctx, nodes["base-input"][1], f"'base-input' of {owner}")}
    if "input" in nodes:
        fields["input"] = _input_params(ctx, nodes["input"][1], owner)
    if "output" in nodes:
        fields["output"] = ctx.v(nodes["output"][1])
    if "description" in nodes:
        fields["description"] = _str_field(ctx, nodes["description"][1], f"'description' of {owner}")
    if "tags" in nodes:
        fields["tags"] = _tags(ctx, nodes["tags"][1], owner)
    return ActionSpec(
        name=full,
        base=base or "",
        base_input=base_input,
        line=Source.line(key),
        definition=_definition(ctx, key, body),
        **fields,
    )


def _actions_doc(ctx: _Ctx) -> list[ActionSpec]:
    return _top_level_doc(ctx, "Action", _parse_action)


# --------------------------------------------------------------------------
# workbooks


def _named_items(ctx: _Ctx, node: Node | None, what: str, section: str) -> list[tuple[Node, Node, str]]:
    if node is None or ctx.src.is_null(node):
        return []
    if not isinstance(node, MappingNode):
        ctx.err(f"'{section}' of the workbook must be a mapping of names to {section}, "
                f"got {_type_name(ctx.v(node))}.", node)
        return []
    out = []
    for k, body in ctx.src.items(node):
        name = _name_of(ctx, k, what)
        if name is not None:
            out.append((k, body, name))
    return out


def _workbook_doc(ctx: _Ctx) -> WorkbookSpec | None:
    root = _root_mapping(ctx)
    if root is None:
        return None
    _check_version(ctx, root)
    nodes: dict[str, tuple[Node, Node]] = {}
    for k, val in ctx.src.items(root):
        key = ctx.v(k)
        if key not in WORKBOOK_KEYS:
            ctx.err(f"Unknown key '{key}' in workbook.", k)
            continue
        nodes[key] = (k, val)
    wb_name = ""
    if "name" not in nodes:
        ctx.err("Missing required key 'name' in workbook.", root)
    else:
        n = ctx.v(nodes["name"][1])
        if isinstance(n, str) and n.strip():
            wb_name = n
        else:
            ctx.err(f"Workbook name must be a non-empty string, got {n!r}.", nodes["name"][1])
    fields: dict[str, Any] = {}
    if "description" in nodes:
        fields["description"] = _str_field(ctx, nodes["description"][1], "'description' of the workbook")
    if "tags" in nodes:
        fields["tags"] = _tags(ctx, nodes["tags"][1], "the workbook")
    wf_items = _named_items(ctx, nodes.get("workflows", (None, None))[1], "Workflow", "workflows")
    ac_items = _named_items(ctx, nodes.get("actions", (None, None))[1], "Action", "actions")
    scope = _Scope(wb_name, frozenset(n for _, _, n in ac_items), frozenset(n for _, _, n in wf_items))

    actions: dict[str, ActionSpec] = {}
    for k, body, name in ac_items:
        full = f"{wb_name}.{name}"
        spec = _parse_action(ctx, k, body, name, full, scope)
        if spec is not None:
            actions[full] = spec
    workflows: dict[str, WorkflowSpec] = {}
    for k, body, name in wf_items:
        full = f"{wb_name}.{name}"
        spec = _parse_workflow(ctx, k, body, name, full, scope)
        if spec is not None:
            workflows[full] = spec
    return WorkbookSpec(name=wb_name, workflows=workflows, actions=actions,
                        definition=ctx.src.text, **fields)


# --------------------------------------------------------------------------
# public API


def parse_workflows(text: str, known_action: KnownAction = None) -> list[WorkflowSpec]:
    """Parse a workflows document (``version`` + workflow name -> body).

    Raises :class:`DSLErrors` listing every problem found.
    """
    ctx = _load(text, known_action)
    result = _workflows_doc(ctx)
    ctx.raise_if_errors()
    return result


def parse_workbook(text: str, known_action: KnownAction = None) -> WorkbookSpec:
    """Parse a workbook (``version``, ``name``, ``workflows``, ``actions``...)."""
    ctx = _load(text, known_action)
    result = _workbook_doc(ctx)
    ctx.raise_if_errors()
    assert result is not None
    return result


def parse_actions(text: str, known_action: KnownAction = None) -> list[ActionSpec]:
    """Parse an ad-hoc actions document (``version`` + action name -> body)."""
    ctx = _load(text, known_action)
    result = _actions_doc(ctx)
    ctx.raise_if_errors()
    return result


def collect_errors(text: str, kind: str | None = None, known_action: KnownAction = None) -> list[DSLError]:
    """All errors of a document of ``kind`` ('workflows', 'workbook', 'actions';
    None = workbook if it has top-level ``name`` and ``workflows``, else workflows)."""
    try:
        ctx = _load(text, known_action)
    except DSLErrors as e:
        return list(e.errors)
    if kind is None:
        root = ctx.src.root
        kind = "workflows"
        if isinstance(root, MappingNode):
            keys = {ctx.v(k) for k, _ in root.value}
            if "name" in keys and "workflows" in keys:
                kind = "workbook"
    if kind == "workbook":
        _workbook_doc(ctx)
    elif kind == "actions":
        _actions_doc(ctx)
    elif kind == "workflows":
        _workflows_doc(ctx)
    else:
        raise ValueError(f"unknown document kind {kind!r}")
    return ctx.finish()
