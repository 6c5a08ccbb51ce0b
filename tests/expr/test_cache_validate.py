"""Compilation happens once per expression text; validate() finds syntax errors."""

from __future__ import annotations

import threading

import pytest

from levante import expr
from levante.expr import evaluate, jinja_eval, validate, yaql_eval


@pytest.fixture
def fresh_caches():
    expr.clear_caches()
    yield
    expr.clear_caches()


def test_yaql_parsed_once(monkeypatch, fresh_caches):
    calls = []
    real = yaql_eval._parse_yaql

    def spy(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(yaql_eval, "_parse_yaql", spy)
    for i in range(5):
        assert evaluate("<% $.a + 1 %>", {"a": i}) == i + 1
        assert evaluate("a=<% $.a + 1 %>!", {"a": i}) == "a=%d!" % (i + 1)
        assert evaluate({"k": "<% $.a + 1 %>"}, {"a": i}) == {"k": i + 1}
    assert calls == ["$.a + 1"]
    for i in range(3):
        with pytest.raises(expr.ExpressionError):
            evaluate("<% $.a + %>", {"a": 1})
    assert calls == ["$.a + 1", "$.a +"]  # syntax errors are cached too


def test_jinja_compiled_once(monkeypatch, fresh_caches):
    calls = []
    env = jinja_eval.ENV
    real_template = env.from_string
    real_expression = env.compile_expression

    def spy_template(source, *a, **kw):
        if isinstance(source, str):  # compile_expression passes it an AST
            calls.append(("template", source))
        return real_template(source, *a, **kw)

    def spy_expression(source, *a, **kw):
        calls.append(("expression", source))
        return real_expression(source, *a, **kw)

    monkeypatch.setattr(env, "from_string", spy_template)
    monkeypatch.setattr(env, "compile_expression", spy_expression)
    for i in range(5):
        assert evaluate("{{ _.a * 2 }}", {"a": i}) == i * 2
        assert evaluate("v={{ _.a }}", {"a": i}) == "v=%d" % i
    assert calls == [("expression", " _.a * 2 "), ("template", "v={{ _.a }}")]


def test_caches_are_bounded():
    assert yaql_eval.compile_yaql.cache_info().maxsize
    assert jinja_eval.compile_jinja.cache_info().maxsize
    assert expr._plan.cache_info().maxsize


def test_many_distinct_expressions(fresh_caches):
    for i in range(300):
        assert evaluate("<% $.a + " + str(i) + " %>", {"a": 1}) == 1 + i


def test_threads_share_the_caches(fresh_caches):
    errors = []

    def work(n):
        try:
            for i in range(50):
                k = i % 7
                assert evaluate("<% $.a.select($ * " + str(k) + ") %>", {"a": [n, 1]}) == \
                    [n * k, k]
                assert evaluate("{{ _.a[0] + " + str(i % 5) + " }}", {"a": [n]}) == n + i % 5
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# -- validate --------------------------------------------------------------

def test_validate_accepts_good_expressions():
    assert validate("<% $.a %>") == []
    assert validate("text <% $.a %> and <% len($.b) %>") == []
    assert validate("{{ _.a }}") == []
    assert validate("{% for x in _.a %}{{ x }}{% endfor %}") == []
    assert validate("plain") == []
    assert validate(None) == []
    assert validate(42) == []
    assert validate({"<% $.k %>": ["<% $.v %>", {"x": "{{ _.y }}"}]}) == []
    assert validate("<% task(say_hello).result %>") == []  # no evaluation


@pytest.mark.parametrize("value", [
    "<% $.a. %>",
    "<% * %>",
    "The value is <% * %>.",
    "<% 'unclosed %>",
    "<% %>",
    "{{ _.a( }}",
    "{% if %}",
    "{% for x in _.a %}",
    "{{ $.a }}",
    "{{ _.a }} <% $.b %>",
])
def test_validate_reports_syntax_errors(value):
    problems = validate(value)
    assert len(problems) >= 1
    assert all(isinstance(p, str) and p for p in problems)


def test_validate_walks_structures_and_reports_each_problem():
    value = {
        "ok": "<% $.a %>",
        "bad1": "<% $.a. %>",
        "<% ( %>": ["fine", "{% if %}", {"deeper": "x <% ] %> y <% $.ok %>"}],
    }
    problems = validate(value)
    assert len(problems) == 4
    joined = "\n".join(problems)
    assert "$.a." in joined and "(" in joined and "{% if %}" in joined and "]" in joined


def test_validate_mentions_mixing():
    problems = validate("{{ _.a }} <% $.b %>")
    assert any("Mixing" in p for p in problems)


def test_validate_does_not_evaluate(monkeypatch):
    def boom(*a, **kw):
        raise AssertionError("evaluated")

    monkeypatch.setattr(yaql_eval, "run", boom)
    monkeypatch.setattr(jinja_eval, "run", boom)
    assert validate(["<% $.a %>", "{{ _.b }}"]) == []
