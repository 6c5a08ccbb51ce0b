"""evaluate(): result types, interpolation, recursion, Jinja, errors."""

from __future__ import annotations

import pytest

from levante import expr
from levante.expr import ExpressionError, evaluate, is_expression

DATA = {
    "x": True,
    "letter": "a",
    "names": ["John", "Ivan", "Mistral"],
    "num": 42,
    "ratio": 2.5,
    "none": None,
    "nested": {"a": {"b": {"c": "deep"}}, "list": [1, 2]},
    "ansible_env_variables": {"A": "1", "B": "2"},
    "ansible_extra_env_variables": {"B": "override", "C": "3"},
}


# -- YAQL ------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("<% $.names %>", ["John", "Ivan", "Mistral"]),
    ("<% $.num %>", 42),
    ("<% $.ratio %>", 2.5),
    ("<% $.x %>", True),
    ("<% $.none %>", None),
    ("<% $.nested %>", {"a": {"b": {"c": "deep"}}, "list": [1, 2]}),
    ("<% $.nested.a.b.c %>", "deep"),
    ("<% $.num + 1 %>", 43),
    ("<% len($.names) %>", 3),
    ("<% $.names.select($.toUpper()) %>", ["JOHN", "IVAN", "MISTRAL"]),
    ("<% $.names.where($.startsWith('I')) %>", ["Ivan"]),
    ("<% dict(a => 1, b => [1, 2]) %>", {"a": 1, "b": [1, 2]}),
    ("<% $.nested.keys() %>", ["a", "list"]),
    ("<% 'abc' %>", "abc"),
    ("<% 1 %>", 1),
    ("<% [1, 2] %>", [1, 2]),
    ("<% $.get('missing', 'dflt') %>", "dflt"),
    ("<% $.get('none') %>", None),
])
def test_yaql_raw_values(text, expected):
    assert evaluate(text, DATA) == expected


def test_yaql_results_are_plain_python():
    result = evaluate("<% $.nested %>", DATA)
    assert type(result) is dict and type(result["list"]) is list
    assert type(evaluate("<% set(1, 2) %>", DATA)) is list
    assert type(evaluate("<% $.names.toSet() %>", DATA)) is list
    assert type(evaluate("<% $.nested.mergeWith({}) %>", DATA)) is dict
    assert evaluate("<% [$.nested, [1, [2]]] %>", DATA) == [DATA["nested"], [1, [2]]]


def test_yaql_result_is_a_copy():
    result = evaluate("<% $.nested %>", DATA)
    result["a"]["b"]["c"] = "changed"
    assert DATA["nested"]["a"]["b"]["c"] == "deep"
    result = evaluate("<% $.names %>", DATA)
    result.append("x")
    assert len(DATA["names"]) == 3


@pytest.mark.parametrize("text", ["  <% $.names %>  ", "\n<% $.names %>\n", "<%$.names%>"])
def test_single_yaql_with_whitespace_is_raw(text):
    assert evaluate(text, DATA) == ["John", "Ivan", "Mistral"]


@pytest.mark.parametrize("text, expected", [
    ("Hello <% $.letter %>!", "Hello a!"),
    ("<% $.num %><% $.num %>", "4242"),
    ("n=<% $.num %>, r=<% $.ratio %>", "n=42, r=2.5"),
    ("<% $.none %> and <% $.x %>", "None and True"),
    ("list: <% $.nested.list %>", "list: [1, 2]"),
    ("d: <% $.nested.a %>", "d: {'b': {'c': 'deep'}}"),
    ("Send some input to '<% $.letter %>'", "Send some input to 'a'"),
    ("multi\nline <% $.letter %>\n", "multi\nline a\n"),
])
def test_yaql_interpolation_uses_str(text, expected):
    assert evaluate(text, DATA) == expected


def test_multiline_yaql_expression():
    assert evaluate("<% $.names\n .where($ = 'Ivan') %>", DATA) == ["Ivan"]


def test_seed_flow_control_conditions():
    # From the seed flow_control.yaml.
    assert evaluate("<% $.x = true %>", {"x": True}) is True
    assert evaluate("<% $.x != true %>", {"x": True}) is False
    assert evaluate("<% $.x = true %>", {"x": False}) is False
    assert evaluate("<% $.x != true %>", {"x": False}) is True
    for letter, a, a_or_b in [("a", True, True), ("b", False, True), ("c", False, False)]:
        data = {"letter": letter}
        assert evaluate("<% $.letter = 'a' %>", data) is a
        assert evaluate("<% $.letter in ['a', 'b'] %>", data) is a_or_b
        assert evaluate("<% not $.letter in ['a', 'b'] %>", data) is (not a_or_b)


