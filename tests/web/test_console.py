"""The web console in a real headless Chromium against a real server: the
list, an execution's graph turning live, the start form, answering an
interactive workflow through its queue, pause and resume (the screenshots
in docs/img/ are taken by test_screenshots.py)."""
from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect


ROOT = Path(__file__).resolve().parents[2]
INTERACTIVE = (ROOT / "docs" / "interactive.md").read_text(encoding="utf-8")


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def ui(server, path: str = "/ui/") -> str:
    return server.url[: -len("/v2")] + path


def create_workflow(server, text: str) -> dict:
    r = httpx.post(f"{server.url}/workflows", content=text.encode(), headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    return r.json()["workflows"][0]


def start(server, name: str, given: dict | None = None) -> str:
    r = httpx.post(f"{server.url}/executions", json={"workflow_name": name, "input": json.dumps(given or {})})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def execution(server, exec_id: str) -> dict:
    r = httpx.get(f"{server.url}/executions/{exec_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_state(server, exec_id: str, want: str, timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    while True:
        ex = execution(server, exec_id)
        if ex["state"] == want:
            return ex
        assert time.time() < deadline, f"{exec_id} is {ex['state']}, not {want}"
        time.sleep(0.05)


def gated(name: str) -> str:
    """A workflow whose first task stays RUNNING until the test completes its
    action through the API, so the test decides when it turns to SUCCESS."""
    return f"""---
version: '2.0'
{name}:
  tasks:
    wait_for_gate:
      action: std.async_noop
      on-success: [build, check]
    build:
      action: std.echo output="built"
      on-success: ship
    check:
      with-items: n in <% [1, 2, 3] %>
      action: std.echo output=<% $.n %>
      on-success: ship
      on-error: alarm
    ship:
      join: all
      action: std.echo output="shipped"
      on-complete: tidy
    alarm:
      action: std.echo output="alarm"
    tidy:
      action: std.noop
"""


def open_gate(server, exec_id: str) -> None:
    """Complete the waiting std.async_noop action (as an outside tool would)."""
    tasks = httpx.get(f"{server.url}/executions/{exec_id}/tasks").json()["tasks"]
    (task,) = [t for t in tasks if t["name"] == "wait_for_gate"]
    deadline = time.time() + 30
    while True:
        actions = httpx.get(f"{server.url}/tasks/{task['id']}/action_executions").json()["action_executions"]
        if actions:
            break
        assert time.time() < deadline, "the async action did not start"
        time.sleep(0.05)
    r = httpx.put(f"{server.url}/action_executions/{actions[0]['id']}", json={"state": "SUCCESS", "output": '{"go": true}'})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- serving

def test_browser_gets_the_console_api_clients_get_the_versions(server):
    base = ui(server, "")
    r = httpx.get(base + "/", headers={"accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 302 and r.headers["location"] == "/ui/"
    r = httpx.get(base + "/", headers={"accept": "application/json"})
    assert r.json()["versions"][0]["id"] == "v2.0"
    assert httpx.get(base + "/").json()["versions"]             # curl's */* too
    page = httpx.get(base + "/ui/executions/anything")          # deep links load the page
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    # every asset the page loads is served by the server itself
    for asset in re.findall(r'(?:src|href)="(/ui/assets/[^"]+)"', page.text):
        r = httpx.get(base + asset)
        assert r.status_code == 200, asset
        assert r.headers["cache-control"] == "no-cache" and r.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(base + "/ui/assets/js/nothing.js").status_code == 404


def test_every_module_is_packaged_and_loads_only_local_files():
    static = ROOT / "levante" / "web" / "static"
    text = (ROOT / "pyproject.toml").read_text()
    for f in static.rglob("*"):
        if f.is_file():
            rel = f.relative_to(ROOT / "levante").as_posix()
            patterns = re.findall(r'"(web/static/[^"]+)"', text)
            assert any(Path(rel).match(p) for p in patterns), f"{rel} is not in package-data"
            if f.suffix in (".js", ".css", ".html"):
                body = f.read_text()
                assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", body), f"{rel} refers to the network"


# ---------------------------------------------------------------- executions

def test_list_then_graph_turns_live_from_running_to_success(server, page):
    name = unique("gated")
    create_workflow(server, gated(name))
    exec_id = start(server, name)
    page.goto(ui(server))
    row = page.locator(f"tr[data-id='{exec_id}']")
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text(re.compile("RUNNING"))
    expect(page.locator(".count[data-state='RUNNING'] .n")).to_have_text(re.compile(r"\d+"))

    row.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(f"/ui/executions/{exec_id}$"))
    node = page.locator("svg.graph g.node[data-task='wait_for_gate']")
    expect(node).to_have_attribute("data-state", "RUNNING")
    # edges of each kind are drawn and told apart; join and with-items are marked
    expect(page.locator("g.edge[data-kind='on-success']")).to_have_count(4)
    expect(page.locator("g.edge[data-kind='on-error']")).to_have_count(1)
    expect(page.locator("g.edge[data-kind='on-complete']")).to_have_count(1)
    expect(page.locator("g.node[data-task='ship'] .mark-join")).to_have_count(1)
    expect(page.locator("g.node[data-task='check'] .mark-items")).to_have_count(1)
    expect(node).to_have_attribute("aria-label", re.compile("RUNNING"))

    page.evaluate("window.__same_page = true")
    open_gate(server, exec_id)
    expect(node).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator("g.node[data-task='tidy']")).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("SUCCESS"))
    assert page.evaluate("window.__same_page") is True, "the page was reloaded, not updated live"

    # task details: choose a task in the graph with the keyboard
    page.locator("g.node[data-task='check']").focus()
    page.keyboard.press("Enter")
    detail = page.locator(".task-detail")
    expect(detail.locator("h2")).to_have_text("Task check")
    expect(detail).to_contain_text("3 of 3 done")
    expect(detail.locator("details.action")).to_have_count(3)
    expect(detail).to_contain_text("run 3 of 3")
    expect(page).to_have_url(re.compile(r"\?task="))
    timeline = page.locator(".tl-row")
    expect(timeline).to_have_count(5)       # alarm did not run


def test_the_list_shows_new_executions_and_their_end_without_a_reload(server, page):
    name = unique("gated")
    create_workflow(server, gated(name))
    page.goto(ui(server, f"/ui/?workflow={name}"))
    expect(page.locator(".empty")).to_contain_text("No executions match")
    page.evaluate("window.__same_page = true")
    exec_id = start(server, name)
    row = page.locator(f"tr[data-id='{exec_id}']")
    expect(row.locator(".badge")).to_have_text(re.compile("RUNNING"), timeout=15_000)
    expect(page.locator(".count[data-state='RUNNING'] .n")).to_have_text("1")
    open_gate(server, exec_id)
    expect(row.locator(".badge")).to_have_text(re.compile("SUCCESS"))
    expect(page.locator(".count[data-state='SUCCESS'] .n")).to_have_text("1")
    expect(page.locator(".count[data-state='RUNNING']")).to_have_count(0)
    assert page.evaluate("window.__same_page") is True


def test_a_failed_task_is_shown_with_its_retries_and_can_be_skipped(server, page):
    name = unique("failing")
    create_workflow(server, f"""---
version: '2.0'
{name}:
  tasks:
    fetch:
      action: std.fail error_data="upstream returned 503"
      retry:
        count: 2
        delay: 0
      on-success: report
    report:
      action: std.echo output="reported"
""")
    exec_id = start(server, name)
    wait_state(server, exec_id, "ERROR")
    page.goto(ui(server, f"/ui/executions/{exec_id}"))
    detail = page.locator(".task-detail")
    # the failed task is opened by itself, its error highlighted
    expect(detail.locator("h2")).to_have_text("Task fetch")
    expect(detail.locator(".alert.error")).to_contain_text("upstream returned 503")
    expect(detail.locator("details.action")).to_have_count(3)
    expect(detail).to_contain_text("attempt 3 of 3")
    detail.locator("details.action summary").first.click()
    expect(detail.locator("details.action").first).to_contain_text("upstream returned 503")
    page.once("dialog", lambda d: d.accept())
    detail.get_by_role("button", name=re.compile("Skip task")).click()
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("SUCCESS"))
    expect(page.locator("g.node[data-task='report']")).to_have_attribute("data-state", "SUCCESS")
    assert wait_state(server, exec_id, "SUCCESS")


