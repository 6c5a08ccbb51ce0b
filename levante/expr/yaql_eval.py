"""YAQL: one engine, a cache of parsed expressions, a fast path for plain paths.

The engine is set up the way Mistral sets up its own (``YaqlFactory`` with
the ``=>`` keyword operator, no delegates, ``yaql.create_context()`` with
the standard library, input data converted to yaql's immutable types and
output converted back), except that sets come out as lists and the
iterator and memory limits are finite (Mistral's defaults are unlimited).
"""

from __future__ import annotations

import collections.abc  # noqa: F401  (yaql 3.2.0 uses it without importing it)
import sys
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import yaql
from yaql.language import expressions as yaql_expressions
from yaql.language import factory as yaql_factory
from yaql.language import specs as yaql_specs
from yaql.language import utils as yaql_utils
from yaql.language import yaqltypes

from . import functions as fn
from . import yaql_regex
from .context import CURRENT, EvalState
from .errors import ExpressionError

#: Most items any collection an expression touches may have (None: no limit).
LIMIT_ITERATORS: int | None = 1_000_000
#: Most bytes (shallow size) any single value an expression produces may take.
MEMORY_QUOTA: int | None = 64 * 1024 * 1024
#: How many parsed expressions are kept.
CACHE_SIZE = 4096

#: Variables Mistral copies from the data dict into the YAQL context.
_CONTEXT_VARS = ("__env", "__execution", "__task_execution")

_lock = threading.Lock()
_engine = None
_root_context = None
_coll_safe = 0
_str_safe = 0


def engine_options() -> dict:
    return {
        "yaql.limitIterators": -1 if LIMIT_ITERATORS is None else LIMIT_ITERATORS,
        "yaql.memoryQuota": -1 if MEMORY_QUOTA is None else MEMORY_QUOTA,
        "yaql.convertInputData": True,
        "yaql.convertOutputData": True,
        "yaql.convertTuplesToLists": True,
        "yaql.convertSetsToLists": True,
        "yaql.iterableDicts": False,
    }


# -- functions as yaql sees them -------------------------------------------
# yaql takes parameter names (camelCased for keyword arguments) from these
# signatures, so they are spelled out; arguments arrive as yaql's immutable
# types and results are handed back converted to them.

def _out(value: Any) -> Any:
    return _convert_data(value)


def _y_task(task_name=None):
    return _out(fn.task(fn.to_plain(task_name)))


def _y_tasks(workflow_execution_id=None, recursive=False, state=None, flat=False):
    return _out(fn.tasks(fn.to_plain(workflow_execution_id), recursive,
                         fn.to_plain(state), flat))


def _y_execution():
    return _out(fn.execution())


def _y_env():
    return _out(fn.env())


def _y_global(var_name):
    return _out(fn.global_(fn.to_plain(var_name)))


def _y_json_dump(data):
    return fn.json_dump(data)


def _y_json_pp(data=None):
    return fn.json_pp(data)


def _y_json_parse(data):
    return _out(fn.json_parse(data))


def _y_yaml_dump(data):
    return fn.yaml_dump(data)


def _y_yaml_parse(data):
    return _out(fn.yaml_parse(data))


def _y_uuid():
    return fn.uuid()


_YAQL_FUNCTIONS = {
    "task": _y_task,
    "tasks": _y_tasks,
    "execution": _y_execution,
    "env": _y_env,
    "global": _y_global,
    "json_dump": _y_json_dump,
    "json_pp": _y_json_pp,
    "json_parse": _y_json_parse,
    "yaml_dump": _y_yaml_dump,
    "yaml_parse": _y_yaml_parse,
    "uuid": _y_uuid,
}


# -- output conversion -----------------------------------------------------
# yaql's default '#finalize' converts the result back to lists and dicts
# through a '#iter' yaql function call per collection, which costs about as
# much as the rest of a simple expression. These do the same checks (length
# limit, then the memory quota on the collection and on what the limiter
# returns) without going through yaql's function dispatch.

def _limiter(engine):
    def limit(iterable):
        yaql_utils.limit_memory_usage(engine, (1, iterable))
        result = yaql_utils.limit_iterable(iterable, engine)
        yaql_utils.limit_memory_usage(engine, (1, result))
        return result
    return limit


