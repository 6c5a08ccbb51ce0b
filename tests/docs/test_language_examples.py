"""Every YAML example of docs/language.md runs on a real server as the page says.

An example is a ```yaml block preceded by a comment line such as::

    <!-- example: NAME input: {"x": 1} expect: SUCCESS output: {"y": 2} -->

Keys after the name (values are JSON where a value is structured):

``input``           workflow input (default ``{}``)
``params``          execution params, e.g. ``{"env": {...}}``
``expect``          the state the execution settles in: SUCCESS, ERROR, PAUSED, ...
``output``          the whole execution output, compared for equality
``partial-output``  keys that the output must have, with these values
``info``            a string that the execution's ``state_info`` must contain
``workflow``        which workflow of the document to run (default: the first)
``kind: actions``   an ad-hoc actions document: it is only created
``needs``           the name of an ``actions`` example this one uses
``task-states``     task name -> the state its latest execution ends in
``action-count``    task name -> how many action executions it has (retries, items)
``min-seconds``     the execution takes at least this long (policies that wait)
``max-seconds``     ... and at most this long
``then``            what a client does once the execution has settled, in order;
                    each step is one of ``{"resume": true}``,
                    ``{"rerun": "task", "reset": false, "env": {...}}`` (``reset``
                    and ``env`` optional) or ``{"skip": "task"}``, and may carry
                    ``"expect": STATE``, the state the execution must be in
                    before the step; the execution settles again after each one

Each document is created under fresh names (workflows, workbook and ad-hoc
actions get a suffix), so the examples share the session's server with other
tests without clashing, and the page can reuse a name in two examples. In a
workflows document, a workflow's name is replaced wherever it stands as a whole
word, so one workflow of the document can call another (``workflow: child``,
also from inside an expression such as ``<% 'child' %>``); an example must
therefore not use a workflow's name for anything else. Inside a workbook,
workflows call each other by their short names and nothing needs renaming.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"

_BLOCK = re.compile(r"<!--\s*example:(?P<meta>.*?)-->\s*\n```yaml\n(?P<body>.*?)^```", re.S | re.M)
_KEY = re.compile(r"\s*([a-z][a-z-]*):\s*")
JSON_KEYS = {"input", "params", "output", "partial-output", "info", "task-states",
             "action-count", "min-seconds", "max-seconds", "then"}
WORD_KEYS = {"expect", "workflow", "kind", "needs"}
SETTLED = {"SUCCESS", "ERROR", "CANCELLED", "PAUSED"}


@dataclass
class Example:
    name: str
    body: str
    meta: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.meta.get("kind") == "actions":
            return "actions"
        return "workbook" if _is_workbook(self.body) else "workflows"


def _parse_meta(text: str) -> tuple[str, dict]:
    text = text.strip()
    name, _, rest = text.partition(" ")
    meta: dict = {}
    dec = json.JSONDecoder()
    i = 0
    rest = rest.strip()
    while i < len(rest):
        m = _KEY.match(rest, i)
        if not m:
            raise ValueError(f"example {name}: cannot read {rest[i:]!r}")
        key = m.group(1)
        i = m.end()
        if key in JSON_KEYS:
            value, i = dec.raw_decode(rest, i)
        elif key in WORD_KEYS:
            word = re.compile(r"\S+").match(rest, i)
            value, i = word.group(), word.end()
        else:
            raise ValueError(f"example {name}: unknown key {key!r}")
        meta[key] = value
        while i < len(rest) and rest[i].isspace():
            i += 1
    return name, meta


def load_examples() -> list[Example]:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for m in _BLOCK.finditer(text):
        name, meta = _parse_meta(m.group("meta"))
        out.append(Example(name, m.group("body"), meta))
    return out


EXAMPLES = load_examples()
BY_NAME = {e.name: e for e in EXAMPLES}


def _is_workbook(body: str) -> bool:
    return bool(re.search(r"(?m)^name:", body)) and bool(re.search(r"(?m)^workflows:", body))


def _top_keys(body: str) -> list[str]:
    return [k for k in re.findall(r"(?m)^([A-Za-z_][\w.-]*):", body) if k != "version"]


def _rename(body: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        body = re.sub(r"(?<![\w.])" + re.escape(old) + r"(?![\w.])", new, body)
    return body


# ---------------------------------------------------------------- the page itself


def test_examples_found():
    assert len(EXAMPLES) >= 20
    assert len(BY_NAME) == len(EXAMPLES), "example names must be unique"


def test_every_yaml_block_is_an_example():
    text = DOC.read_text(encoding="utf-8")
    blocks = len(re.findall(r"(?m)^```yaml$", text))
    assert blocks == len(EXAMPLES), "every ```yaml block needs an <!-- example: ... --> line"


def test_examples_declare_what_they_expect():
    for ex in EXAMPLES:
        if ex.kind == "actions":
            continue
        assert ex.meta.get("expect"), ex.name
        if "needs" in ex.meta:
            assert BY_NAME[ex.meta["needs"]].kind == "actions", ex.name


def test_then_steps_are_well_formed():
    for ex in EXAMPLES:
        for step in ex.meta.get("then", []):
            assert isinstance(step, dict), ex.name
            assert sum(k in step for k in ("resume", "rerun", "skip")) == 1, f"{ex.name}: {step}"
            assert set(step) <= {"resume", "rerun", "skip", "reset", "env", "expect"}, f"{ex.name}: {step}"


def test_rename_reaches_sub_workflow_references():
    body = ("version: '2.0'\n"
            "parent:\n  tasks:\n    a:\n      workflow: child x=1\n"
            "    b:\n      workflow: <% 'child' %>\n"
            "child:\n  tasks:\n    c:\n      action: std.noop\n      publish:\n        children: 1\n")
    names = {k: f"{k}_s" for k in _top_keys(body)}
    assert names == {"parent": "parent_s", "child": "child_s"}
    out = _rename(body, names)
    assert "\nparent_s:\n" in out and "\nchild_s:\n" in out
    assert "workflow: child_s x=1" in out and "<% 'child_s' %>" in out
    assert "children: 1" in out      # a longer word is left alone


# ---------------------------------------------------------------- running them


class Runner:
    def __init__(self, url: str):
        self.url = url
        self.client = httpx.Client(timeout=30)
        self.action_names: dict[str, dict[str, str]] = {}   # actions example -> renames

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
        if ex.kind == "workbook":
            wb = re.search(r"(?m)^name:\s*(\S+)", body).group(1)
            body = re.sub(r"(?m)^name:\s*\S+", f"name: {wb}_{suffix}", body, count=1)
            self.create("workbooks", body)
            wf_block = body[re.search(r"(?m)^workflows:", body).end():]
            short = ex.meta.get("workflow") or re.search(r"(?m)^  ([A-Za-z_][\w.-]*):", wf_block).group(1)
            workflow = f"{wb}_{suffix}.{short}"
        else:
            # Every whole-word use of a workflow's name: its key and the
            # `workflow:` references of the document's other workflows.
            names = {k: f"{k}_{suffix}" for k in _top_keys(body)}
            body = _rename(body, names)
            self.create("workflows", body)
            workflow = names[ex.meta.get("workflow") or next(iter(names))]
        started = time.time()
        r = self.client.post(f"{self.url}/executions", json={
            "workflow_name": workflow,
            "input": json.dumps(ex.meta.get("input", {})),
            "params": json.dumps(ex.meta.get("params", {})),
        })
        assert r.status_code == 201, f"execution-create {workflow}: {r.status_code} {r.text}"
        exec_id = r.json()["id"]
        execution = self.settle(ex, exec_id)
        for step in ex.meta.get("then", []):
            if "expect" in step:
                assert execution["state"] == step["expect"], \
                    f"{ex.name}: {execution['state']} before {step}: {execution.get('state_info')}"
            self.apply(ex, exec_id, step)
            execution = self.settle(ex, exec_id)
        execution["_seconds"] = time.time() - started
        return execution

    def settle(self, ex: Example, exec_id: str) -> dict:
        deadline = time.time() + 30
        while True:
            body = self.client.get(f"{self.url}/executions/{exec_id}").json()
            if body["state"] in SETTLED:
                return body
            assert time.time() < deadline, f"{ex.name}: still {body['state']}"
            time.sleep(0.02)

    def tasks(self, exec_id: str) -> dict[str, dict]:
        """The latest execution of each task, by name."""
        r = self.client.get(f"{self.url}/executions/{exec_id}/tasks")
        assert r.status_code == 200, r.text
        latest: dict[str, dict] = {}
        for t in r.json()["tasks"]:
            latest[t["name"]] = t
        return latest

    def apply(self, ex: Example, exec_id: str, step: dict) -> None:
        if "resume" in step:
            r = self.client.put(f"{self.url}/executions/{exec_id}", json={"state": "RUNNING"})
        else:
            name = step.get("rerun") or step.get("skip")
            assert name, f"{ex.name}: unknown step {step}"
            task = self.tasks(exec_id).get(name)
            assert task, f"{ex.name}: no task {name!r} to act on"
            body: dict = {"state": "RUNNING" if "rerun" in step else "SKIPPED"}
            if "rerun" in step:
                body["reset"] = step.get("reset", True)
                if step.get("env"):
                    body["env"] = json.dumps(step["env"])
            r = self.client.put(f"{self.url}/tasks/{task['id']}", json=body)
        assert r.status_code == 200, f"{ex.name}: {step}: {r.status_code} {r.text}"

    def action_count(self, task_id: str) -> int:
        r = self.client.get(f"{self.url}/tasks/{task_id}/action_executions")
        assert r.status_code == 200, r.text
        return len(r.json()["action_executions"])


@pytest.fixture(scope="module")
def runner(server):
    r = Runner(server.url)
    yield r
    r.client.close()


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example(runner, ex: Example):
    if ex.kind == "actions":
        runner.ensure_actions(ex)
        return
    execution = runner.run(ex)
    info = execution.get("state_info") or ""
    assert execution["state"] == ex.meta["expect"], f"{ex.name}: {execution['state']}: {info}"
    output = json.loads(execution["output"]) if execution.get("output") else {}
    if "output" in ex.meta:
        assert output == ex.meta["output"], ex.name
    for key, value in ex.meta.get("partial-output", {}).items():
        assert output.get(key) == value, f"{ex.name}: output[{key!r}] = {output.get(key)!r}"
    if "info" in ex.meta:
        assert ex.meta["info"] in info, f"{ex.name}: state_info {info!r}"
    if "task-states" in ex.meta or "action-count" in ex.meta:
        tasks = runner.tasks(execution["id"])
        for name, state in ex.meta.get("task-states", {}).items():
            assert name in tasks, f"{ex.name}: task {name!r} did not run"
            assert tasks[name]["state"] == state, f"{ex.name}: task {name!r} is {tasks[name]['state']}"
        for name, count in ex.meta.get("action-count", {}).items():
            assert name in tasks, f"{ex.name}: task {name!r} did not run"
            got = runner.action_count(tasks[name]["id"])
            assert got == count, f"{ex.name}: task {name!r} has {got} action executions"
    seconds = execution["_seconds"]
    if "min-seconds" in ex.meta:
        assert seconds >= ex.meta["min-seconds"], f"{ex.name}: took only {seconds:.2f} s"
    if "max-seconds" in ex.meta:
        assert seconds <= ex.meta["max-seconds"], f"{ex.name}: took {seconds:.2f} s"
