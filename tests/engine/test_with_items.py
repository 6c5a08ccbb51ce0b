"""with-items, driven without a database (levante/engine/items.py)."""
from __future__ import annotations

from levante.engine import states
from levante.engine.model import Caps
from levante.engine.task_runtime import WithItemsProgress
from tests.engine.harness import Harness

WF = """version: '2.0'
w:
  input: [xs]
  tasks:
    t:
      with-items: x in <% $.xs %>
      concurrency: 2
      action: std.echo output=<% $.x %>
"""


def test_progress_is_typed_and_stored_as_before():
    h = Harness(WF, input={"xs": [1, 2, 3, 4, 5]}).start()
    wi = h.task("t").runtime.with_items
    assert isinstance(wi, WithItemsProgress)
    assert (wi.count, wi.launched, wi.done) == (5, 2, 0)
    h.step()
    assert (wi.launched, wi.done) == (3, 1)
    # The API reads these keys from the stored JSON (runtime_context).
    assert h.task("t").runtime.to_json()["with_items"] == {"count": 5, "launched": 3, "done": 1}
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task("t").result == [1, 2, 3, 4, 5]


def test_rerun_of_failed_items_keeps_their_indices():
    def run(name, given):
        return (given["output"] != 3), given["output"]
    h = Harness(WF, input={"xs": [1, 2, 3, 4]}, run=run).start()
    s = h.run_all()
    assert s.state == states.ERROR
    t = h.task("t")
    assert [f[1] for f in t.runtime.failed_actions] == [2]
    h.run = lambda name, given: (True, given["output"])
    h.conductor.rerun(t.id, reset=False)
    h._collect()
    assert t.runtime.with_items.indices == [2]
    assert t.runtime.with_items.total == 1
    assert [a.index for a in h.pending] == [2]
    s = h.run_all()
    assert s.state == states.SUCCESS


def test_cap_on_items_fails_the_task_before_any_item_runs():
    h = Harness(WF, input={"xs": list(range(10))})
    h.state.caps = Caps(max_with_items=5)
    h.start()
    assert h.pending == []
    assert h.task("t").state == states.ERROR
    assert "has 10 items, more than the limit of 5" in h.task("t").state_info
    assert h.state.state == states.ERROR