def test_rerun_a_failed_task_after_fixing_its_cause(server, page):
    """interactive.md's recovery: the answer was missing, post it, rerun the task."""
    name, inbox = unique("needs_answer"), unique("inbox")
    create_workflow(server, f"""---
version: '2.0'
{name}:
  input:
    - inbox
  output:
    answer: <% $.answer %>
  tasks:
    read_answer:
      action: zaqar.queue_pop queue_name=<% $.inbox %>
      publish:
        answer: <% task().result[0].body %>
""")
    exec_id = start(server, name, {"inbox": inbox})
    wait_state(server, exec_id, "ERROR")
    page.goto(ui(server, f"/ui/executions/{exec_id}"))
    detail = page.locator(".task-detail")
    expect(detail.locator(".alert.error")).to_contain_text("read_answer")
    r = httpx.post(f"{server.url}/queues/{inbox}/messages", json={"messages": [{"body": "yes"}]})
    assert r.status_code == 201
    detail.get_by_role("button", name=re.compile("Rerun task")).click()
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("SUCCESS"))
    expect(page.locator("g.node[data-task='read_answer']")).to_have_attribute("data-state", "SUCCESS")
    expect(detail.locator("details.action")).to_have_count(2)      # the failed try and the rerun
    assert json.loads(execution(server, exec_id)["output"]) == {"answer": "yes"}