@yaql_specs.parameter("iterator", yaqltypes.Iterable())
@yaql_specs.name("#iter")
def _iter(iterator):
    return iterator


@yaql_specs.inject("engine", yaqltypes.Engine())
@yaql_specs.name("#finalize")
def _finalize(obj, engine):
    if engine.options.get("yaql.convertOutputData", True):
        return yaql_utils.convert_output_data(obj, _limiter(engine), engine)
    return obj


# -- engine and compiled expressions ---------------------------------------

def _setup():
    global _engine, _root_context, _coll_safe, _str_safe
    with _lock:
        if _engine is not None:
            return
        eng = yaql_factory.YaqlFactory(keyword_operator="=>", allow_delegates=False) \
            .create(options=engine_options())
        # Regular expressions from yaql_regex, which cannot backtrack for minutes.
        ctx = yaql.create_context(finalizer=_finalize, regex=False)
        yaql_regex.register(ctx)
        ctx.register_function(_iter)
        for name, func in _YAQL_FUNCTIONS.items():
            ctx.register_function(func, name=name)
        # Bounds under which the fast path provably cannot trip the limits
        # yaql enforces (collection length, shallow size of a value).
        inf = sys.maxsize
        limit = inf if LIMIT_ITERATORS is None or LIMIT_ITERATORS < 0 else LIMIT_ITERATORS
        quota = inf if MEMORY_QUOTA is None or MEMORY_QUOTA <= 0 else MEMORY_QUOTA
        _coll_safe = min(limit, quota // 128)
        _str_safe = max(0, (quota - 256) // 4)
        _root_context = ctx
        _engine = eng


def get_engine():
    if _engine is None:
        _setup()
    return _engine


def _parse_yaql(text: str):
    """Parse ``text`` with the shared engine (ply's lexer is not reentrant)."""
    eng = get_engine()
    with _lock:
        return eng(text)


class CompiledYaql:
    """A parsed YAQL expression (or the syntax error parsing it gave)."""

    __slots__ = ("text", "statement", "path", "quick", "error")

    def __init__(self, text, statement=None, path=None, quick=None, error=None):
        self.text = text
        self.statement = statement
        self.path = path      # keys of a plain path ($.a.b), or None
        self.quick = quick    # a closure for a simple condition, or None
        self.error = error


def _plain_path(statement) -> tuple | None:
    """``(root, keys)`` for ``$.a.b``, ``task(x).result``..., else None."""
    return _path_keys(statement.expression)


@lru_cache(maxsize=CACHE_SIZE)
def compile_yaql(text: str) -> CompiledYaql:
    """Parse ``text`` once; later calls with the same text reuse the result."""
    try:
        statement = _parse_yaql(text)
    except Exception as e:
        return CompiledYaql(text, error=ExpressionError.grammar("YAQL", text, e))
    path = _plain_path(statement)
    quick = None if path is not None else _quick(statement.expression)
    return CompiledYaql(text, statement=statement, path=path, quick=quick)


# -- fast path -------------------------------------------------------------

class _Bail(Exception):
    pass


_MISS = object()
_INHERIT: Any = object()
_MAX_FAST_DEPTH = 64


def _copy(value: Any, depth: int) -> Any:
    """What yaql's input-then-output conversion makes of ``value``.

    Only for values made of dicts, lists, tuples and scalars within the
    limits; anything else raises ``_Bail`` so that yaql itself decides.
    """
    t = type(value)
    if t is str:
        if len(value) > _str_safe:
            raise _Bail
        return value
    if t is int or t is float or t is bool or value is None:
        return value
    if depth > _MAX_FAST_DEPTH:
        raise _Bail
    if t is dict:
        if len(value) > _coll_safe:
            raise _Bail
        out = {}
        for k, v in value.items():
            tk = type(k)
            if not (tk is str or tk is int or tk is float or tk is bool or k is None):
                raise _Bail
            out[k] = _copy(v, depth + 1)
        return out
    if t is list or t is tuple:
        if len(value) > _coll_safe:
            raise _Bail
        return [_copy(v, depth + 1) for v in value]
    raise _Bail


def _fast(path: tuple, data: Any) -> Any:
    root, keys = path
    try:
        value = data if root is None else _call(root)
        for key in keys:
            if type(value) is not dict:
                return _MISS
            value = value.get(key, _MISS)
            if value is _MISS:
                return _MISS  # yaql raises KeyError here: let it say so
        return _copy(value, 0)
    except _Bail:
        return _MISS


# Simple conditions, the bulk of what transitions and ``when`` clauses hold:
# ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not``, ``and``,
# ``or`` and parentheses over plain paths and scalar literals. They compile
# to Python closures doing what yaql's standard library does for scalar
# operands (None, bool, int, float, str). Anything else, or any case where
# yaql would raise (a missing key, a bool in ``<``, ``1 in 'abc'``, ...),
# raises _Bail and yaql evaluates the expression itself.

_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))
_NUMBER_TYPES = (int, float)


