"""GET /v2/tasks/{id}/executions (task-get-sub-executions) as Mistral 23:
``errors_only`` gives nothing for a task that did not fail, and the task's own
sub-workflows are depth 0 for ``max_depth``."""
from __future__ import annotations

from tests.api.helpers import finish, unique, wf_yaml


def test_errors_only_and_max_depth_from_a_task(mistral):
    leaf_ok, leaf_bad, middle, top = (unique(p) for p in ("leafok", "leafbad", "middle", "top"))
    for name, body in ((leaf_ok, "tasks:\n  w:\n    action: std.noop\n"),
                       (leaf_bad, "tasks:\n  w:\n    action: std.fail\n"),
                       (middle, f"tasks:\n  inner:\n    workflow: {leaf_ok}\n"),
                       (top, f"tasks:\n  good:\n    workflow: {middle}\n"
                             f"  bad:\n    workflow: {leaf_bad}\n")):
        mistral.workflows.create(wf_yaml(name, body))
    ex = finish(mistral, mistral.executions.create(top).id)
    assert ex.state == "ERROR"
    tasks = {t.name: t for t in mistral.tasks.list(ex.id)}
    assert tasks["good"].state == "SUCCESS" and tasks["bad"].state == "ERROR"

    def names(task_id, **kw):
        return [e.workflow_name for e in mistral.tasks.get_task_sub_executions(task_id, **kw)]

    assert names(tasks["good"].id) == [middle, leaf_ok]
    assert names(tasks["good"].id, errors_only=True) == []
    assert names(tasks["bad"].id, errors_only=True) == [leaf_bad]
    assert names(tasks["good"].id, max_depth=0) == [middle]
    assert names(tasks["good"].id, max_depth=1) == [middle, leaf_ok]
