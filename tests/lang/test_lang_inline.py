import re

import pytest

from levante.lang import DSLError, is_expression, parse_inline, parse_params


@pytest.mark.parametrize("text, expected", [
    ('std.echo output="Hello Workflow!"', ("std.echo", {"output": "Hello Workflow!"})),
    ("std.echo output=<% $.name %>", ("std.echo", {"output": "<% $.name %>"})),
    ("x=1 y=true z='a b' w={{ _.x }}", (None, {"x": 1, "y": True, "z": "a b", "w": "{{ _.x }}"})),
    ("a=[1,2]", (None, {"a": [1, 2]})),
    ("std.noop", ("std.noop", {})),
    ("  std.noop  ", ("std.noop", {})),
    ("mistral.environments_get name='ssh_keys'", ("mistral.environments_get", {"name": "ssh_keys"})),
    ("fail msg='it broke'", ("fail", {"msg": "it broke"})),
    ("count=5 delay=1", (None, {"count": 5, "delay": 1})),
])
def test_examples(text, expected):
    assert parse_inline(text) == expected


def test_expression_with_spaces_equals_and_quotes():
    s = "std.echo output=<% env().get('a', {}).get('b', []) = 'x y' %> n=2"
    assert parse_inline(s) == ("std.echo", {
        "output": "<% env().get('a', {}).get('b', []) = 'x y' %>", "n": 2})


def test_jinja_expression_with_spaces():
    assert parse_inline('a b={{ _.x | default("q r") }}') == ("a", {"b": '{{ _.x | default("q r") }}'})


def test_scalars():
    name, p = parse_inline("act i=-3 f=1.5 e=1e3 t=True F=false n=null tilde=~ s=hello v=1.2.3 z=010")
    assert name == "act"
    assert p == {"i": -3, "f": 1.5, "e": 1000.0, "t": True, "F": False, "n": None,
                 "tilde": None, "s": "hello", "v": "1.2.3", "z": 10}
    # YAML 1.1 yes/no/on/off stay strings
    assert parse_inline("a x=yes y=off")[1] == {"x": "yes", "y": "off"}


def test_flow_collections():
    assert parse_inline('a d={"k": [1, 2], "s": "x y"} l=[a, "b c"]')[1] == {
        "d": {"k": [1, 2], "s": "x y"}, "l": ["a", "b c"]}
    assert parse_inline("a l=[<% $.x %>, 2]")[1] == {"l": ["<% $.x %>", 2]}


def test_url_value_keeps_equals():
    assert parse_inline("std.http url=http://h/p?a=b&c=d")[1] == {"url": "http://h/p?a=b&c=d"}


def test_mixed_value_stays_raw_string():
    assert parse_inline("a v=<% $.x %>-suffix w=pre<% $.y %>")[1] == {
        "v": "<% $.x %>-suffix", "w": "pre<% $.y %>"}


def test_quotes_and_escapes():
    assert parse_inline('a s="say \\"hi\\"" t=\'double "inside"\' e=""')[1] == {
        "s": 'say "hi"', "t": 'double "inside"', "e": ""}


def test_multiline_whitespace():
    assert parse_inline("std.echo\n  output='x'\n  n=1") == ("std.echo", {"output": "x", "n": 1})


def test_expression_name():
    assert parse_inline("<% $.action %> a=1") == ("<% $.action %>", {"a": 1})


def test_last_duplicate_wins():
    assert parse_inline("a x=1 x=2")[1] == {"x": 2}


@pytest.mark.parametrize("bad", [
    'std.echo output="unterminated',
    "std.echo output=<% $.x",
    "std.echo output={{ $.x",
    "std.echo output=[1, 2",
    "std.echo junk",
    "std.echo output= 'x'",
    "std.echo output",
])
def test_malformed(bad):
    with pytest.raises(DSLError):
        parse_inline(bad)


def test_not_a_string():
    with pytest.raises(DSLError):
        parse_inline(5)


def test_parse_params():
    assert parse_params("count=3 delay=<% $.d %>") == {"count": 3, "delay": "<% $.d %>"}
    with pytest.raises(DSLError):
        parse_params("three")


def test_is_expression():
    assert is_expression("<% $.x %>")
    assert is_expression("a {{ _.x }} b")
    assert not is_expression("plain")
    assert not is_expression("<% unterminated")
    assert not is_expression(3)


@pytest.mark.parametrize("text, expected", [
    # Mistral's form for engine commands: parameters in parentheses.
    ("fail(msg='custom failure message')", ("fail", {"msg": "custom failure message"})),
    ("fail(msg='a, b = c', code=3)", ("fail", {"msg": "a, b = c", "code": 3})),
    ("pause(msg=\"it's paused (really)\")", ("pause", {"msg": "it's paused (really)"})),
    ("succeed(msg=<% $.x + ')' %>)", ("succeed", {"msg": "<% $.x + ')' %>"})),
    ("fail( msg='x'  code=2 )", ("fail", {"msg": "x", "code": 2})),
    ("fail()", ("fail", {})),
    ("std.echo(output=abc)", ("std.echo", {"output": "abc"})),
])
def test_parameters_in_parentheses(text, expected):
    assert parse_inline(text) == expected


@pytest.mark.parametrize("bad, message", [
    ("fail(msg='x') junk", "Unexpected text after ')'"),
    ("fail(msg='x'", "Missing ')'"),
    ("fail(msg=)", "Missing value for parameter 'msg'"),
    ("fail(boom)", "Invalid parameter 'boom'"),
])
def test_malformed_parentheses(bad, message):
    with pytest.raises(DSLError, match=re.escape(message)):
        parse_inline(bad)
