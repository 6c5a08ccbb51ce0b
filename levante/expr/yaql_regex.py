"""YAQL's regular-expression functions on an engine that cannot run away.

yaql's own ``regex`` library uses Python's ``re``, whose backtracking can
take minutes on a pattern like ``(a+)+$`` while holding the interpreter lock
(every thread of the server stalls). These functions have the same names,
signatures and results, but match with the ``regex`` package, which gives up
after the evaluation's time budget (``expression_timeout``) and lets other
threads run while it matches.
"""

from __future__ import annotations

import regex as _re
from yaql.language import specs, yaqltypes

from .context import CURRENT


class RegexTimeout(Exception):
    """A match ran out of the evaluation's time budget."""


class Pattern:
    """A compiled regular expression (what ``regex()`` returns in YAQL)."""

    __slots__ = ("compiled",)

    def __init__(self, compiled):
        self.compiled = compiled

    def __repr__(self) -> str:
        return "regex(%r)" % self.compiled.pattern


def _timeout() -> float | None:
    state = CURRENT.get()
    budget = state.budget if state is not None else None
    return budget.regex_timeout() if budget is not None else None


def _guard(call, *args, **kwargs):
    timeout = _timeout()
    try:
        return call(*args, timeout=timeout, concurrent=True, **kwargs)
    except TimeoutError:
        raise RegexTimeout("the regular expression ran out of its time budget of %ss "
                           "(setting expression_timeout)" % timeout) from None


def _compile(pattern, flags=0) -> Pattern:
    return Pattern(_re.compile(pattern, flags | _re.UNICODE | _re.VERSION0))


def _search(p: Pattern, string):
    return _guard(p.compiled.search, string)


@specs.parameter("pattern", yaqltypes.String())
def regex(pattern, ignore_case=False, multi_line=False, dot_all=False):
    """``regex(pattern, ignoreCase => false, multiLine => false, dotAll => false)``."""
    flags = 0
    if ignore_case:
        flags |= _re.IGNORECASE
    if multi_line:
        flags |= _re.MULTILINE
    if dot_all:
        flags |= _re.DOTALL
    return _compile(pattern, flags)


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.method
def matches(regexp, string):
    return _search(regexp, string) is not None


@specs.parameter("string", yaqltypes.String())
@specs.parameter("regexp", yaqltypes.String())
@specs.method
@specs.name("matches")
def matches_(string, regexp):
    return _search(_compile(regexp), string) is not None


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.name("#operator_=~")
def matches_operator_regex(string, regexp):
    return _search(regexp, string) is not None


@specs.parameter("pattern", yaqltypes.String())
@specs.parameter("string", yaqltypes.String())
@specs.name("#operator_=~")
def matches_operator_string(string, pattern):
    return _search(_compile(pattern), string) is not None


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.name("#operator_!~")
def not_matches_operator_regex(string, regexp):
    return _search(regexp, string) is None


@specs.parameter("pattern", yaqltypes.String())
@specs.parameter("string", yaqltypes.String())
@specs.name("#operator_!~")
def not_matches_operator_string(string, pattern):
    return _search(_compile(pattern), string) is None


def _publish_match(context, match) -> None:
    # $1 is the whole match, $2... the groups, $name the named groups.
    context["$1"] = {"value": match.group(), "start": match.start(0), "end": match.end(0)}
    for i, value in enumerate(match.groups(), 1):
        context["$" + str(i + 1)] = {"value": value, "start": match.start(i), "end": match.end(i)}
    for name, value in match.groupdict().items():
        context["$" + name] = {"value": value, "start": match.start(name), "end": match.end(name)}


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.parameter("selector", yaqltypes.Lambda(with_context=True))
@specs.method
def search(context, regexp, string, selector=None):
    found = _search(regexp, string)
    if found is None:
        return None
    if selector is None:
        return found.group()
    child = context.create_child_context()
    _publish_match(child, found)
    return selector(child)


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.parameter("selector", yaqltypes.Lambda(with_context=True))
@specs.method
def search_all(context, regexp, string, selector=None):
    for found in _guard(regexp.compiled.finditer, string):
        if selector is None:
            yield found.group()
        else:
            child = context.create_child_context()
            _publish_match(child, found)
            yield selector(child)


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.parameter("max_split", int)
@specs.method
def split(regexp, string, max_split=0):
    return _guard(regexp.compiled.split, string, max_split)


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.parameter("max_split", int)
@specs.method
@specs.name("split")
def split_string(string, regexp, max_split=0):
    return split(regexp, string, max_split)


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.parameter("repl", yaqltypes.String())
@specs.parameter("count", int)
@specs.method
def replace(regexp, string, repl, count=0):
    return _guard(regexp.compiled.sub, repl, string, count)


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.parameter("repl", yaqltypes.String())
@specs.parameter("count", int)
@specs.method
@specs.name("replace")
def replace_string(string, regexp, repl, count=0):
    return replace(regexp, string, repl, count)


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.parameter("repl", yaqltypes.Lambda(with_context=True))
@specs.parameter("count", int)
@specs.method
def replace_by(context, regexp, string, repl, count=0):
    def substitute(found):
        child = context.create_child_context()
        _publish_match(child, found)
        return repl(child)
    return _guard(regexp.compiled.sub, substitute, string, count)


@specs.parameter("regexp", Pattern)
@specs.parameter("string", yaqltypes.String())
@specs.parameter("repl", yaqltypes.Lambda(with_context=True))
@specs.parameter("count", int)
@specs.method
@specs.name("replaceBy")
def replace_by_string(context, string, regexp, repl, count=0):
    return replace_by(context, regexp, string, repl, count)


@specs.parameter("string", yaqltypes.String())
def escape_regex(string):
    return _re.escape(string, special_only=True)


def is_regex(value):
    return isinstance(value, Pattern)


def register(context) -> None:
    for func in (regex, matches, matches_, matches_operator_regex, matches_operator_string,
                 not_matches_operator_regex, not_matches_operator_string, search, search_all,
                 split, split_string, replace, replace_string, replace_by, replace_by_string,
                 escape_regex, is_regex):
        context.register_function(func)
