"""The fast paths give exactly what yaql gives (value, or an error)."""

from __future__ import annotations

import collections.abc  # noqa: F401  (yaql 3.2.0 needs it loaded first)
import datetime
import itertools
import random

import pytest
from yaql.language import utils as yaql_utils

from levante.expr import ExpressionError, StaticContext, yaql_eval

SCALARS = [None, True, False, 0, 1, -1, 2.5, 0.0, "", "a", "b", "abc", "true", "ab"]
OTHERS = [
    [], ["a", "b"], ["a", 1, None, True], [{"a": 1}, {"a": 2}], [["a"]], {}, {"a": 1},
    {"a": {"b": "c"}}, ("t", 1), {1: "int key", 2.5: None}, {"k": (1, [2])},
    {"s": {1, 2}}, datetime.datetime(2024, 1, 2, 3, 4, 5), frozenset([1]), b"by",
    {("tuple", "key"): 1}, "x" * 50,
]
VALUES = SCALARS + OTHERS


def make_data():
    data = {"v%d" % i: v for i, v in enumerate(VALUES)}
    data["n"] = {"v%d" % i: v for i, v in enumerate(VALUES)}
    data["l"] = [{"a": 1, "b": "x"}, {"a": 2}]
    data["ls"] = [1, "a", None]
    data["A"] = "upper"
    data["__env"] = {"e": 1}
    data["deep"] = {"x": {"y": {"z": {"w": [1, {"q": "r"}]}}}}
    return data


DATA = make_data()
CTX = StaticContext(
    task_list=[
        {"name": "say_hello", "state": "SUCCESS", "result": "hi", "published": {},
         "id": "t1", "n": None},
        {"name": "other", "state": "ERROR", "result": {"k": [1, 2], "d": datetime.date(2024, 1, 1)},
         "id": "t2"},
    ],
    current_task="other",
    execution_info={"id": "e1", "created_at": datetime.datetime(2024, 1, 1), "input": {"a": 1}},
    env_vars={"x": {"y": 1}},
    globals_vars={"g": 5, "s": "str"},
)


def outcome(text, data, fast):
    try:
        return ("ok", yaql_eval.evaluate_one(text, data, CTX, use_fast_path=fast))
    except ExpressionError as e:
        return ("error", e.reason)


def same(a, b):
    # NaN-free data, so == is fine; types must match too (True vs 1).
    if a[0] != b[0]:
        return False
    if a[0] == "error":
        return True
    return _same_value(a[1], b[1])


def _same_value(x, y):
    if type(x) is not type(y):
        return False
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_same_value(x[k], y[k]) for k in x)
    if isinstance(x, list):
        return len(x) == len(y) and all(_same_value(a, b) for a, b in zip(x, y))
    return x == y


def check(expressions, data=DATA):
    taken = 0
    for text in expressions:
        slow = outcome(text, data, False)
        fast = outcome(text, data, True)
        assert same(slow, fast), (text, slow, fast)
        if yaql_eval.fast_path_value(text, data, CTX) is not NotImplemented:
            taken += 1
    return taken


PATHS = (
    ["$", "$.missing", "$.n.missing", "$.n.missing.x", "$.l.a", "$.l.b", "$.ls.a", "$.A",
     "$.deep", "$.deep.x.y.z", "$.deep.x.y.z.w", "$.deep.x.nope", "$.true", "$.null",
     "$ . v1", "$.v1 .v2", "$.é", "$.__env", "$.get(__env)", "($.v1)", "$.n.v15.a"]
    + ["$.v%d" % i for i in range(len(VALUES))]
    + ["$.n.v%d" % i for i in range(len(VALUES))]
    + ["$.v%d.a" % i for i in range(len(VALUES))]
    + ["$.v%d.a.b" % i for i in range(len(VALUES))]
)


def test_plain_paths_match_yaql():
    taken = check(PATHS)
    assert taken > 40  # the fast path is really used


def test_plain_paths_on_other_data_shapes():
    for data in ([1, 2], "text", 3, None, {}, {"a": None}, {"a": [1, {"b": 2}]}):
        check(["$", "$.a", "$.a.b"], data)


def test_function_paths_match_yaql():
    exprs = [
        "task(say_hello).result", "task('say_hello').state", "task(other).result",
        "task(other).result.k", "task(other).result.d", "task().state", "task()",
        "task(nope)", "task(nope).result", "task(say_hello).n", "task(say_hello).n.x",
        "task(say_hello).missing", "execution().id", "execution().created_at",
        "execution().input.a", "execution()", "env().x.y", "env()", "global(g)",
        "global('s')", "global(nope)", "task(1)", "task(true)", "task(a, b)",
        "global()", "execution(x)",
    ]
    assert check(exprs) > 10


