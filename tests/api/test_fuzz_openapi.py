"""Property-based fuzzing of the whole HTTP API from its own /openapi.json: no 5xx.

For every operation the schema lists, Hypothesis draws path parameters, query
parameters, headers and a body from the operation's schema, mixed with hostile
values (wrong types, '/', control characters, NUL, huge integers, deep nesting,
names and ids that exist). Every answer must be below 500. The examples are
derandomized and counted (FUZZ_EXAMPLES per operation), so the test is bounded
and reproducible; a failure names the operation and the request.
LEVANTE_FUZZ_EXAMPLES=N runs N random (not derandomized) examples per operation
instead, for a longer hunt.
"""
from __future__ import annotations

import json
import os
import uuid
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import Server

FUZZ_EXAMPLES = int(os.environ.get("LEVANTE_FUZZ_EXAMPLES") or 12)
DERANDOMIZE = not os.environ.get("LEVANTE_FUZZ_EXAMPLES")
SENT = {"requests": 0, "by_status": {}}

WORKFLOW = """version: '2.0'
fuzz_wf:
  input: [a]
  tasks:
    t:
      action: std.echo output=<% $.a %>
"""


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    """A server of its own, with a few real objects whose names and ids the fuzzer mixes in."""
    srv = Server(tmp_path_factory.mktemp("fuzz")).start()
    u = srv.url
    client = httpx.Client(timeout=30)
    known: list[str] = ["fuzz_wf", "fuzz_env", "fuzzq", "fuzz_cron", "std.echo", "std.noop"]
    r = client.post(u + "/workflows", content=WORKFLOW, headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    known.append(r.json()["workflows"][0]["id"])
    client.post(u + "/environments", json={"name": "fuzz_env", "variables": {"x": 1}})
    ex = client.post(u + "/executions", json={"workflow_name": "fuzz_wf", "input": {"a": 1}}).json()
    known.append(ex["id"])
    client.put(u + "/queues/fuzzq", headers={"Client-ID": str(uuid.uuid4())})
    client.post(u + "/cron_triggers", json={"name": "fuzz_cron", "pattern": "0 0 1 1 *",
                                            "workflow_name": "fuzz_wf", "workflow_input": {"a": 2}})
    schema = httpx.get(u[:-len("/v2")] + "/openapi.json").json()
    yield srv, client, schema, known
    client.close()
    srv.stop()
    print(f"\nfuzzing sent {SENT['requests']} requests; statuses: {dict(sorted(SENT['by_status'].items()))}")


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the app's schema, read without a server."""
    from levante.api.app import create_app

    class _NoRuntime:
        pass

    doc = create_app(_NoRuntime()).openapi()
    return [(m.upper(), p) for p, item in doc["paths"].items() for m in item
            if not p.endswith("/events")]      # a live stream: it never ends


# ---------------------------------------------------------------- strategies

HOSTILE_TEXT = ["", " ", "..", "../../etc", "a/b", "%2F", "\x00", "\t", "\u202e", "null", "-1", "0",
                "x" * 300, "9" * 5000, "[" * 200, "{{ 1 }}", "<% 1 %>", "' OR 1=1 --",
                "00000000-0000-0000-0000-000000000000"]


def texts(known: list[str]):
    return st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE_TEXT + known))


def json_values(known: list[str]):
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 30),
                        st.floats(allow_nan=False, allow_infinity=False), texts(known))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(texts(known), inner, max_size=3)), max_leaves=8)


def from_schema(schema: dict, known: list[str], depth: int = 0):
    """Values for ``schema``, and now and then a value of another type."""
    other = json_values(known)
    if "enum" in schema:
        fit = st.sampled_from(schema["enum"])
    elif "anyOf" in schema:
        fit = st.one_of(*(from_schema(s, known, depth + 1) for s in schema["anyOf"]))
    else:
        kind = schema.get("type")
        if kind == "string":
            fit = texts(known) if schema.get("format") != "uuid" else st.one_of(
                st.uuids().map(str), texts(known))
        elif kind == "integer":
            fit = st.one_of(st.integers(-5, 100_000), st.integers(min_value=2 ** 63))
        elif kind == "boolean":
            fit = st.booleans()
        elif kind == "array" and depth < 4:
            fit = st.lists(from_schema(schema.get("items", {}), known, depth + 1), max_size=3)
        elif kind == "object" and depth < 4:
            props = schema.get("properties") or {}
            fit = st.fixed_dictionaries({}, optional={
                k: from_schema(v, known, depth + 1) for k, v in props.items()}) if props else \
                st.dictionaries(texts(known), other, max_size=3)
        else:
            fit = other
    return st.one_of(fit, fit, fit, other)


