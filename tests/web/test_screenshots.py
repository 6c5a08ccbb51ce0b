"""The screenshots of docs/console.md and the README, taken on a server of
their own with a few realistic workflows (running, paused, failed,
finished), so that they show what a person would see. Each shot also checks
what it shows."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import Server
from tests.web.conftest import shoot
from tests.web.test_console import approve_change_example

DEPLOY = """---
version: '2.0'

deploy:
  description: Build, test and lint in parallel, then release to every region.
  input:
    - version
    - regions: ["eu-1", "us-2"]
    - dry_run: false
  output:
    released: <% $.released %>
  tasks:
    build:
      action: std.echo output="built <% $.version %>"
      on-success: [unit_tests, lint]
    unit_tests:
      action: std.async_noop
      on-success: release
      on-error: page_someone
    lint:
      action: std.echo output="clean"
      on-success: release
    release:
      join: all
      with-items: region in <% $.regions %>
      action: std.echo output="<% $.version %> in <% $.region %>"
      publish:
        released: <% task().result %>
      on-complete: announce
    announce:
      action: std.echo output="released <% $.version %>"
    page_someone:
      action: std.echo output="tests failed for <% $.version %>"
"""

FLAKY = """---
version: '2.0'

fetch_prices:
  tasks:
    fetch:
      action: std.fail error_data="upstream answered 503 Service Unavailable"
      retry:
        count: 2
        delay: 0
      on-success: store
    store:
      action: std.echo output="stored"
"""

BACKUP = """---
version: '2.0'

nightly_backup:
  input:
    - keep_days: 14
  tasks:
    snapshot:
      action: std.echo output="snapshot taken"
      on-success: prune
    prune:
      action: std.echo output="pruned backups older than <% $.keep_days %> days"
"""


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("console-tour")).start()
    api = srv.url
    for text in (DEPLOY, FLAKY, BACKUP, approve_change_example()):
        r = httpx.post(f"{api}/workflows", content=text.encode(), headers={"content-type": "text/plain"})
        assert r.status_code == 201, r.text

    def run(name, given=None):
        r = httpx.post(f"{api}/executions", json={"workflow_name": name, "input": json.dumps(given or {})})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    ids = {
        "backup": run("nightly_backup"),
        "deploy_done": run("deploy", {"version": "1.4.1"}),
        "flaky": run("fetch_prices"),
        "approve": run("approve_change", {"change": "restart the web tier"}),
    }
    finish_async(api, ids["deploy_done"], "unit_tests")
    ids["deploy"] = run("deploy", {"version": "1.4.2"})
    wait(api, ids["approve"], "PAUSED")
    wait(api, ids["flaky"], "ERROR")
    wait(api, ids["deploy_done"], "SUCCESS")
    assert httpx.post(f"{api}/environments", json={
        "name": "staging", "description": "The staging cloud",
        "variables": json.dumps({"region": "eu-1", "endpoint": "https://staging.example.com"})}).status_code == 201
    assert httpx.post(f"{api}/cron_triggers", json={
        "name": "nightly", "workflow_name": "nightly_backup", "pattern": "0 2 * * *"}).status_code == 201
    assert httpx.post(f"{api}/event_triggers", json={
        "name": "backup_after_deploy", "workflow_id": "nightly_backup", "exchange": "levante",
        "topic": "executions.deploy", "event": "WORKFLOW_SUCCEEDED"}).status_code == 201
    srv.ids = ids
    yield srv
    srv.stop()


def wait(api, exec_id, state, timeout=30):
    deadline = time.time() + timeout
    while httpx.get(f"{api}/executions/{exec_id}").json()["state"] != state:
        assert time.time() < deadline, f"{exec_id} never got to {state}"
        time.sleep(0.05)


def finish_async(api, exec_id, task_name):
    deadline = time.time() + 30
    while True:
        tasks = httpx.get(f"{api}/executions/{exec_id}/tasks").json()["tasks"]
        task = next((t for t in tasks if t["name"] == task_name), None)
        acts = httpx.get(f"{api}/tasks/{task['id']}/action_executions").json()["action_executions"] if task else []
        if acts:
            break
        assert time.time() < deadline
        time.sleep(0.05)
    r = httpx.put(f"{api}/action_executions/{acts[0]['id']}", json={"state": "SUCCESS", "output": '{"status": "all green"}'})
    assert r.status_code == 200, r.text


def base(srv, path):
    return srv.url[: -len("/v2")] + path


def test_screenshots_of_the_main_pages(tour, page):
    ids = tour.ids
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(base(tour, "/ui/"))
    expect(page.locator("table.executions tbody tr")).to_have_count(5)
    for state, n in (("RUNNING", 1), ("PAUSED", 1), ("ERROR", 1), ("SUCCESS", 2)):
        expect(page.locator(f".count[data-state='{state}'] .n")).to_have_text(str(n))
    shoot(page, "executions", full_page=False)

    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(base(tour, f"/ui/executions/{ids['deploy']}"))
    expect(page.locator("g.node[data-task='unit_tests']")).to_have_attribute("data-state", "RUNNING")
    expect(page.locator("g.node[data-task='lint']")).to_have_attribute("data-state", "SUCCESS")
    page.locator("g.node[data-task='unit_tests']").click()
    expect(page.locator(".task-detail details.action")).to_have_count(1)
    shoot(page, "execution")

    page.goto(base(tour, f"/ui/executions/{ids['flaky']}"))
    expect(page.locator(".task-detail")).to_contain_text("attempt 3 of 3")
    page.locator(".task-detail details.action summary").last.click()
    expect(page.locator(".task-detail .action-body").last).to_contain_text("503")
    shoot(page, "failed-task")

    page.goto(base(tour, "/ui/workflows"))
    page.get_by_role("link", name="deploy", exact=True).click()
    expect(page.locator("form.start-form").get_by_label("regions")).to_have_value(re.compile("eu-1"))
    shoot(page, "workflow")

    page.goto(base(tour, "/ui/queues/approvals"))
    expect(page.locator("li.message")).to_contain_text("May I restart the web tier?")
    shoot(page, "queue")

    page.goto(base(tour, "/ui/triggers"))
    expect(page.locator("tr", has_text="nightly_backup").first).to_contain_text("02:00:00 UTC")
    shoot(page, "triggers", full_page=False)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base(tour, f"/ui/executions/{ids['deploy']}"))
    expect(page.locator("g.node[data-task='unit_tests']")).to_have_attribute("data-state", "RUNNING")
    shoot(page, "narrow", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 860})
    finish_async(tour.url, ids["deploy"], "unit_tests")
    wait(tour.url, ids["deploy"], "SUCCESS")
    for shot in ("executions", "execution", "failed-task", "workflow", "queue", "triggers", "narrow"):
        assert (Path(__file__).resolve().parents[2] / "docs" / "img" / f"{shot}.png").stat().st_size > 10_000
