"""Run the built-in actions that do no I/O inside the engine step.

``std.noop``, ``std.echo`` and ``std.fail`` neither wait nor touch anything
outside the process, so sending each one through the job table, an executor
and back to the engine (three commits and two claims per task) costs far more
than the action. Temporal calls the same idea local activities.

After the conductor has been driven, :func:`run_inline` takes such actions
off ``state.actions_to_run``, runs them at once through the same resolver the
executor uses (so input checks and errors are the same), records them as
already finished, and hands their outcomes to the conductor, which may ask for
more. A chain of ``std.noop`` tasks thus runs to its end in one step and one
commit. The step's expression budget (the watchdog) stays on throughout, and
at most ``limit`` actions run per step so that one huge with-items cannot hold
an engine thread: the rest wait for the next steps (below).

Events are the same as when the executor runs the action: the conductor gets
``on_action_complete`` for each, in order.

What a step leaves of these actions (over its limit or out of its time) is not
sent to the executor either: :func:`defer_rest` marks them ``deferred``, their
action executions are stored RUNNING as usual, and an engine ``run`` event
(chunks of RUN_CHUNK ids) has the next step of the same execution run them
inline (``stored``: their rows are then updated). One step runs at most
``limit`` of them, so a with-items over 10,000 items goes through a few steps
of a thousand, each one commit, instead of ten thousand executor jobs and
their ten thousand completion events. Only an execution that is no longer
RUNNING (paused, cancelled) hands what it has left to the executor, which
finishes actions already started whatever the execution's state.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from levante import limits
from levante.actions.base import Outcome
from levante.engine import states
from levante.engine.conductor import Conductor
from levante.engine.model import ActionRequest, ExecState, Timer
from levante.runtime.executor import ended

# What may run inline: pure, quick, and never asynchronous or delayed.
INLINE_ACTIONS = frozenset({"std.noop", "std.echo", "std.fail"})
# Most actions run inline in one step (the rest wait for the next step: defer_rest).
STEP_LIMIT = 1000
# Most action ids in one engine ``run`` event.
RUN_CHUNK = 1000

# (the action, its execution, the execution's row meta: namespace and project) -> outcome
Runner = Callable[[ActionRequest, ExecState, dict], Outcome]


def run_inline(cond: Conductor, state: ExecState, runner: Runner | None, meta: dict,
               limit: int = STEP_LIMIT, deadline: float | None = None) -> int:
    """Run the inline-able actions the conductor asked for (and those their
    outcomes lead to), up to ``limit`` of them and, if given, until
    ``time.monotonic()`` passes ``deadline``; returns how many ran."""
    if runner is None or limit <= 0:
        return 0
    ran = 0
    deferred: list[ActionRequest] = []     # to run the usual way after all
    done_now: dict[str, list] = {}      # task id -> item result rows not yet stored
    _see_unstored(state, done_now)
    while state.state == states.RUNNING and ran < limit:
        todo, rest = [], []
        for a in state.actions_to_run:
            if len(todo) + ran < limit and _inlinable(a):
                todo.append(a)
            else:
                rest.append(a)
        if not todo:
            break
        state.actions_to_run = rest
        for k, a in enumerate(todo):
            outcome = _outcome(runner, a, state, meta)
            if outcome is None:     # it asked to finish later (std.echo with a delay)
                deferred.append(a)
                continue
            ok, value, _info, _output = a.outcome = outcome
            state.done_actions.append(a)
            done_now.setdefault(a.task_id, []).append(
                (a.index, ok, value, a.id, time.time() + ran * 1e-6))
            ran += 1
            cond.on_action_complete(a.task_id, a.id, a.index, ok, value)
            if deadline is not None and time.monotonic() > deadline:
                limit = ran     # out of time: what is left goes the usual way
            if state.state != states.RUNNING or ran >= limit:
                # The workflow ended or paused, or this step has run enough: what
                # it has not run is left to the usual path (queued, or cancelled
                # with its task), as if the executor had not got to it yet.
                state.actions_to_run[:0] = todo[k + 1:]
                break
    # These have no side effects, so the executor runs them again, the usual way.
    state.actions_to_run[:0] = deferred
    defer_rest(state, skip={id(a) for a in deferred})
    return ran


def defer_rest(state: ExecState, skip: set[int] = frozenset()) -> None:
    """Leave the inline-able actions still to run to a later engine step of this
    execution (an engine ``run`` event) rather than to the executor, while the
    execution is RUNNING; ``skip``: ids of requests that must go the usual way."""
    if state.state != states.RUNNING:
        return
    later = [a for a in state.actions_to_run if id(a) not in skip and _inlinable(a)]
    if not later:
        return
    for a in later:
        a.deferred = True
    # Those already stored only need the event; new ones are stored with it.
    state.actions_to_run = [a for a in state.actions_to_run if not (a.deferred and a.stored)]
    ids = [a.id for a in later]
    for i in range(0, len(ids), RUN_CHUNK):
        state.timers.append(Timer(0.0, {"event": "run", "action_ids": ids[i:i + RUN_CHUNK]}))


def _inlinable(a: ActionRequest) -> bool:
    if a.name not in INLINE_ACTIONS:
        return False
    if a.stored or a.deferred:      # its input was checked when it was stored
        return True
    # An input over the field size limit is refused by the usual path, with its message.
    # (The JSON text is kept: persist stores it as it is.)
    limit = limits.field_size_limit()
    if not limit:
        return True
    if a.input_text is None:
        a.input_text = json.dumps(a.input)
    return not limits.size_problem("ActionExecution", "input", a.input_text, limit)


def _outcome(runner: Runner, a: ActionRequest, state: ExecState,
             meta: dict) -> tuple[bool, Any, str | None, str] | None:
    """How it is stored (see :func:`levante.runtime.executor.ended`), or None if the
    action does not end now."""
    try:
        outcome = runner(a, state, meta)
    except Exception as e:      # as the executor does for a local action that raised
        outcome = Outcome("error", f"{type(e).__name__}: {e}")
    if outcome.kind not in ("ok", "error"):
        return None
    return ended(outcome.kind == "ok", outcome.value)


def _see_unstored(state: ExecState, done_now: dict[str, list]) -> None:
    """Let with-items see the results of its items that ran inline in this step,
    which are not in the database yet."""
    stored = state.load_item_results

    def load_item_results(task_id: str) -> list:
        rows = list(stored(task_id)) if stored else []
        return rows + done_now.get(task_id, [])

    state.load_item_results = load_item_results