YAML_BODIES = [WORKFLOW.replace("fuzz_wf", "fuzz_wf2"),
               "version: '2.0'\nname: fuzz_wb\nworkflows:\n  w:\n    tasks:\n      t:\n        action: std.noop\n",
               "version: '2.0'\nfuzz_act:\n  base: std.echo\n  base-input:\n    output: hi\n",
               "version: '2.0'\n", "[", "{a: &a [*a]}", "version: '2.0'\nw:\n  tasks: 7\n"]


def yaml_bodies(known: list[str]):
    return st.one_of(st.sampled_from(YAML_BODIES), st.text(max_size=200),
                     st.sampled_from(YAML_BODIES).flatmap(
                         lambda y: st.integers(0, len(y)).map(lambda i: y[:i])))


def request_for(op: dict, path: str, known: list[str]):
    """A strategy of (url path with its parameters, query, headers, body bytes, content type)."""
    params = op.get("parameters", [])
    path_params = {p["name"]: texts(known) for p in params if p["in"] == "path"}
    query = {p["name"]: from_schema(p.get("schema", {}), known) for p in params if p["in"] == "query"}
    headers = {p["name"]: st.one_of(st.uuids().map(str), st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=10))
        for p in params if p["in"] == "header"}
    content = (op.get("requestBody") or {}).get("content") or {}
    if "text/plain" in content:
        body = yaml_bodies(known).map(lambda t: (t.encode(), "text/plain"))
    elif content:
        ctype, media = next(iter(content.items()))
        body = st.one_of(
            from_schema(media.get("schema", {}), known).map(lambda v: (json.dumps(v).encode(), ctype)),
            st.binary(max_size=50).map(lambda b: (b, ctype)),
            st.integers(50, 3000).map(lambda n: (("[" * n + "]" * n).encode(), ctype)))
    else:
        body = st.just((b"", None))

    def build(draw_path, draw_query, draw_headers, draw_body):
        url = path
        for name, value in draw_path.items():
            url = url.replace("{" + name + "}", quote(str(value), safe="") or "x")
        q = {k: v if isinstance(v, str) else json.dumps(v) for k, v in draw_query.items()}
        return url, q, draw_headers, draw_body

    return st.builds(build, st.fixed_dictionaries(path_params), st.fixed_dictionaries({}, optional=query),
                     st.fixed_dictionaries({}, optional=headers), body)


# ---------------------------------------------------------------- the test

@pytest.mark.parametrize("method, path", _operations())
def test_no_5xx(fuzz, method, path):
    srv, client, schema, known = fuzz
    op = schema["paths"][path][method.lower()]
    base = srv.url[:-len("/v2")]

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(request_for(op, path, known))
    def check(req):
        url, query, headers, (body, ctype) = req
        headers = {k: v for k, v in headers.items() if v.isascii()}
        if ctype:
            headers["content-type"] = ctype
        try:
            r = client.request(method, base + url, params=query, headers=headers,
                               content=body if method in ("POST", "PUT", "PATCH") else None)
        except httpx.TimeoutException:
            pytest.fail(f"{method} {url} {query} timed out (body {body[:200]!r})")
        SENT["requests"] += 1
        SENT["by_status"][r.status_code] = SENT["by_status"].get(r.status_code, 0) + 1
        assert r.status_code < 500, (f"{method} {url} query={query} headers={headers} "
                                     f"body={body[:300]!r} -> {r.status_code} {r.text[:500]}")

    check()
    assert client.get(srv.url + "/").status_code == 200