def test_parent_and_sub_executions_link_to_each_other(server, page):
    child, parent = unique("child"), unique("parent")
    create_workflow(server, f"""---
version: '2.0'
{child}:
  input:
    - n
  output:
    doubled: <% $.n * 2 %>
  tasks:
    noop:
      action: std.noop
""")
    create_workflow(server, f"""---
version: '2.0'
{parent}:
  tasks:
    call:
      workflow: {child} n=21
      publish:
        got: <% task().result.doubled %>
""")
    exec_id = start(server, parent)
    wait_state(server, exec_id, "SUCCESS")
    page.goto(ui(server, f"/ui/executions/{exec_id}"))
    expect(page.locator("g.node[data-task='call'] .node-sub")).to_contain_text(child)
    page.get_by_role("button", name="call", exact=True).first.click()
    detail = page.locator(".task-detail")
    expect(detail).to_contain_text('"got": 42')
    detail.get_by_role("link", name=re.compile(child)).click()
    expect(page.locator("h1")).to_contain_text(child)
    expect(page.locator(".facts")).to_contain_text(f"{parent} › call")
    page.get_by_role("link", name=f"{parent} › call").click()
    expect(page).to_have_url(re.compile(f"/ui/executions/{exec_id}\\?task="))
    expect(page.locator(".task-detail h2")).to_have_text("Task call")


def test_pause_and_resume_from_the_execution_page(server, page):
    name = unique("gated")
    create_workflow(server, gated(name))
    exec_id = start(server, name)
    page.goto(ui(server, f"/ui/executions/{exec_id}"))
    head = page.locator(".page-head .badge")
    expect(head).to_have_text(re.compile("RUNNING"))
    # with the keyboard: the focus stays on the controls as they change
    page.get_by_role("button", name=re.compile("Pause")).focus()
    page.keyboard.press("Enter")
    expect(head).to_have_text(re.compile("PAUSED"))
    assert execution(server, exec_id)["state"] == "PAUSED"
    resume = page.get_by_role("button", name=re.compile("Resume"))
    expect(resume).to_be_focused()
    page.keyboard.press("Enter")
    expect(head).to_have_text(re.compile("RUNNING"))
    expect(page.get_by_role("button", name=re.compile("Pause"))).to_be_visible()
    assert execution(server, exec_id)["state"] == "RUNNING"
    open_gate(server, exec_id)
    expect(head).to_have_text(re.compile("SUCCESS"))
    assert wait_state(server, exec_id, "SUCCESS")


# ---------------------------------------------------------------- start form

