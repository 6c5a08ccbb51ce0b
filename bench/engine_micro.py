"""Per-task cost of the pure engine (no database, no HTTP, no executor).

Drives the conductor the way tests/engine/harness.py does: start, then feed
every requested action's outcome back in order, collecting the changes of each
step as the runtime would. Prints the time per task for a chain of 50 and of
2,000 tasks, and for a 100-way and a 1,000-way fan-out joined by one task; a
flat per-task cost means no per-event work grows with the execution.

    PYTHONPATH=. .venv/bin/python bench/engine_micro.py [--repeat 5] [--json]

Each workload runs ``--repeat`` times and the fastest run is shown (the
least disturbed by other work on the machine).
"""
from __future__ import annotations

import argparse
import itertools
import json
import time

from levante import lang
from levante.engine.conductor import Conductor
from levante.engine.model import ExecState


def chain(n: int) -> str:
    lines = ["version: '2.0'", "wf:", "  tasks:"]
    for i in range(n):
        lines.append(f"    t{i}:")
        lines.append("      action: std.noop")
        if i + 1 < n:
            lines.append(f"      on-success: [t{i + 1}]")
    return "\n".join(lines) + "\n"


def fan(n: int) -> str:
    lines = ["version: '2.0'", "wf:", "  tasks:", "    start:", "      action: std.noop",
             "      on-success:"]
    lines += [f"        - b{i}" for i in range(n)]
    for i in range(n):
        lines += [f"    b{i}:", "      action: std.noop", "      on-success: [join]"]
    lines += ["    join:", "      join: all", "      action: std.noop"]
    return "\n".join(lines) + "\n"


def drive(yaml_text: str) -> tuple[float, int]:
    """Seconds to run the workflow to its end in the engine alone, and its task count."""
    spec = lang.parse_workflows(yaml_text)[0]
    state = ExecState(id="wf", workflow_name=spec.name, spec=spec, input={}, params={"env": {}})
    state.load_result = lambda tid: None
    state.load_item_results = lambda tid: []
    counter = itertools.count()
    conductor = Conductor(state, lambda: f"id-{next(counter)}")
    began = time.perf_counter()
    conductor.start()
    pending = list(state.take_changes().actions)
    while pending:
        a = pending.pop(0)
        conductor.on_action_complete(a.task_id, a.id, a.index, True, None)
        pending.extend(state.take_changes().actions)
    elapsed = time.perf_counter() - began
    if state.state != "SUCCESS":
        raise SystemExit(f"workflow ended in {state.state}: {state.state_info}")
    return elapsed, len(state.tasks)


WORKLOADS = [("chain 50", chain, 50), ("chain 2000", chain, 2000),
             ("fan-out+join 100", fan, 100), ("fan-out+join 1000", fan, 1000)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = {}
    for label, make, n in WORKLOADS:
        text = make(n)
        runs = [drive(text) for _ in range(args.repeat)]
        secs = min(r[0] for r in runs)
        tasks = runs[0][1]
        out[label] = {"tasks": tasks, "seconds": round(secs, 4), "ms_per_task": round(secs * 1000 / tasks, 4)}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{'workload':<20} {'tasks':>6} {'seconds':>9} {'ms/task':>9}")
    for label, r in out.items():
        print(f"{label:<20} {r['tasks']:>6} {r['seconds']:>9.4f} {r['ms_per_task']:>9.4f}")


if __name__ == "__main__":
    main()
