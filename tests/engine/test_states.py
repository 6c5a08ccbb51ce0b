"""The state tables and the one checked way to change a state."""
from __future__ import annotations

import pytest

from levante.engine import states
from levante.engine.model import ExecState, TaskEx
from levante.errors import Conflict, IllegalStateChange
from tests.engine.harness import Harness


def test_every_state_has_a_row_in_the_task_table():
    assert set(states.TASK_TRANSITIONS) == set(states.ALL)
    for targets in list(states.TASK_TRANSITIONS.values()) + list(states.WORKFLOW_TRANSITIONS.values()):
        assert targets <= set(states.ALL)


def test_illegal_task_move_raises_and_changes_nothing():
    h = Harness("version: '2.0'\nw:\n  tasks:\n    a: {action: std.noop}\n").start()
    s = h.run_all()
    task = h.task("a")
    with pytest.raises(IllegalStateChange) as e:
        s.move_task(task, states.WAITING)
    assert isinstance(e.value, Conflict) and e.value.status == 409
    assert task.state == states.SUCCESS


def test_illegal_workflow_move_raises():
    h = Harness("version: '2.0'\nw:\n  tasks:\n    a: {action: std.noop}\n").start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    with pytest.raises(IllegalStateChange):
        s.move(states.RUNNING)
    assert s.state == states.SUCCESS


def test_mistral_moves_are_in_the_tables():
    assert states.can_task_move(states.CANCELLED, states.RUNNING)
    assert states.can_workflow_move(states.CANCELLED, states.RUNNING)
    assert not states.can_task_move(states.SUCCESS, states.RUNNING)
    assert not states.can_workflow_move(states.PAUSED, states.IDLE)


def test_clients_may_not_make_the_moves_only_the_engine_makes():
    assert states.can_client_move(states.RUNNING, states.PAUSED)
    assert states.can_client_move(states.PAUSED, states.RUNNING)
    assert not states.can_client_move(states.ERROR, states.RUNNING)      # a rerun does that
    assert not states.can_client_move(states.CANCELLED, states.RUNNING)
    assert not states.can_client_move(states.IDLE, states.PAUSED)


def test_amend_turns_only_a_just_ended_task_into_an_error():
    t = TaskEx(id="t", name="a", state=states.SUCCESS)
    states.amend(t, states.ERROR)
    assert t.state == states.ERROR
    with pytest.raises(IllegalStateChange):
        states.amend(TaskEx(id="u", name="a", state=states.RUNNING), states.ERROR)


def test_resume_of_an_execution_paused_before_it_began_starts_it():
    h = Harness("version: '2.0'\nw:\n  tasks:\n    a: {action: std.noop}\n")
    h.state.state = states.PAUSED       # a parent's pause reached it before its start
    h.start()
    assert h.state.state == states.PAUSED and not h.state.tasks
    seen = []
    real = ExecState.move

    def spy(self, dst):
        seen.append((self.state, dst))
        real(self, dst)
    ExecState.move = spy
    try:
        h.conductor.resume()
    finally:
        ExecState.move = real
    h._collect()
    assert seen[0] == (states.PAUSED, states.RUNNING)
    assert h.run_all().state == states.SUCCESS
