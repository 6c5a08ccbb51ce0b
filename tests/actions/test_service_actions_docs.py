"""docs/actions.md: every built-in action is documented, and every YAML example
marked ``<!-- example: NAME key: value ... -->`` runs on a real server as the
comment says.

Keys (values are JSON where structured): ``input``, ``params``, ``expect``
(the state the execution settles in), ``output`` (the whole output),
``info`` (a string that ``state_info`` contains), ``workflow`` (which workflow
of the document to run; default the first), ``kind: actions`` (an ad-hoc
actions document: only created), ``needs`` (the actions example it uses),
``requires`` (a Python distribution that must be installed, else skipped).

Top-level names get a fresh suffix (and so do their uses in the document), so
examples never clash with other tests on the shared server.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from levante.actions.registry import Registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "actions.md"
TEXT = DOC.read_text(encoding="utf-8")

_BLOCK = re.compile(r"<!--\s*example:(?P<meta>.*?)-->\s*\n```yaml\n(?P<body>.*?)^```", re.S | re.M)
_KEY = re.compile(r"\s*([a-z][a-z-]*):\s*")
JSON_KEYS = {"input", "params", "output", "info"}
WORD_KEYS = {"expect", "workflow", "kind", "needs", "requires"}
SETTLED = {"SUCCESS", "ERROR", "CANCELLED", "PAUSED"}


@dataclass
class Example:
    name: str
    body: str
    meta: dict = field(default_factory=dict)


def _parse(meta_text: str) -> tuple[str, dict]:
    name, _, rest = meta_text.strip().partition(" ")
    meta: dict = {}
    dec = json.JSONDecoder()
    rest, i = rest.strip(), 0
    while i < len(rest):
        m = _KEY.match(rest, i)
        assert m, f"example {name}: cannot read {rest[i:]!r}"
        key, i = m.group(1), m.end()
        if key in JSON_KEYS:
            meta[key], i = dec.raw_decode(rest, i)
        elif key in WORD_KEYS:
            w = re.compile(r"\S+").match(rest, i)
            meta[key], i = w.group(), w.end()
        else:
            raise AssertionError(f"example {name}: unknown key {key!r}")
        while i < len(rest) and rest[i].isspace():
            i += 1
    return name, meta


def _load() -> list[Example]:
    out = []
    for m in _BLOCK.finditer(TEXT):
        name, meta = _parse(m.group("meta"))
        out.append(Example(name, m.group("body"), meta))
    return out


EXAMPLES = _load()
BY_NAME = {e.name: e for e in EXAMPLES}


def _top_keys(body: str) -> list[str]:
    return [k for k in re.findall(r"(?m)^([A-Za-z_][\w.-]*):", body) if k != "version"]


def _rename(body: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        body = re.sub(r"(?<![\w.])" + re.escape(old) + r"(?![\w.])", new, body)
    return body


# ---------------------------------------------------------------- the page itself

def test_every_builtin_action_is_documented():
    for name in Registry(load_plugins=False).names():
        assert f"`{name}`" in TEXT, f"{name} is not in docs/actions.md"


def test_examples_are_well_formed():
    assert len(EXAMPLES) >= 10
    assert len(BY_NAME) == len(EXAMPLES), "example names must be unique"
    for ex in EXAMPLES:
        if ex.meta.get("kind") != "actions":
            assert ex.meta.get("expect"), ex.name
        if "needs" in ex.meta:
            assert BY_NAME[ex.meta["needs"]].meta.get("kind") == "actions", ex.name


# ---------------------------------------------------------------- running them

class Runner:
    def __init__(self, url: str):
        self.url = url
        self.client = httpx.Client(timeout=30)
        self.action_names: dict[str, dict[str, str]] = {}

    def create(self, route: str, body: str) -> None:
        r = self.client.post(f"{self.url}/{route}", content=body.encode("utf-8"),
                             headers={"content-type": "text/plain"})
        assert r.status_code == 201, f"POST /{route}: {r.status_code} {r.text}"

    def ensure_actions(self, ex: Example) -> dict[str, str]:
        if ex.name not in self.action_names:
            suffix = uuid.uuid4().hex[:8]
            names = {k: f"{k}_{suffix}" for k in _top_keys(ex.body)}
            self.create("actions", _rename(ex.body, names))
            self.action_names[ex.name] = names
        return self.action_names[ex.name]

    def run(self, ex: Example) -> dict:
        body = ex.body
        if "needs" in ex.meta:
            body = _rename(body, self.ensure_actions(BY_NAME[ex.meta["needs"]]))
        suffix = uuid.uuid4().hex[:8]
        names = {k: f"{k}_{suffix}" for k in _top_keys(body)}
        self.create("workflows", _rename(body, names))
        workflow = names[ex.meta.get("workflow") or next(iter(names))]
        r = self.client.post(f"{self.url}/executions", json={
            "workflow_name": workflow, "input": json.dumps(ex.meta.get("input", {})),
            "params": json.dumps(ex.meta.get("params", {}))})
        assert r.status_code == 201, f"execution-create {workflow}: {r.status_code} {r.text}"
        exec_id = r.json()["id"]
        deadline = time.time() + 60
        while True:
            got = self.client.get(f"{self.url}/executions/{exec_id}").json()
            if got["state"] in SETTLED:
                return got
            assert time.time() < deadline, f"{ex.name}: still {got['state']}"
            time.sleep(0.02)


@pytest.fixture(scope="module")
def runner(server):
    r = Runner(server.url)
    yield r
    r.client.close()


def _installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example(runner, ex: Example):
    if "requires" in ex.meta:
        assert _installed(ex.meta["requires"]), f"{ex.meta['requires']} is not installed (make test installs it)"
    if ex.meta.get("kind") == "actions":
        runner.ensure_actions(ex)
        return
    execution = runner.run(ex)
    info = execution.get("state_info") or ""
    assert execution["state"] == ex.meta["expect"], f"{ex.name}: {execution['state']}: {info}"
    output = json.loads(execution["output"]) if execution.get("output") else {}
    if "output" in ex.meta:
        assert output == ex.meta["output"], ex.name
    if "info" in ex.meta:
        assert ex.meta["info"] in info, f"{ex.name}: state_info {info!r}"
