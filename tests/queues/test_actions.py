"""The zaqar.* actions, run by workflows and by run-action on a real server."""
from __future__ import annotations

import json

from tests.api.helpers import as_json, create_wf, finish, unique


def run(mistral, name: str, **given):
    """run-action: the action's result (it must succeed)."""
    ae = mistral.action_executions.create(name, given)
    assert ae.state == "SUCCESS", ae.output
    return as_json(ae.output)["result"]


def task_result(mistral, exec_id: str, task: str):
    (t,) = [t for t in mistral.tasks.list(exec_id) if t.name == task]
    assert t.state == "SUCCESS", t.state_info
    return as_json(mistral.tasks.get(t.id).result)


def test_tripleo_style_post_then_pop_in_a_workflow(mistral):
    wf, queue = unique("zq"), unique("tripleo")
    create_wf(mistral, wf, f"""
input:
  - queue_name: {queue}
tasks:
  send:
    action: zaqar.queue_post
    input:
      queue_name: <% $.queue_name %>
      messages:
        body:
          type: tripleo.deployment.v1.deploy_plan
          payload:
            status: SUCCESS
            execution: <% execution().id %>
    on-success: receive
  receive:
    action: zaqar.queue_pop
    input:
      queue_name: <% $.queue_name %>
    publish:
      got: <% task().result[0].body %>
output:
  got: <% $.got %>
""")
    ex = finish(mistral, mistral.executions.create(wf).id)
    assert ex.state == "SUCCESS", ex.state_info
    out = as_json(ex.output)["got"]
    assert out == {"type": "tripleo.deployment.v1.deploy_plan",
                   "payload": {"status": "SUCCESS", "execution": ex.id}}

    sent = task_result(mistral, ex.id, "send")
    (href,) = sent["resources"]
    assert href.startswith(f"/v2/queues/{queue}/messages/")
    (popped,) = task_result(mistral, ex.id, "receive")
    assert set(popped) == {"body", "age", "queue", "href", "ttl", "_id"}
    assert popped["queue"] == {"_metadata": None, "client": None, "_name": queue}
    assert popped["href"] is None and popped["ttl"] == 3600
    assert href.endswith("/" + popped["_id"])


def test_claim_and_delete_messages_in_a_workflow(mistral):
    wf, queue = unique("zclaim"), unique("jobs")
    run(mistral, "zaqar.queue_post", queue_name=queue,
        messages=[{"body": {"job": i}, "ttl": 600} for i in range(3)])
    create_wf(mistral, wf, f"""
tasks:
  claim:
    action: zaqar.claim_messages queue_name={queue} ttl=120 grace=30 limit=2
    publish:
      jobs: <% task().result.select($.body.job) %>
      ids: <% task().result.select($._id) %>
    on-success: done
  done:
    action: zaqar.delete_messages
    input:
      queue_name: {queue}
      messages: <% $.ids %>
output:
  jobs: <% $.jobs %>
  deleted: <% task(done).result %>
""")
    ex = finish(mistral, mistral.executions.create(wf).id)
    assert ex.state == "SUCCESS", ex.state_info
    out = as_json(ex.output)
    assert out["jobs"] == [0, 1]
    assert len(out["deleted"]) == 2
    claimed = task_result(mistral, ex.id, "claim")
    assert all(m["claim_id"] and m["href"].endswith("?claim_id=" + m["claim_id"]) for m in claimed)
    left = run(mistral, "zaqar.queue_messages", queue_name=queue, include_claimed=True)
    assert [m["body"] for m in left] == [{"job": 2}]
    assert left[0]["href"] == f"/v2/queues/{queue}/messages/{left[0]['_id']}"


def test_queue_management_actions(mistral):
    queue = unique("mgmt")
    assert run(mistral, "zaqar.queue_exists", queue_name=queue) is False
    created = run(mistral, "zaqar.queue_create", queue_name=queue, metadata={"team": "ops"})
    assert created["created"] is True and created["metadata"]["team"] == "ops"
    assert run(mistral, "zaqar.queue_exists", queue_name=queue) is True
    assert run(mistral, "zaqar.queue_metadata", queue_name=queue)["team"] == "ops"
    assert run(mistral, "zaqar.queue_metadata", queue_name=queue,
               new_meta={"team": "dev"})["team"] == "dev"

    run(mistral, "zaqar.queue_post", queue_name=queue, messages={"body": "one"})
    run(mistral, "zaqar.queue_post", queue_name=queue, messages=[{"body": "two"}, {"body": "three"}])
    stats = run(mistral, "zaqar.queue_stats", queue_name=queue)["messages"]
    assert (stats["total"], stats["free"], stats["claimed"]) == (3, 3, 0)
    assert stats["oldest"]["href"].startswith(f"/v2/queues/{queue}/messages/")

    listed = run(mistral, "zaqar.queue_messages", queue_name=queue, limit=2)
    assert [m["body"] for m in listed] == ["one", "two"]
    popped = run(mistral, "zaqar.queue_pop", queue_name=queue, count=5)
    assert [m["body"] for m in popped] == ["one", "two", "three"]
    assert run(mistral, "zaqar.queue_pop", queue_name=queue) == []

    assert run(mistral, "zaqar.queue_delete", queue_name=queue) is None
    assert run(mistral, "zaqar.queue_exists", queue_name=queue) is False


def test_bad_input_fails_the_task_with_a_clear_message(mistral):
    wf = unique("zbad")
    create_wf(mistral, wf, """
tasks:
  post:
    action: zaqar.queue_post
    input:
      queue_name: "not a valid name"
      messages: {body: 1}
""")
    ex = finish(mistral, mistral.executions.create(wf).id)
    assert ex.state == "ERROR"
    (t,) = mistral.tasks.list(ex.id)
    assert "Queue names may only contain" in t.state_info

    ae = mistral.action_executions.create("zaqar.queue_messages",
                                          {"queue_name": unique("q"), "colour": "blue"})
    assert ae.state == "ERROR"
    assert "colour" in json.dumps(as_json(ae.output))


def test_zaqar_actions_are_listed_with_mistral_inputs(mistral):
    actions = {a.name: a for a in mistral.actions.list()}
    assert actions["zaqar.queue_post"].input == "queue_name, messages"
    assert actions["zaqar.queue_pop"].input == "queue_name, count=1"
    assert actions["zaqar.delete_messages"].input == "queue_name, messages"
    for name in ("zaqar.queue_messages", "zaqar.claim_messages", "zaqar.queue_create",
                 "zaqar.queue_delete", "zaqar.queue_exists", "zaqar.queue_stats", "zaqar.queue_metadata"):
        assert name in actions