def test_start_an_execution_from_the_form_with_field_errors(server, page):
    name = unique("greet")
    wf = create_workflow(server, f"""---
version: '2.0'
{name}:
  description: Greets someone, a few times.
  input:
    - who
    - times: 2
    - loud: false
    - extra: {{"lang": "en"}}
  output:
    said: <% $.said %>
  tasks:
    say:
      action: std.echo output="hello <% $.who %> x<% $.times %> <% $.extra.lang %>"
      publish:
        said: <% task().result %>
""")
    page.goto(ui(server, f"/ui/workflows/{wf['id']}"))
    form = page.locator("form.start-form")
    expect(form.get_by_label("times")).to_have_value("2")          # defaults filled in
    expect(form.get_by_label("loud")).not_to_be_checked()
    expect(form).not_to_contain_text("null")
    expect(page.locator("pre.source .tok-key").first).to_be_visible()   # definition highlighted
    expect(page.locator("svg.graph g.node[data-task='say']")).to_be_visible()

    form.get_by_label("times").fill("two")
    form.get_by_role("button", name=re.compile("Start")).click()
    who_err = form.locator("[data-field='who'] .field-error")
    expect(who_err).to_contain_text("Required")
    expect(form.locator("[data-field='times'] .field-error")).to_contain_text("Not valid JSON")
    expect(form.get_by_label("who")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("who")).to_be_focused()

    form.get_by_label("who").fill("Ada")
    form.get_by_label("times").fill("3")
    form.get_by_label("loud").check()
    form.get_by_role("button", name=re.compile("Start")).click()
    expect(page).to_have_url(re.compile(r"/ui/executions/[0-9a-f-]{36}$"))
    exec_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("SUCCESS"))
    ex = execution(server, exec_id)
    assert json.loads(ex["input"]) == {"who": "Ada", "times": 3, "loud": True, "extra": {"lang": "en"}}
    assert json.loads(ex["output"]) == {"said": "hello Ada x3 en"}

    page.get_by_role("button", name=re.compile("Run again")).click()
    expect(page).not_to_have_url(re.compile(exec_id))
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("SUCCESS"))
    again = execution(server, page.url.rsplit("/", 1)[1])
    assert json.loads(again["input"]) == json.loads(ex["input"])
    assert exec_id in again["description"]


def test_a_reverse_workflow_starts_for_the_chosen_target_task(server, page):
    name = unique("rev")
    wf = create_workflow(server, f"""---
version: '2.0'
{name}:
  type: reverse
  tasks:
    fetch:
      action: std.echo output="fetched"
    build:
      action: std.echo output="built"
      requires: [fetch]
    publish:
      action: std.echo output="published"
      requires: [build]
""")
    page.goto(ui(server, f"/ui/workflows/{wf['id']}"))
    expect(page.locator("g.edge[data-kind='requires']")).to_have_count(2)
    page.get_by_label(re.compile("Target task")).select_option("build")
    page.get_by_role("button", name=re.compile("Start")).click()
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("SUCCESS"))
    exec_id = page.url.rsplit("/", 1)[1]
    assert json.loads(execution(server, exec_id)["params"])["task_name"] == "build"
    expect(page.locator("g.node[data-task='build']")).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator("g.node[data-task='publish']")).to_have_attribute("aria-label", "task publish, not started")


# ---------------------------------------------------------------- queues

def approve_change_example() -> str:
    m = re.search(r"<!--\s*example:\s*approve_change\s*-->\s*\n```yaml\n(.*?)^```", INTERACTIVE, re.S | re.M)
    return m.group(1)


def test_answer_the_interactive_workflow_from_the_browser(server, page):
    """docs/interactive.md's approval workflow, answered with the console only."""
    name, outbox = unique("approve_change"), unique("approvals")
    create_workflow(server, re.sub(r"(?m)^approve_change:", f"{name}:", approve_change_example(), count=1))
    exec_id = start(server, name, {"change": "restart the web tier", "outbox": outbox})
    wait_state(server, exec_id, "PAUSED")

    page.goto(ui(server, "/ui/queues"))
    page.get_by_role("link", name=outbox).click()
    question = page.locator("li.message").first
    expect(question).to_contain_text("May I restart the web tier?")
    question.get_by_role("link", name=re.compile("Answer in")).click()
    expect(page).to_have_url(re.compile(f"/ui/queues/answer-{exec_id}$"))
    body = page.get_by_label("Body")
    body.fill("")
    page.get_by_role("button", name=re.compile("Post")).click()
    expect(page.locator("#q-body-err")).to_contain_text("Required")
    body.fill('{"approved": true, "note": "from the browser"}')
    page.get_by_role("button", name=re.compile("Post")).click()
    expect(page.locator("li.message")).to_contain_text("from the browser")

    page.goto(ui(server, f"/ui/queues/{outbox}"))
    page.locator("li.message").first.get_by_role("link", name=re.compile("Open the execution")).click()
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("PAUSED"))
    expect(page.locator("g.node[data-task='read_answer'] .mark-pause")).to_have_count(1)
    page.get_by_role("button", name=re.compile("Resume")).click()
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("SUCCESS"))
    expect(page.locator("g.node[data-task='go_ahead']")).to_have_attribute("data-state", "SUCCESS")
    assert json.loads(execution(server, exec_id)["output"]) == {"approved": True, "note": "from the browser"}