def _scalar(value: Any) -> Any:
    t = type(value)
    if t is str:
        if len(value) > _str_safe:
            raise _Bail
        return value
    if t in _SCALAR_TYPES:
        return value
    raise _Bail


def _lookup(data: Any, keys: tuple) -> Any:
    value = data
    for key in keys:
        if type(value) is not dict:
            raise _Bail
        value = value.get(key, _MISS)
        if value is _MISS:
            raise _Bail
    return value


def _container(value: Any) -> Any:
    """The right side of ``in``: a list of scalars or a string."""
    t = type(value)
    if t is str:
        if len(value) > _str_safe:
            raise _Bail
        return value
    if t is list or t is tuple:
        if len(value) > _coll_safe:
            raise _Bail
        for item in value:
            if type(item) not in _SCALAR_TYPES:
                raise _Bail
        return value
    raise _Bail


def _order_null(op: str, left: Any, right: Any) -> bool:
    # yaql's rules for null in ordering comparisons: null is below anything.
    if left is None and right is None:
        return op in ("<=", ">=")
    if left is None:
        return op in ("<", "<=")
    return op in (">", ">=")


_ORDER = {
    "#operator_<": ("<", lambda a, b: a < b),
    "#operator_<=": ("<=", lambda a, b: a <= b),
    "#operator_>": (">", lambda a, b: a > b),
    "#operator_>=": (">=", lambda a, b: a >= b),
}


def _quick_container(node):
    """A closure for the right operand of ``in``, or None."""
    if type(node) is yaql_expressions.ListExpression:
        items = []
        for arg in node.args:
            if type(arg) not in (yaql_expressions.Constant, yaql_expressions.KeywordConstant) \
                    or type(arg.value) not in _SCALAR_TYPES:
                return None
            items.append(arg.value)
        items = tuple(items)
        return lambda data: items
    if type(node) is yaql_expressions.Wrap:
        return _quick_container(node.expr)
    if type(node) is yaql_expressions.Constant and type(node.value) is str:
        value = node.value
        return lambda data: value
    path = _path_keys(node)
    if path is None:
        return None
    root, keys = path
    if root is None:
        return lambda data: _container(_lookup(data, keys))
    return lambda data: _container(_lookup(_call(root), keys))


# Functions a path may start from (``task(x).result``), with the numbers of
# arguments yaql would accept. Only non-null scalar literal arguments are
# taken, which every parameter of these accepts.
_ROOT_FUNCTIONS = {
    "task": (fn.task, (0, 1)),
    "execution": (fn.execution, (0,)),
    "env": (fn.env, (0,)),
    "global": (fn.global_, (1,)),
}


def _call(root: tuple) -> Any:
    func, args = root
    try:
        return func(*args)
    except Exception:
        raise _Bail from None  # yaql calls it again and reports the error