def test_function_paths_without_context():
    for text in ["task(say_hello).result", "env().x", "global(g)", "execution().id"]:
        with pytest.raises(ExpressionError):
            yaql_eval.evaluate_one(text, DATA, None, use_fast_path=True)


LITERALS = ["null", "true", "false", "0", "1", "-1", "2.5", "'a'", "''", "'abc'", "a", "'1'"]
OPERANDS = LITERALS + ["$.v%d" % i for i in range(len(SCALARS))] + [
    "$.missing", "$.v14", "$.v19", "$.n.v9", "task(say_hello).result", "task().state"]
OPS = ["=", "!=", "<", "<=", ">", ">=", "in", "and", "or"]


def test_binary_conditions_match_yaql():
    rng = random.Random(1234)
    pairs = list(itertools.product(OPERANDS, OPERANDS))
    rng.shuffle(pairs)
    exprs = ["%s %s %s" % (a, op, b) for op in OPS for a, b in pairs[:160]]
    assert check(exprs) > 500


def test_in_conditions_match_yaql():
    lists = ["[]", "['a', 'b']", "[1, 'a', null, true]", "[a, b]", "[2.5]", "$.v15", "$.v16",
             "$.v17", "$.v20", "$.ls", "$.v11", "'abc'", "$.missing", "[$.v1]", "[[1]]"]
    exprs = ["%s in %s" % (a, b) for a in OPERANDS for b in lists]
    exprs += ["not %s in %s" % (a, b) for a in OPERANDS[:8] for b in lists]
    assert check(exprs) > 300


def test_compound_conditions_match_yaql():
    rng = random.Random(99)

    def gen(depth):
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(OPERANDS)
        kind = rng.random()
        if kind < 0.15:
            return "not " + gen(depth - 1)
        if kind < 0.3:
            return "(%s)" % gen(depth - 1)
        return "%s %s %s" % (gen(depth - 1), rng.choice(OPS), gen(depth - 1))

    exprs = sorted({gen(3) for _ in range(600)})
    assert check(exprs) > 150


def test_seed_conditions_take_the_fast_path():
    for text in ["$.x = true", "$.x != true", "$.letter = 'a'", "$.letter in ['a', 'b']",
                 "not $.letter in ['a', 'b']", "$.names", "task(say_hello).result"]:
        data = {"x": True, "letter": "b", "names": ["a"]}
        assert yaql_eval.fast_path_value(text, data) is not NotImplemented or \
            text.startswith("task"), text
        assert same(outcome(text, data, True), outcome(text, data, False))


def test_fast_path_respects_limits():
    try:
        from levante import expr
        expr.configure(limit_iterators=3)
        check(["$.ls", "$.v15", "$.l", "$.v1 in $.ls", "$.v9 in $.v16", "$"])
        assert outcome("$.v16", DATA, True)[0] == "error"  # 4 items > 3
    finally:
        from levante import expr
        expr.configure(limit_iterators=1_000_000)


def _materialize(value):
    # yaql turns sets it does not know and other iterables into one-shot
    # ``map`` objects, which do not compare: read them out.
    if isinstance(value, map):
        return ("map", [_materialize(v) for v in value])
    if isinstance(value, yaql_utils.FrozenDict):
        return ("frozendict", {k: _materialize(v) for k, v in value.items()})
    if isinstance(value, tuple):
        return ("tuple", [_materialize(v) for v in value])
    if isinstance(value, frozenset):
        return ("frozenset", sorted(map(repr, value)))
    return (type(value).__name__, value)


def test_conversion_matches_yaql():
    data = make_data()
    for key, value in data.items():
        ours = _materialize(yaql_eval._convert_data(value))
        theirs = _materialize(yaql_utils.convert_input_data(value))
        assert ours == theirs, key
    assert _materialize(yaql_eval._convert_data(data)) == \
        _materialize(yaql_utils.convert_input_data(data))


def test_fast_path_result_is_a_fresh_copy():
    data = {"a": {"b": [1, {"c": 2}]}}
    out = yaql_eval.evaluate_one("$.a", data)
    assert out == data["a"] and out is not data["a"]
    assert out["b"] is not data["a"]["b"] and out["b"][1] is not data["a"]["b"][1]