# ---------------------------------------------------------------- other pages

def test_list_filters_triggers_environments_and_narrow_screen(server, page):
    name = unique("filtered")
    create_workflow(server, f"---\nversion: '2.0'\n{name}:\n  tasks:\n    one:\n      action: std.noop\n")
    exec_id = start(server, name)
    wait_state(server, exec_id, "SUCCESS")
    env = unique("env")
    assert httpx.post(f"{server.url}/environments", json={
        "name": env, "description": "staging", "variables": json.dumps({"region": "eu-1"})}).status_code == 201
    trig = unique("nightly")
    r = httpx.post(f"{server.url}/cron_triggers", json={"name": trig, "workflow_name": name, "pattern": "0 2 * * *"})
    assert r.status_code == 201, r.text

    page.goto(ui(server, f"/ui/?workflow={name}&state=SUCCESS&since=1h"))
    rows = page.locator("table.executions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", exec_id)
    page.get_by_label("State", exact=True).select_option("ERROR")
    expect(page).to_have_url(re.compile("state=ERROR"))
    expect(page.locator(".empty")).to_contain_text("No executions match")

    page.goto(ui(server, "/ui/triggers"))
    cron_row = page.locator("tr", has_text=trig)
    expect(cron_row).to_contain_text("02:00:00 UTC")
    expect(cron_row).to_contain_text("0 2 * * *")
    page.goto(ui(server, "/ui/environments"))
    page.get_by_role("link", name=env).click()
    expect(page.locator("pre.json")).to_contain_text('"region": "eu-1"')

    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(ui(server, "/ui/"))
        expect(page.locator("table.executions tbody tr").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px screen"
    finally:
        page.set_viewport_size({"width": 1280, "height": 860})


def test_the_list_shows_fifty_and_more_on_request(server, page):
    name = unique("many")
    create_workflow(server, f"---\nversion: '2.0'\n{name}:\n  tasks:\n    one:\n      action: std.noop\n")
    ids = [start(server, name) for _ in range(52)]
    page.goto(ui(server, f"/ui/?workflow={name}"))
    rows = page.locator("table.executions tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_have_attribute("data-id", ids[-1])          # newest first
    page.get_by_role("button", name="Show 50 more").click()
    expect(rows).to_have_count(52)
    expect(rows.last).to_have_attribute("data-id", ids[0])


def test_unknown_pages_and_executions_say_so(server, page):
    page.goto(ui(server, "/ui/nowhere"))
    expect(page.locator("h1")).to_have_text("Page not found")
    page.goto(ui(server, f"/ui/executions/{uuid.uuid4()}"))
    expect(page.locator(".alert.error")).to_contain_text("WorkflowExecution not found")
    page.problems.clear()   # the 404 answer is what this test asks for


# ---------------------------------------------------------------- signing in

class TokenGate:
    """A reverse proxy in front of the server that wants ``X-Auth-Token`` on
    /v2 requests, as a server with token authentication does (401 otherwise)."""

    TOKEN = "s3cret-token"

    def __init__(self, backend: str):
        import http.server
        import threading

        gate = self
        self.backend = backend
        self.tokens_seen: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                token = self.headers.get("x-auth-token")
                if self.path.startswith("/v2"):
                    if token:
                        gate.tokens_seen.append(token)
                    if token != gate.TOKEN:
                        data = json.dumps({"faultcode": "Client", "faultstring": "The request you have made "
                                           "requires authentication.", "debuginfo": None}).encode()
                        self.send_response(401)
                        self.send_header("content-type", "application/json")
                        self.send_header("content-length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("accept", "content-type", "x-auth-token")}
                with httpx.stream(self.command, gate.backend + self.path, content=body, headers=headers,
                                  timeout=30, follow_redirects=False) as r:
                    self.send_response(r.status_code)
                    for k, v in r.headers.items():
                        if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                            self.send_header(k, v)
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    for chunk in r.iter_raw():
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_sign_in_with_a_token_when_the_api_answers_401(fresh_server, page):
    fresh_server.start()
    name = unique("gated")
    create_workflow(fresh_server, gated(name))
    exec_id = start(fresh_server, name)
    gate = TokenGate(ui(fresh_server, ""))
    try:
        page.goto(gate.url + "/ui/")
        expect(page.locator("h1")).to_have_text("Sign in")
        expect(page.locator("form.signin")).to_contain_text("requires authentication")
        page.get_by_label("Access token").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("form.signin")).to_contain_text("did not accept")
        page.get_by_label("Access token").fill(TokenGate.TOKEN)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(f"tr[data-id='{exec_id}']")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('levante.token')") == TokenGate.TOKEN
        # the token goes with every API call, the event stream included
        page.get_by_role("link", name=name).click()
        node = page.locator("g.node[data-task='wait_for_gate']")
        expect(node).to_have_attribute("data-state", "RUNNING")
        expect(page.locator(".live")).to_contain_text("Live")
        open_gate(fresh_server, exec_id)
        expect(node).to_have_attribute("data-state", "SUCCESS")
        expect(page.locator(".page-head .badge")).to_have_text(re.compile("SUCCESS"))
        assert set(gate.tokens_seen) == {"wrong", TokenGate.TOKEN}
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("h1")).to_have_text("Sign in")
        assert page.evaluate("sessionStorage.getItem('levante.token')") is None
    finally:
        gate.close()
        # the browser reports each 401 answer as a failed load: that is the point here
        page.problems[:] = [p for p in page.problems if "401" not in p]


def test_workbook_action_and_queue_list_pages(server, page):
    wb = unique("ops")
    r = httpx.post(f"{server.url}/workbooks", content=f"""---
version: '2.0'
name: {wb}
actions:
  greet:
    base: std.echo
    base-input:
      output: "hello <% $.who %>"
    input:
      - who
workflows:
  main:
    tasks:
      one:
        action: {wb}.greet who=ann
        on-success: two
      two:
        action: std.noop
""".encode(), headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    page.goto(ui(server, "/ui/workbooks"))
    page.get_by_role("link", name=wb).click()
    expect(page.locator("h1")).to_have_text(wb)
    expect(page.locator("svg.graph g.node[data-task='one'] .node-sub")).to_have_text(f"{wb}.greet")
    page.get_by_role("link", name=f"{wb}.main").click()
    expect(page.locator("h1")).to_have_text(f"{wb}.main")
    expect(page.locator("svg.graph g.edge[data-kind='on-success']")).to_have_count(1)

    page.goto(ui(server, "/ui/actions"))
    page.get_by_label("Filter by name").fill(f"{wb}.gr")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    page.get_by_role("link", name=f"{wb}.greet").click()
    expect(page.locator("dl.facts")).to_contain_text("who")
    expect(page.locator("pre.source")).to_contain_text("base: std.echo")
    page.goto(ui(server, "/ui/actions/std.echo"))
    expect(page.locator(".page-head .tag")).to_have_text("built-in")

    queue = unique("q")
    assert httpx.post(f"{server.url}/queues/{queue}/messages",
                      json={"messages": [{"body": {"n": 1}}, {"body": "two"}]}).status_code == 201
    page.goto(ui(server, "/ui/queues"))
    expect(page.locator(f"tr[data-queue='{queue}']")).to_contain_text("2")
    page.get_by_role("link", name=queue).click()
    expect(page.locator("li.message")).to_have_count(2)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Take the oldest message").click()
    expect(page.locator("li.message")).to_have_count(1)
    expect(page.locator("li.message")).to_contain_text("two")