def _path_keys(node) -> tuple | None:
    """``(root, keys)`` when ``node`` is a chain of ``.name`` on ``$`` (root
    None) or on one of _ROOT_FUNCTIONS (root ``(function, args)``)."""
    keys = []
    while type(node) is yaql_expressions.BinaryOperator and node.name == "#operator_.":
        left, right = node.args
        if type(right) is not yaql_expressions.KeywordConstant or type(right.value) is not str:
            return None
        keys.append(right.value)
        node = left
    keys.reverse()
    if type(node) is yaql_expressions.GetContextValue:
        if getattr(node.path, "value", None) != "$":
            return None
        return None, tuple(keys)
    if type(node) is yaql_expressions.Function and node.name in _ROOT_FUNCTIONS:
        func, arities = _ROOT_FUNCTIONS[node.name]
        if len(node.args) not in arities:
            return None
        args = []
        for arg in node.args:
            if type(arg) not in (yaql_expressions.Constant, yaql_expressions.KeywordConstant):
                return None
            if type(arg.value) not in (str, int, float, bool):
                return None
            args.append(arg.value)
        return (func, tuple(args)), tuple(keys)
    return None


def _leaf(path: tuple):
    root, keys = path
    if root is None:
        return lambda data: _scalar(_lookup(data, keys))
    return lambda data: _scalar(_lookup(_call(root), keys))


def _quick(node):
    """A closure ``f(data) -> scalar`` computing ``node`` as yaql would, or
    None when ``node`` is outside the simple subset."""
    t = type(node)
    if t is yaql_expressions.Constant or t is yaql_expressions.KeywordConstant:
        value = node.value
        if type(value) not in _SCALAR_TYPES:
            return None
        if type(value) is str and len(value) > 4096:
            return None
        return lambda data: value
    if t is yaql_expressions.Wrap:
        return _quick(node.expr)
    if t is yaql_expressions.GetContextValue or t is yaql_expressions.Function or (
            t is yaql_expressions.BinaryOperator and node.name == "#operator_."):
        path = _path_keys(node)
        return None if path is None else _leaf(path)
    if t is yaql_expressions.UnaryOperator:
        if node.name == "#unary_operator_not":
            arg = _quick(node.args[0])
            if arg is None:
                return None
            return lambda data: not arg(data)
        if node.name == "#unary_operator_-":
            arg = node.args[0]
            if type(arg) is yaql_expressions.Constant and type(arg.value) in _NUMBER_TYPES:
                value = -arg.value
                return lambda data: value
        return None
    if t is not yaql_expressions.BinaryOperator:
        return None
    name = node.name
    left_node, right_node = node.args
    if name == "#operator_in":
        left = _quick(left_node)
        right = _quick_container(right_node)
        if left is None or right is None:
            return None

        def op_in(data):
            value = left(data)
            container = right(data)
            if type(container) is str and type(value) is not str:
                raise _Bail  # yaql: no '#operator_in' for these arguments
            return value in container
        return op_in
    left = _quick(left_node)
    right = _quick(right_node)
    if left is None or right is None:
        return None
    if name == "*equal":
        return lambda data: left(data) == right(data)
    if name == "*not_equal":
        return lambda data: left(data) != right(data)
    if name == "#operator_and":
        return lambda data: left(data) and right(data)
    if name == "#operator_or":
        return lambda data: left(data) or right(data)
    if name in _ORDER:
        symbol, compare = _ORDER[name]

        def op_order(data):
            a = left(data)
            b = right(data)
            if a is None or b is None:
                return _order_null(symbol, a, b)
            ta = type(a)
            tb = type(b)
            if ta is bool or tb is bool:
                raise _Bail
            if (ta is str) != (tb is str):
                raise _Bail
            return compare(a, b)
        return op_order
    return None


def fast_path_value(text: str, data: Any, ctx: Any = None) -> Any:
    """The fast path's answer for ``text`` on ``data``; ``NotImplemented`` when
    it would defer to yaql. For tests and benchmarks."""
    c = compile_yaql(text.strip())
    if c.error is not None:
        return NotImplemented
    if _engine is None:
        _setup()
    token = CURRENT.set(EvalState(data, ctx))
    try:
        if c.path is not None:
            r = _fast(c.path, data)
            return NotImplemented if r is _MISS else r
        if c.quick is not None:
            try:
                return c.quick(data)
            except _Bail:
                return NotImplemented
        return NotImplemented
    finally:
        CURRENT.reset(token)


# -- evaluation ------------------------------------------------------------

_FrozenDict = yaql_utils.FrozenDict
_PLAIN_RESULT_TYPES = frozenset((str, int, float, bool, dict, list, type(None)))