def test_seed_struct_merge_with():
    # From the seed struct.yaml: later values win.
    result = evaluate(
        "<% $.ansible_extra_env_variables.mergeWith($.ansible_env_variables) %>", DATA)
    assert result == {"A": "1", "B": "2", "C": "3"}
    assert evaluate("<% $.ansible_env_variables.mergeWith({}) %>", DATA) == {"A": "1", "B": "2"}


def test_seed_env_get_with_default():
    data = {"__env": {"service_ips": {"ceph_mon_ctlplane_node_ips": ["10.0.0.1"]}}}
    assert evaluate("<% $.get('__env') %>", data) == data["__env"]
    assert evaluate("<% $.get('__env').get('service_ips', {}).get('x', []) %>", data) == []


def test_missing_key_is_an_error_in_yaql():
    # yaql 1.0+ (and so Mistral): `$.missing` raises, `$.get('missing')` is null.
    with pytest.raises(ExpressionError) as e:
        evaluate("<% $.missing %>", DATA)
    assert "$.missing" in str(e.value)
    assert "missing" in e.value.reason
    with pytest.raises(ExpressionError):
        evaluate("<% $.nested.a.nope %>", DATA)
    assert evaluate("<% $.get(missing) %>", DATA) is None
    assert evaluate("<% $.nested.a?.get(b) %>", DATA) == {"c": "deep"}


# -- Jinja -----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("{{ _.names }}", ["John", "Ivan", "Mistral"]),
    ("{{ _.num }}", 42),
    ("{{ _.x }}", True),
    ("{{ _.none }}", None),
    ("{{ _.nested.a.b.c }}", "deep"),
    ("{{ _.nested }}", {"a": {"b": {"c": "deep"}}, "list": [1, 2]}),
    ("{{ 1 + 1 }}", 2),
    ("{{ _.names | length }}", 3),
    ("{{ {'a': {'b': 1}} }}", {"a": {"b": 1}}),
    ("{{ (1, 2) }}", [1, 2]),
    ("  {{ _.num }}  ", 42),
    ("{{- _.num -}}", 42),
    ("{{ _.names | map('upper') | list }}", ["JOHN", "IVAN", "MISTRAL"]),
    ("{{ _.names | map('upper') }}", ["JOHN", "IVAN", "MISTRAL"]),
    ("{{ _.letter in ['a', 'b'] }}", True),
])
def test_jinja_single_expression_is_raw(text, expected):
    assert evaluate(text, DATA) == expected


@pytest.mark.parametrize("text, expected", [
    ("Hello {{ _.letter }}!", "Hello a!"),
    ("{{ _.num }}{{ _.num }}", "4242"),
    ("{{ _.names }} x", "['John', 'Ivan', 'Mistral'] x"),
    ("{% for n in _.names %}{{ n }},{% endfor %}", "John,Ivan,Mistral,"),
    ("{% if _.x %}yes{% else %}no{% endif %}", "yes"),
    ("{% if _.missing is defined %}yes{% else %}no{% endif %}", "no"),
    ("{# comment #}{{ _.letter }}", "a"),
    ("{% for n in _.names %}\n{{ n }}\n{% endfor %}", "John\nIvan\nMistral\n"),
])
def test_jinja_templates_render_to_str(text, expected):
    assert evaluate(text, DATA) == expected


def test_jinja_undefined_is_an_error():
    with pytest.raises(ExpressionError) as e:
        evaluate("{{ _.missing }}", DATA)
    assert "Jinja" in str(e.value) and "missing" in str(e.value)
    with pytest.raises(ExpressionError):
        evaluate("value: {{ _.missing }}", DATA)
    with pytest.raises(ExpressionError):
        evaluate("{{ [_.missing] }}", DATA)


def test_dollar_is_not_jinja():
    with pytest.raises(ExpressionError) as e:
        evaluate("{{ $.x }}", DATA)
    assert e.value.syntax


def test_jinja_sandbox():
    with pytest.raises(ExpressionError):
        evaluate("{{ _.__class__.__mro__ }}", DATA)
    with pytest.raises(ExpressionError):
        evaluate("{{ 'x' * 100000000 }}", DATA)
    with pytest.raises(ExpressionError):
        evaluate("{{ 10 ** 1000000 }}", DATA)
    with pytest.raises(ExpressionError):
        evaluate("{{ range(10000000) | list }}", DATA)
    assert evaluate("{{ 'ab' * 2 }}", DATA) == "abab"
    assert evaluate("{{ 2 ** 10 }}", DATA) == 1024


def test_jinja_wins_over_yaql_in_one_string():
    # As in Mistral (evaluators tried in name order: jinja before yaql).
    assert evaluate("{{ _.letter }} <% $.letter %>", DATA) == "a <% $.letter %>"


# -- structures ------------------------------------------------------------

