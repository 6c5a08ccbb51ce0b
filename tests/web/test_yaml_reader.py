"""The console's YAML reader (levante/web/static/js/yaml.js), run in the
browser, reads every workflow of the docs exactly as PyYAML does, so the
graphs are drawn from what the server stores."""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```yaml\n(.*?)^```", re.S | re.M)


def yaml_blocks() -> list[str]:
    out = []
    for doc in sorted(DOCS.glob("*.md")):
        out += BLOCK.findall(doc.read_text(encoding="utf-8"))
    return out


EXTRA = [
    "a: |\n  line one\n  line two\nb: >-\n  folded\n  text\nc: [1, 'two', {k: v}, \"q # not a comment\"]  # comment\n",
    "list:\n- 1\n- k: v\n  j: 2.5\n-\n  - nested\nempty:\nquoted: 'it''s'\nflow: {a: [1, 2], b: null, c: true}\n",
    "t:\n  on-success:\n    - next: <% $.x > 1 %>\n    - other\n  multi: this plain\n    text goes on\n",
]


def test_reads_every_docs_workflow_like_pyyaml(server, page):
    page.goto(server.url[: -len("/v2")] + "/ui/nowhere")
    blocks = yaml_blocks() + EXTRA
    assert len(blocks) > 40
    got = page.evaluate("""async (texts) => {
        const { parseYaml } = await import('/ui/assets/js/yaml.js');
        return texts.map((t) => { try { return JSON.stringify(parseYaml(t)); } catch (e) { return 'ERROR ' + e.message; } });
    }""", blocks)
    for text, result in zip(blocks, got):
        want = yaml.safe_load(text)
        assert not result.startswith("ERROR"), f"{result}\n{text}"
        assert json.loads(result) == json.loads(json.dumps(want, default=str)), text


def test_graph_model_of_transitions(server, page):
    page.goto(server.url[: -len("/v2")] + "/ui/nowhere")
    model = page.evaluate("""async () => {
        const g = await import('/ui/assets/js/graph.js');
        const body = (await import('/ui/assets/js/yaml.js')).parseYaml(`
task-defaults:
  on-error: [cleanup]
tasks:
  a:
    action: std.noop
    on-success:
      - b: <% $.ok %>
      - c
      - fail
    on-complete: {next: [d], publish: {x: 1}}
  b:
    with-items: i in <% [1] %>
    action: std.echo output=<% $.i %>
    on-error: noop
  c:
    join: 2
    workflow: child n=1
  d:
    action: std.noop
  cleanup:
    action: std.noop
`);
        return g.workflowModel(body);
    }""")
    edges = {(e["from"], e["to"], e["kind"]) for e in model["edges"]}
    assert ("a", "b", "on-success") in edges and ("a", "c", "on-success") in edges
    assert ("a", "d", "on-complete") in edges
    assert not any(e["to"] == "fail" for e in model["edges"])          # engine commands are not tasks
    assert ("a", "cleanup", "on-error") in edges                          # from task-defaults
    assert ("b", "cleanup", "on-error") not in edges                      # b has its own on-error
    assert ("cleanup", "cleanup", "on-error") not in edges
    guard = next(e["guard"] for e in model["edges"] if e["to"] == "b")
    assert guard == "<% $.ok %>"
    nodes = {n["name"]: n for n in model["nodes"]}
    assert nodes["b"]["withItems"] and nodes["c"]["join"] == 2 and nodes["c"]["workflow"] == "child"


def test_long_edges_and_loops_keep_clear_of_the_boxes(server, page):
    page.goto(server.url[: -len("/v2")] + "/ui/nowhere")
    result = page.evaluate("""async () => {
        const g = await import('/ui/assets/js/graph.js');
        const { parseYaml } = await import('/ui/assets/js/yaml.js');
        const model = g.workflowModel(parseYaml(`
tasks:
  a: {action: std.noop, on-success: [b, c2], on-error: d}
  b: {action: std.noop, on-success: c}
  c: {action: std.noop, on-success: d}
  c2: {action: std.noop, on-complete: e}
  d: {action: std.noop, on-success: e}
  e: {action: std.noop, on-error: a}
`));
        const l = g.layout(model);
        const boxes = [...l.box].filter(([n]) => !n.startsWith('\\u0001')).map(([n, b]) => ({ n, ...b }));
        const via = model.edges.map((e, i) => ({ from: e.from, to: e.to, via: l.via.get(i) || [] }));
        return { boxes, via, loopX: l.loopX, width: l.width, back: [...l.back] };
    }""")
    boxes = result["boxes"]
    overlaps = lambda v, b: v["x"] < b["x"] + b["w"] and b["x"] < v["x"] + v["w"] and v["y"] == b["y"]
    long_edges = [e for e in result["via"] if e["via"]]
    assert {(e["from"], e["to"]) for e in long_edges} == {("a", "d"), ("c2", "e")}
    for e in long_edges:
        for v in e["via"]:
            assert not any(overlaps(v, b) for b in boxes), (e, v)
    assert result["back"] == ["e\u0000a"]
    assert all(b["x"] + b["w"] < result["loopX"] < result["width"] for b in boxes)