def _convert_data(obj: Any, rec: Any = None) -> Any:
    """yaql's ``convert_input_data`` (dicts to FrozenDict, lists to tuples,
    recursively), several times faster on plain JSON-like data: exact types
    are tested first and only other objects go through yaql's own code."""
    t = type(obj)
    if t is str or t is int or t is float or t is bool or obj is None:
        return obj
    if t is dict:
        return _FrozenDict({_convert_data(k): _convert_data(v) for k, v in obj.items()})
    if t is list or t is tuple:
        return tuple([_convert_data(v) for v in obj])
    return yaql_utils.convert_input_data(obj, _convert_data)


def _convert_plain(obj: Any) -> Any:
    """Like :func:`_convert_data` for dicts, lists, tuples and scalars only;
    raises _Bail on anything else."""
    t = type(obj)
    if t is str or t is int or t is float or t is bool or obj is None:
        return obj
    if t is dict:
        return _FrozenDict({_convert_plain(k): _convert_plain(v) for k, v in obj.items()})
    if t is list or t is tuple:
        return tuple([_convert_plain(v) for v in obj])
    raise _Bail


def _convert_state_data(data: Any) -> tuple[Any, bool]:
    """The data as yaql's ``$``, and whether it may serve several expressions
    (not when it holds one-shot iterators, as yaql makes of sets and other
    iterables it does not know)."""
    try:
        return _convert_plain(data), True
    except _Bail:
        return _convert_data(data), False


def run(c: CompiledYaql, state: EvalState, use_fast_path: bool = True) -> Any:
    """Evaluate a compiled expression against ``state`` (raises ExpressionError)."""
    if c.error is not None:
        raise c.error
    if use_fast_path:
        if c.path is not None:
            result = _fast(c.path, state.data)
            if result is not _MISS:
                return result
        elif c.quick is not None:
            try:
                return c.quick(state.data)
            except Exception:  # _Bail, or anything unforeseen: yaql decides
                pass
    if _root_context is None:
        _setup()
    try:
        ctx = _root_context.create_child_context()
        data = state.yaql_data(_convert_state_data)
        ctx["$"] = data
        if isinstance(data, Mapping):
            for name in _CONTEXT_VARS:
                value = data.get(name)
                if value is not None:
                    ctx[name] = value
        result = c.statement.evaluate(context=ctx)
        if type(result) not in _PLAIN_RESULT_TYPES:
            result = fn.to_plain(result)  # FrozenDict, iterators... (as Mistral)
    except MemoryError:
        raise               # levante.expr.evaluate says which limit
    except Exception as e:
        raise ExpressionError.evaluation("YAQL", c.text, e, state.data) from e
    return result


def evaluate_one(text: str, data: Any, ctx: Any = _INHERIT, use_fast_path: bool = True) -> Any:
    """Evaluate one bare YAQL expression (no ``<% %>``) with ``data`` as ``$``.

    ``ctx`` is the FunctionContext; by default, that of the evaluation in
    progress, if any. ``use_fast_path=False`` makes yaql do all the work
    (for tests and benchmarks).
    """
    if ctx is _INHERIT:
        outer = CURRENT.get()
        ctx = outer.fctx if outer is not None else None
    state = EvalState(data, ctx)
    token = CURRENT.set(state)
    try:
        return run(compile_yaql(text.strip()), state, use_fast_path)
    finally:
        CURRENT.reset(token)


def clear_cache() -> None:
    compile_yaql.cache_clear()


_KEEP: Any = object()


def configure(limit_iterators: int | None = _KEEP, memory_quota: int | None = _KEEP) -> None:
    """Change the limits (None: unlimited); the engine is rebuilt on next use.

    Callers must also drop every cached plan holding statements parsed by
    the old engine: use :func:`levante.expr.configure`, which does.
    """
    global LIMIT_ITERATORS, MEMORY_QUOTA, _engine, _root_context
    with _lock:
        if limit_iterators is not _KEEP:
            LIMIT_ITERATORS = limit_iterators
        if memory_quota is not _KEEP:
            MEMORY_QUOTA = memory_quota
        _engine = None
        _root_context = None
    clear_cache()