def test_recursion_into_dicts_and_lists():
    value = {
        "plain": "text",
        "num": 1,
        "list": ["<% $.num %>", "{{ _.letter }}", 3, None, ["<% $.x %>"]],
        "<% $.letter %>": "key evaluated",
        "nested": {"k": "v=<% $.num %>"},
        "tuple": ("<% $.num %>",),
    }
    assert evaluate(value, DATA) == {
        "plain": "text",
        "num": 1,
        "list": [42, "a", 3, None, [True]],
        "a": "key evaluated",
        "nested": {"k": "v=42"},
        "tuple": ("<% $.num %>",),  # only dicts and lists are walked
    }


def test_non_strings_come_back_as_they_are():
    obj = object()
    for v in (1, 2.5, None, True, obj):
        assert evaluate(v, DATA) is v


def test_input_value_not_mutated():
    value = {"a": ["<% $.num %>"], "b": {"c": "<% $.letter %>"}}
    evaluate(value, DATA)
    assert value == {"a": ["<% $.num %>"], "b": {"c": "<% $.letter %>"}}


def test_unhashable_key_is_an_error():
    with pytest.raises(ExpressionError):
        evaluate({"<% $.names %>": 1}, DATA)


def test_is_expression():
    assert is_expression("<% $.x %>")
    assert is_expression("a <% $.x %> b")
    assert is_expression("{{ _.x }}")
    assert is_expression("{% if true %}x{% endif %}")
    assert is_expression("<%\n$.x\n%>")
    assert not is_expression("plain")
    assert not is_expression("{ a: 1 }")
    assert not is_expression("<% not closed")
    assert not is_expression("{{ not closed")
    assert not is_expression(1)
    assert not is_expression(None)
    assert not is_expression(["<% $.x %>"])


# -- errors ----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "<% $.x. %>",
    "<% nosuchfunction() %>",
    "<% $.num + 'a' %>",
    "<% 1 / 0 %>",
    "<% $.names[10] %>",
    "<% $.nested.a.b.c.d %>",
    "<% len(1) %>",
    "{{ 1 / 0 }}",
    "{{ _.x( }}",
    "{% if %}",
    "{{ nosuch() }}",
    "{{ _.names[10] }}",
    "x <% $.missing %> y",
])
def test_failures_are_expression_errors(text):
    with pytest.raises(ExpressionError) as e:
        evaluate(text, DATA)
    msg = str(e.value)
    assert msg.startswith(("Can not evaluate", "Invalid"))
    assert e.value.expression


def test_error_message_names_expression_but_not_data_values():
    secret = "SUPER_SECRET_TOKEN"
    with pytest.raises(ExpressionError) as e:
        evaluate("<% $.nope %>", {"auth_token": secret, "y": 1})
    msg = str(e.value)
    assert "expression=$.nope" in msg
    assert "auth_token" in msg  # key names help, values are not shown
    assert secret not in msg
    with pytest.raises(ExpressionError) as e:
        evaluate("{{ 1 / 0 }}", {"auth_token": secret})
    assert secret not in str(e.value)


def test_error_message_is_short_for_big_data():
    data = {"k%d" % i: "v" * 1000 for i in range(1000)}
    with pytest.raises(ExpressionError) as e:
        evaluate("<% $.nope %>", data)
    assert len(str(e.value)) < 400


def test_syntax_errors_are_flagged():
    with pytest.raises(ExpressionError) as e:
        evaluate("<% $.x. %>", DATA)
    assert e.value.syntax and e.value.language == "YAQL"
    with pytest.raises(ExpressionError) as e:
        evaluate("{{ _.x( }}", DATA)
    assert e.value.syntax and e.value.language == "Jinja"
    with pytest.raises(ExpressionError) as e:
        evaluate("<% 1 / 0 %>", DATA)
    assert not e.value.syntax


def test_yaql_limits():
    with pytest.raises(ExpressionError):
        evaluate("<% sequence() %>", DATA)  # endless
    with pytest.raises(ExpressionError):
        evaluate("<% range(100000000) %>", DATA)
    with pytest.raises(ExpressionError):
        evaluate("<% 'x' * 100000000 %>", DATA)
    assert evaluate("<% range(3) %>", DATA) == [0, 1, 2]


def test_configure_limits():
    try:
        expr.configure(limit_iterators=5)
        with pytest.raises(ExpressionError):
            evaluate("<% range(10) %>", DATA)
        with pytest.raises(ExpressionError):
            evaluate("<% $.names.concat($.names) %>", DATA)
    finally:
        expr.configure(limit_iterators=1_000_000)
    assert evaluate("<% range(10) %>", DATA) == list(range(10))


def test_non_dict_data():
    assert evaluate("<% $ %>", [1, 2]) == [1, 2]
    assert evaluate("<% len($) %>", "abc") == 3
    assert evaluate("{{ _ }}", 3) == 3
