"""Unit tests of the levante CLI: parser, formatters, client (fake transport).

No server is involved: requests go to an ``httpx.MockTransport`` that
records them and answers with canned Mistral-shaped bodies.
"""

from __future__ import annotations

import datetime
import io
import json
import sys
import types
import urllib.parse

import httpx
import pytest

from levante import __version__
from levante.cli import base, main as cli_main, output
from levante.cli.client import APIError, Client, ConnectionFailed, error_message

WF_ID = "bdc67aa4-8800-42d6-a360-3ff9194fe406"
EX_ID = "e2489c91-eea4-462f-a9ff-1100e31b8da7"
TASK_ID = "5b0b7d7c-1c1c-4a44-9a1b-0e3f6f0c2f11"


class FakeAPI:
    """Routes (METHOD, path) to canned (status, body); records requests."""

    def __init__(self, routes=None):
        self.routes = dict(routes or {})
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        if key not in self.routes:
            return httpx.Response(404, text="<html><title>404 Not Found</title></html>",
                                  headers={"content-type": "text/html"})
        status, body = self.routes[key]
        if body is None:
            return httpx.Response(status)
        return httpx.Response(status, json=body)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def query(self, request=None):
        request = request or self.last
        return urllib.parse.parse_qsl(request.url.query.decode(), keep_blank_values=True)

    def body(self, request=None):
        return json.loads((request or self.last).content)


def run(argv, api=None, transport=None):
    out, err = io.StringIO(), io.StringIO()
    if transport is None:
        transport = httpx.MockTransport(api or FakeAPI())
    rc = cli_main.main(["--url", "http://api.test/v2"] + list(argv),
                       stdout=out, stderr=err, transport=transport)
    return rc, out.getvalue(), err.getvalue()


WORKFLOW = {
    "id": WF_ID, "name": "hello_world", "namespace": "", "input": "",
    "interface": {"input": [], "output": []}, "definition": "---\nversion: '2.0'\n",
    "checksum": "x", "tags": [], "scope": "private",
    "project_id": "<default-project>", "created_at": "2026-11-27 09:29:22",
}

EXECUTION = {
    "id": EX_ID, "workflow_id": WF_ID, "workflow_name": "hello_world",
    "workflow_namespace": "", "description": "", "tags": [], "params": "{\"namespace\": \"\", \"env\": {}}",
    "task_execution_id": None, "root_execution_id": None, "state": "SUCCESS",
    "state_info": None, "project_id": "<default-project>",
    "created_at": "2026-11-27 09:29:23", "updated_at": "2026-11-27 09:29:23",
    "input": "{}", "output": "{\"out\": \"Hello Workflow!\"}", "published_global": "{}",
}

# Verbatim output of the real `mistral` CLI (hello_session.txt).
WORKFLOW_CREATE_TABLE = """\
+--------------------------------------+-------------+-----------+-------------------+--------+-------+---------+---------------------+------------+
| ID                                   | Name        | Namespace | Project ID        | Tags   | Input | Scope   | Created at          | Updated at |
+--------------------------------------+-------------+-----------+-------------------+--------+-------+---------+---------------------+------------+
| bdc67aa4-8800-42d6-a360-3ff9194fe406 | hello_world |           | <default-project> | <none> |       | private | 2026-11-27 09:29:22 | None       |
+--------------------------------------+-------------+-----------+-------------------+--------+-------+---------+---------------------+------------+
"""

EXECUTION_GET_TABLE = """\
+--------------------+--------------------------------------+
| Field              | Value                                |
+--------------------+--------------------------------------+
| ID                 | e2489c91-eea4-462f-a9ff-1100e31b8da7 |
| Workflow ID        | bdc67aa4-8800-42d6-a360-3ff9194fe406 |
| Workflow name      | hello_world                          |
| Workflow namespace |                                      |
| Description        |                                      |
| Task Execution ID  | <none>                               |
| Root Execution ID  | <none>                               |
| State              | SUCCESS                              |
| State info         | None                                 |
| Created at         | 2026-11-27 09:29:23                  |
| Updated at         | 2026-11-27 09:29:23                  |
| Duration           | 0:00:00                              |
+--------------------+--------------------------------------+
"""


# ---------------------------------------------------------------- formatters


def test_render_table_basic_shapes():
    text = output.render_table(["A", "Bee"], [["line1\nline22", 5], [None, True]])
    assert text == (
        "+--------+------+\n"
        "| A      |  Bee |\n"
        "+--------+------+\n"
        "| line1  |    5 |\n"
        "| line22 |      |\n"
        "| None   | True |\n"
        "+--------+------+"
    )


def test_render_table_wide_chars():
    text = output.render_table(["Field", "Value"], [["x", "日本"]], aligns=["l", "l"])
    assert "| x     | 日本  |" in text


@pytest.mark.parametrize("rows", [
    [["a", 1, None], ["bbbbbb", 22, True]],
    [["multi\nline\ncell", "x", 3.5], ["", "", 0]],
    [["", "", ""]],
    [[False, "<none>", "0:00:01..."]],
])
def test_render_table_matches_prettytable_like_cliff(rows):
    import prettytable
    headers = ["Col A", "B", "Created at"]
    ref = prettytable.PrettyTable(headers)
    ref.padding_width = 1
    for value, name in zip(rows[0], headers):
        ref.align[name] = {int: "r", float: "r", str: "l"}.get(type(value), "l")
    for row in rows:
        ref.add_row(row)
    assert output.render_table(headers, rows) == ref.get_string()


def test_emit_one_formats():
    rec = output.Record(["ID", "State info", "Accepted"], ("x1", None, True))
    buf = io.StringIO()
    output.emit_one(rec, "json", buf)
    assert json.loads(buf.getvalue()) == {"ID": "x1", "State info": None, "Accepted": True}
    buf = io.StringIO()
    output.emit_one(rec, "value", buf)
    assert buf.getvalue() == "x1\nNone\nTrue\n"
    buf = io.StringIO()
    output.emit_one(rec, "shell", buf, prefix="p_")
    assert buf.getvalue() == 'p_id="x1"\np_state_info="None"\np_accepted="True"\n'
    buf = io.StringIO()
    output.emit_one(rec, "yaml", buf)
    assert buf.getvalue() == "ID: x1\nState info: null\nAccepted: true\n"
    buf = io.StringIO()
    output.emit_one(rec, "table", buf, columns=["state_info", "ID"])
    assert buf.getvalue().splitlines()[3:5] == ["| ID         | x1    |", "| State info | None  |"]


def test_emit_list_formats_and_selection():
    lst = output.Listing(["ID", "Name"], [("2", "b"), ("1", "a")])
    buf = io.StringIO()
    output.emit_list(lst, "value", buf, columns=["name"])
    assert buf.getvalue() == "b\na\n"
    buf = io.StringIO()
    output.emit_list(lst, "json", buf, sort_columns=["ID"])
    assert json.loads(buf.getvalue()) == [{"ID": "1", "Name": "a"}, {"ID": "2", "Name": "b"}]
    buf = io.StringIO()
    output.emit_list(lst, "yaml", buf)
    assert buf.getvalue() == "- ID: '2'\n  Name: b\n- ID: '1'\n  Name: a\n"
    buf = io.StringIO()
    output.emit_list(lst, "csv", buf, sort_columns=["Name"], sort_descending=True)
    assert buf.getvalue().splitlines() == ['"ID","Name"', '"2","b"', '"1","a"']
    with pytest.raises(output.OutputError, match="No recognized column names"):
        output.emit_list(lst, "table", io.StringIO(), columns=["nope"])


@pytest.mark.parametrize("value,expected", [
    ('{"out": "Hello Workflow!"}', '{\n    "out": "Hello Workflow!"\n}\n'),
    ("{}", "{}\n"),
    ('"Hello, World!"', '"Hello, World!"\n'),
    ("not json", "not json"),
    (None, "\n"),
    ("", "\n"),
    ({"a": 1}, '{\n    "a": 1\n}\n'),
])
def test_pretty_json_text(value, expected):
    assert output.pretty_json_text(value) == expected


def test_value_helpers():
    assert base.cut("x" * 30) == "x" * 25 + "..."
    assert base.cut("short") == "short"
    assert base.cut(None) is None
    assert base.tags_str([]) == "<none>"
    assert base.tags_str(None) == "<none>"
    assert base.tags_str(["a", "b"]) == "a, b"
    assert "\n" in base.tags_str(["tag-number-%d" % i for i in range(4)])


def test_duration_str():
    assert base.duration_str("2026-11-27 09:29:23", "2026-11-27 09:30:24") == "0:01:01"
    assert base.duration_str("", None) == ""
    now = datetime.datetime(2026, 11, 27, 9, 29, 24)
    assert base.duration_str("2026-11-27 09:29:23", None, now=now) == "..."
    now = datetime.datetime(2026, 11, 27, 9, 31, 0, 5000)
    assert base.duration_str("2026-11-27 09:29:23", "", now=now) == "0:01:37..."
    assert base.duration_str("2026-11-27T09:29:23.000000", "2026-11-27 09:29:25") == "0:00:02"


# ---------------------------------------------------------------- inputs


def test_load_json_file_string_and_error(tmp_path):
    path = tmp_path / "in.json"
    path.write_text('{"name": "World"}')
    assert base.load_json(str(path)) == {"name": "World"}
    ypath = tmp_path / "in.yaml"
    ypath.write_text("name: World\n")
    assert base.load_json(str(ypath)) == {"name": "World"}
    assert base.load_json('{"a": [1]}') == {"a": [1]}
    with pytest.raises(base.CLIError, match="neither a readable file nor valid JSON"):
        base.load_json("{bad")


def test_load_env(tmp_path):
    assert base.load_env(None) == {}
    assert base.load_env('{"k": "v"}') == {"k": "v"}
    assert base.load_env("k: v") == {"k": "v"}
    path = tmp_path / "env.yaml"
    path.write_text("k: 1\n")
    assert base.load_env(str(path)) == {"k": 1}


def test_get_filters():
    ns = types.SimpleNamespace(filters=["state=ERROR", "workflow_name=x"])
    assert base.get_filters(ns) == {"state": "ERROR", "workflow_name": "x"}
    with pytest.raises(base.CLIError):
        base.get_filters(types.SimpleNamespace(filters=["bad"]))


# ---------------------------------------------------------------- parser


def test_version(capsys):
    assert cli_main.main(["--version"]) == 0
    assert capsys.readouterr().out == "levante %s\n" % __version__


def test_every_command_has_a_parser():
    parser = cli_main.build_parser()
    names = set(parser._subparsers._group_actions[0].choices)
    expected = {
        "workflow-create", "workflow-update", "workflow-list", "workflow-get",
        "workflow-get-definition", "workflow-delete", "workflow-validate",
        "workbook-create", "workbook-update", "workbook-list", "workbook-get",
        "workbook-get-definition", "workbook-delete", "workbook-validate",
        "execution-create", "execution-list", "execution-get",
        "execution-get-input", "execution-get-output", "execution-update",
        "execution-delete", "task-list", "task-get", "task-get-result",
        "task-get-published", "task-rerun", "action-list", "action-get",
        "action-create", "action-update", "action-delete", "action-validate",
        "run-action", "action-execution-list", "action-execution-get",
        "action-execution-get-input", "action-execution-get-output",
        "action-execution-update", "action-execution-delete",
        "environment-create", "environment-update", "environment-list",
        "environment-get", "environment-delete", "server",
    }
    assert expected <= names


def test_parser_options_like_mistral():
    parser = cli_main.build_parser()
    args = parser.parse_args(["execution-create", "wf", '{"a": 1}', '{"env": {}}',
                              "-d", "desc", "--namespace", "ns", "-f", "json"])
    assert (args.workflow_identifier, args.workflow_input, args.params) == (
        "wf", '{"a": 1}', '{"env": {}}')
    assert (args.description, args.namespace, args.formatter) == ("desc", "ns", "json")
    args = parser.parse_args(["execution-list"])
    assert (args.limit, args.sort_keys, args.sort_dirs, args.marker) == (100, "created_at", "asc", "")
    args = parser.parse_args(["workflow-list"])
    assert args.limit is None
    args = parser.parse_args(["run-action", "std.echo", "{}", "-s", "--run-sync", "-t", "x"])
    assert (args.save_result, args.run_sync, args.target) == (True, True, "x")
    args = parser.parse_args(["-f", "value", "-c", "ID", "task-get", "t"])
    assert args.formatter == "value" and args.columns == ["ID"]
    args = parser.parse_args(["--url", "http://a/v2", "task-get", "t", "--url", "http://b/v2"])
    assert args.url == "http://b/v2"


def test_bad_format_for_list_is_usage_error(capsys):
    assert cli_main.main(["execution-list", "-f", "shell"]) == 2


def test_server_is_delegated_lazily(monkeypatch):
    calls = []
    fake = types.ModuleType("levante.cli.server")
    fake.run_server = lambda argv: calls.append(argv) or 7
    monkeypatch.setitem(sys.modules, "levante.cli.server", fake)
    assert cli_main.main(["server", "--port", "9000", "--workers", "2"]) == 7
    assert calls == [["--port", "9000", "--workers", "2"]]


def test_client_modules_do_not_import_server_stack():
    import subprocess
    code = ("import sys, levante.cli.main; "
            "bad = [m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'levante.cli.server') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


# ---------------------------------------------------------------- client


def test_client_url_resolution(monkeypatch):
    monkeypatch.delenv("LEVANTE_URL", raising=False)
    assert Client().base_url == "http://127.0.0.1:8989/v2"
    monkeypatch.setenv("LEVANTE_URL", "http://h:1/v2/")
    assert Client().base_url == "http://h:1/v2"
    assert Client("http://x/v2").base_url == "http://x/v2"


def test_client_raises_faultstring():
    api = FakeAPI({("GET", "/v2/executions/nope"): (
        404, {"faultcode": "Client", "faultstring": "WorkflowExecution not found [id=nope]",
              "debuginfo": None})})
    client = Client("http://api.test/v2", transport=httpx.MockTransport(api))
    with pytest.raises(APIError) as info:
        client.get("/executions/nope")
    assert info.value.status_code == 404
    assert info.value.message == "WorkflowExecution not found [id=nope]"


def test_error_message_variants():
    req = httpx.Request("GET", "http://x/v2/y")
    assert error_message(httpx.Response(400, json={"faultstring": "bad"}, request=req)) == "bad"
    assert error_message(httpx.Response(422, json={"detail": "nope"}, request=req)) == "nope"
    assert error_message(httpx.Response(
        404, text="<html><head><title>404 Not Found</title></head><body>x</body></html>",
        request=req)) == "404 Not Found"
    assert error_message(httpx.Response(500, request=req)) == "HTTP 500 Internal Server Error"
    assert error_message(httpx.Response(
        400, headers={"Server-Error-Message": "hdr"}, request=req)) == "hdr"


def test_connection_error_is_clean():
    def refuse(request):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    rc, out, err = run(["workflow-list"], transport=httpx.MockTransport(refuse))
    assert rc == 1 and out == ""
    assert err.startswith("ERROR: Unable to connect to the Levante API at http://api.test/v2")
    with pytest.raises(ConnectionFailed):
        Client("http://api.test/v2", transport=httpx.MockTransport(refuse)).get("/workflows")


# ---------------------------------------------------------------- commands


def test_workflow_create_request_and_table(tmp_path):
    definition = "---\nversion: '2.0'\nhello_world:\n  tasks: {}\n"
    path = tmp_path / "wf.yaml"
    path.write_text(definition)
    api = FakeAPI({("POST", "/v2/workflows"): (201, {"workflows": [WORKFLOW]})})
    rc, out, err = run(["workflow-create", str(path)], api)
    assert (rc, err) == (0, "")
    assert out == WORKFLOW_CREATE_TABLE
    req = api.last
    assert req.url.query.decode() == "scope=private&namespace="
    assert req.headers["content-type"] == "text/plain"
    assert req.content.decode() == definition


def test_workflow_create_public_namespace_and_missing_file(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text("x")
    api = FakeAPI({("POST", "/v2/workflows"): (201, {"workflows": [WORKFLOW]})})
    assert run(["workflow-create", str(path), "--public", "--namespace", "ns1"], api)[0] == 0
    assert api.query() == [("scope", "public"), ("namespace", "ns1")]
    rc, out, err = run(["workflow-create", str(tmp_path / "missing.yaml")], api)
    assert rc == 1 and err.startswith("ERROR: can't open")


def test_workflow_update_and_get_definition(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text("x")
    api = FakeAPI({
        ("PUT", "/v2/workflows"): (200, {"workflows": [dict(WORKFLOW, updated_at="2026-11-27 10:00:00")]}),
        ("GET", "/v2/workflows/hello_world"): (200, dict(WORKFLOW, updated_at=None)),
    })
    rc, out, _ = run(["workflow-update", str(path)], api)
    assert rc == 0 and "2026-11-27 10:00:00" in out
    assert api.last.url.query.decode() == "namespace=&scope=private"
    rc, out, _ = run(["workflow-get-definition", "hello_world"], api)
    assert out == WORKFLOW["definition"]
    rc, out, _ = run(["workflow-get", "hello_world", "-f", "value", "-c", "Name", "-c", "Tags"], api)
    assert out == "hello_world\n<none>\n"


def test_workflow_list_query_and_empty_list():
    api = FakeAPI({("GET", "/v2/workflows"): (200, {"workflows": []})})
    rc, out, _ = run(["workflow-list"], api)
    assert rc == 0
    assert api.query() == [
        ("sort_keys", "created_at"), ("sort_dirs", "asc"),
        ("fields", "id,name,namespace,project_id,tags,input,scope,created_at,updated_at")]
    lines = out.splitlines()
    assert lines[1].startswith("| ID | Name | Namespace | Project ID |")
    assert lines[3] == "|    |      |           |            |      |       |       |            |            |"


def test_workflow_list_cuts_input():
    wf = dict(WORKFLOW, input="a_really_long_input_name, another_one", tags=["demo"])
    api = FakeAPI({("GET", "/v2/workflows"): (200, {"workflows": [wf]})})
    rc, out, _ = run(["workflow-list", "-f", "json"], api)
    row = json.loads(out)[0]
    assert row["Input"] == "a_really_long_input_name,..."
    assert row["Tags"] == "demo"


def test_workflow_delete_many_with_failure():
    api = FakeAPI({
        ("DELETE", "/v2/workflows/a"): (204, None),
        ("DELETE", "/v2/workflows/b"): (404, {"faultstring": "Workflow not found [workflow_identifier=b]"}),
    })
    rc, out, err = run(["workflow-delete", "a", "b"], api)
    assert rc == 1
    assert out == "Request to delete workflow a has been accepted.\n"
    assert err == ("Workflow not found [workflow_identifier=b]\n"
                   "ERROR: Unable to delete the specified workflow(s).\n")


def test_workflow_validate(tmp_path):
    api = FakeAPI({("POST", "/v2/workflows/validate"): (200, {"valid": False, "error": "boom"})})
    path = tmp_path / "wf.yaml"
    path.write_text("x: 1\n")
    rc, out, _ = run(["workflow-validate", str(path), "-f", "json"], api)
    assert json.loads(out) == {"Valid": False, "Error": "boom"}


def test_execution_get_table_matches_mistral():
    api = FakeAPI({("GET", "/v2/executions/%s" % EX_ID): (200, EXECUTION)})
    rc, out, err = run(["execution-get", EX_ID], api)
    assert (rc, err) == (0, "")
    assert out == EXECUTION_GET_TABLE


def test_execution_get_output_and_input():
    api = FakeAPI({("GET", "/v2/executions/%s" % EX_ID): (200, EXECUTION)})
    assert run(["execution-get-output", EX_ID], api)[1] == '{\n    "out": "Hello Workflow!"\n}\n'
    assert run(["execution-get-input", EX_ID], api)[1] == "{}\n"
    assert run(["execution-get-published", EX_ID], api)[1] == "{}\n"


def test_execution_create_body(tmp_path):
    api = FakeAPI({("POST", "/v2/executions"): (201, dict(EXECUTION, state="RUNNING"))})
    rc, out, _ = run(["execution-create", "hello_world", '{"name": "World"}', "-d", "first run"], api)
    assert rc == 0 and "| State              | RUNNING" in out
    assert api.body() == {"description": "first run", "workflow_name": "hello_world",
                          "input": '{"name": "World"}'}
    assert api.last.headers["content-type"] == "application/json"

    params = tmp_path / "params.json"
    params.write_text('{"env": {"k": "v"}}')
    run(["execution-create", WF_ID, "{}", str(params), "--namespace", "ns"], api)
    assert api.body() == {"description": "", "workflow_id": WF_ID,
                          "workflow_namespace": "ns",
                          "params": '{"env": {"k": "v"}}'}

    run(["execution-create", "-s", EX_ID], api)
    assert api.body() == {"description": "", "source_execution_id": EX_ID}

    rc, _, err = run(["execution-create"], api)
    assert rc == 1 and "workflow_identifier" in err


def test_execution_create_error_faultstring():
    api = FakeAPI({("POST", "/v2/executions"): (404, {
        "faultcode": "Client", "debuginfo": None,
        "faultstring": "Workflow not found [workflow_identifier=no_such_workflow, namespace=]"})})
    rc, out, err = run(["execution-create", "no_such_workflow"], api)
    assert rc == 1 and out == ""
    assert err == "ERROR: Workflow not found [workflow_identifier=no_such_workflow, namespace=]\n"


def test_execution_list_newest_first_reversed():
    older = dict(EXECUTION, id="1", created_at="2026-11-27 09:00:00")
    newer = dict(EXECUTION, id="2", created_at="2026-11-27 10:00:00")
    api = FakeAPI({("GET", "/v2/executions"): (200, {"executions": [newer, older]})})
    rc, out, _ = run(["execution-list", "-f", "value", "-c", "ID"], api)
    assert out == "1\n2\n"
    assert api.query() == [
        ("limit", "100"), ("sort_keys", "created_at"), ("sort_dirs", "desc"),
        ("fields", "id,workflow_id,workflow_name,workflow_namespace,description,"
                   "task_execution_id,root_execution_id,state,state_info,"
                   "created_at,updated_at")]
    run(["execution-list", "--oldest", "--limit", "5", "--filter", "state=ERROR",
         "--task", "t1", "--rootsonly"], api)
    q = api.query()
    assert ("sort_dirs", "asc") in q and ("limit", "5") in q
    assert ("state", "ERROR") in q and ("task_execution_id", "t1") in q
    assert ("nulls", "root_execution_id") in q


def test_execution_list_cuts_state_info():
    ex = dict(EXECUTION, state="ERROR", state_info="Failure caused by error in tasks: boom\n\n  x")
    api = FakeAPI({("GET", "/v2/executions"): (200, {"executions": [ex]})})
    rc, out, _ = run(["execution-list", "-f", "json"], api)
    assert json.loads(out)[0]["State info"] == "Failure caused by error i..."


def test_execution_update_and_delete(tmp_path):
    api = FakeAPI({
        ("PUT", "/v2/executions/%s" % EX_ID): (200, dict(EXECUTION, state="PAUSED")),
        ("DELETE", "/v2/executions/%s" % EX_ID): (204, None),
    })
    rc, out, _ = run(["execution-update", EX_ID, "-s", "PAUSED"], api)
    assert rc == 0 and api.body() == {"state": "PAUSED"}
    run(["execution-update", EX_ID, "-d", "renamed", "-e", '{"k": "v"}'], api)
    assert api.body() == {"description": "renamed", "params": {"env": {"k": "v"}}}
    assert run(["execution-update", EX_ID, "-s", "BOGUS"], api)[0] == 2
    rc, out, _ = run(["execution-delete", EX_ID, "--force"], api)
    assert rc == 0 and out == "Request to delete execution %s has been accepted.\n" % EX_ID
    assert api.query() == [("force", "true")]
    run(["execution-delete", EX_ID], api)
    assert api.query() == []


def test_task_commands():
    task = {
        "id": TASK_ID, "name": "say_hello", "type": "ACTION",
        "workflow_name": "hello_world", "workflow_namespace": "", "workflow_id": WF_ID,
        "workflow_execution_id": EX_ID, "state": "SUCCESS", "state_info": None,
        "result": '"Hello, World!"', "published": '{"out": "Hello"}',
        "created_at": "2026-11-27 09:29:23", "updated_at": "2026-11-27 09:29:23",
        "started_at": "2026-11-27 09:29:23", "finished_at": "2026-11-27 09:29:24",
    }
    api = FakeAPI({
        ("GET", "/v2/executions/%s/tasks" % EX_ID): (200, {"tasks": [task]}),
        ("GET", "/v2/tasks"): (200, {"tasks": []}),
        ("GET", "/v2/tasks/%s" % TASK_ID): (200, task),
        ("PUT", "/v2/tasks/%s" % TASK_ID): (200, dict(task, state="RUNNING")),
    })
    rc, out, _ = run(["task-list", EX_ID, "-f", "json"], api)
    assert json.loads(out) == [{
        "ID": TASK_ID, "Name": "say_hello", "Workflow name": "hello_world",
        "Workflow namespace": "", "Workflow Execution ID": EX_ID, "State": "SUCCESS",
        "State info": None, "Created at": "2026-11-27 09:29:23",
        "Started at": "2026-11-27 09:29:23", "Finished at": "2026-11-27 09:29:24",
        "Duration": "0:00:01"}]
    assert ("fields", "id,name,workflow_name,workflow_namespace,workflow_execution_id,"
                      "state,state_info,created_at,started_at,finished_at") in api.query()
    assert run(["task-list"], api)[0] == 0
    assert api.last.url.path == "/v2/tasks"
    assert run(["task-get-result", TASK_ID], api)[1] == '"Hello, World!"\n'
    assert run(["task-get-published", TASK_ID], api)[1] == '{\n    "out": "Hello"\n}\n'
    rc, out, _ = run(["task-get", TASK_ID, "-f", "shell", "-c", "State"], api)
    assert out == 'state="SUCCESS"\n'
    run(["task-rerun", TASK_ID, "--resume", "-e", '{"a": 1}'], api)
    assert api.body() == {"id": TASK_ID, "state": "RUNNING", "reset": False, "env": '{"a": 1}'}
    run(["task-rerun", TASK_ID], api)
    assert api.body() == {"id": TASK_ID, "state": "RUNNING", "reset": True}


def test_action_commands(tmp_path):
    action = {"id": "std.echo", "name": "std.echo", "is_system": False,
              "input": "output, delay=0", "description": "Echo action.",
              "tags": None, "created_at": "", "updated_at": ""}
    api = FakeAPI({
        ("GET", "/v2/actions"): (200, {"actions": [action]}),
        ("GET", "/v2/actions/std.echo"): (200, action),
        ("GET", "/v2/actions/std.echo/ns1"): (200, action),
        ("POST", "/v2/actions"): (201, {"actions": [dict(action, name="my.act", id="u1")]}),
        ("DELETE", "/v2/actions/my.act"): (204, None),
    })
    rc, out, _ = run(["action-list", "-f", "json"], api)
    assert json.loads(out) == [{
        "ID": "std.echo", "Name": "std.echo", "Is system": False, "Input": "output, delay=0",
        "Description": "Echo action.", "Tags": "<none>", "Created at": "", "Updated at": ""}]
    assert api.query() == [
        ("sort_keys", "created_at"), ("sort_dirs", "asc"),
        ("fields", "id,name,is_system,input,description,tags,created_at,updated_at")]
    rc, out, _ = run(["action-get", "std.echo"], api)
    assert rc == 0 and "| Is system   | False" in out
    assert api.last.url.path == "/v2/actions/std.echo"
    assert run(["action-get", "std.echo", "--namespace", "ns1"], api)[0] == 0
    path = tmp_path / "act.yaml"
    path.write_text("---\nversion: '2.0'\nmy.act:\n  base: std.echo\n")
    assert run(["action-create", str(path)], api)[0] == 0
    assert api.query() == [("scope", "private")]
    rc, out, _ = run(["action-delete", "my.act"], api)
    assert out == "Request to delete action my.act has been accepted.\n"


def test_run_action_sync_and_saved():
    sync = {"id": None, "name": "std.echo", "state": "SUCCESS", "accepted": None,
            "input": '{"output": "Hello Workflow!"}',
            "output": '{"result": "Hello Workflow!"}', "created_at": None, "updated_at": None}
    api = FakeAPI({("POST", "/v2/action_executions"): (201, sync)})
    rc, out, _ = run(["run-action", "std.echo", '{"output": "Hello Workflow!"}'], api)
    assert (rc, out) == (0, '{"result": "Hello Workflow!"}\n')
    assert api.body() == {"name": "std.echo", "input": '{"output": "Hello Workflow!"}'}

    run(["run-action", "std.fail"], api)
    assert api.body() == {"name": "std.fail"}

    saved = dict(sync, id="ax1", state="RUNNING", accepted=False, output=None,
                 workflow_name=None, workflow_namespace="", task_execution_id=None,
                 state_info=None, created_at="2026-11-27 08:35:41")
    api.routes[("POST", "/v2/action_executions")] = (201, saved)
    rc, out, _ = run(["run-action", "std.echo", '{"output": "x"}', "-s", "-t", "exec1",
                      "--timeout", "30"], api)
    assert json.loads(api.body()["params"]) == {"save_result": True, "target": "exec1", "timeout": 30}
    assert "| Accepted           | False" in out
    assert "| Task name          | None" in out
    assert "| Updated at         | <none>" in out
    rc, out, _ = run(["run-action", "std.echo", '{"output": "x"}', "-s", "--run-sync"], api)
    assert json.loads(api.body()["params"]) == {"save_result": True, "run_sync": True}
    assert out == "None\n"


def test_action_execution_commands():
    ax = {"id": "ax1", "name": "std.echo", "workflow_name": "hello_world",
          "workflow_namespace": "", "task_execution_id": TASK_ID, "state": "SUCCESS",
          "state_info": None, "accepted": True, "tags": None,
          "input": '{"output": "Hello"}', "output": '{"result": "Hello"}',
          "created_at": "2026-11-27 09:29:23", "updated_at": "2026-11-27 09:29:23"}
    api = FakeAPI({
        ("GET", "/v2/tasks/%s/action_executions" % TASK_ID): (200, {"action_executions": [ax]}),
        ("GET", "/v2/action_executions"): (200, {"action_executions": [ax]}),
        ("GET", "/v2/action_executions/ax1"): (200, ax),
        ("PUT", "/v2/action_executions/ax1"): (200, ax),
        ("DELETE", "/v2/action_executions/ax1"): (204, None),
    })
    rc, out, _ = run(["action-execution-list", TASK_ID, "-f", "json"], api)
    row = json.loads(out)[0]
    assert list(row) == ["ID", "Name", "Workflow name", "Workflow namespace", "Task name",
                         "Task ID", "State", "Accepted", "Created at", "Updated at"]
    assert api.query() == [("limit", "100"), ("sort_keys", "created_at"), ("sort_dirs", "desc")]
    assert run(["action-execution-list"], api)[0] == 0
    rc, out, _ = run(["action-execution-get", "ax1", "-f", "json"], api)
    assert "State info" in json.loads(out)
    assert run(["action-execution-get-output", "ax1"], api)[1] == '{\n    "result": "Hello"\n}\n'
    assert run(["action-execution-get-input", "ax1"], api)[1] == '{\n    "output": "Hello"\n}\n'
    run(["action-execution-update", "ax1", "--state", "ERROR", "--output", '{"result": "x"}'], api)
    assert api.body() == {"state": "ERROR", "output": {"result": "x"}}
    rc, _, err = run(["action-execution-update", "ax1"], api)
    assert rc == 1 and "either state or output" in err
    rc, out, _ = run(["action-execution-delete", "ax1"], api)
    assert out == "Request to delete action execution ax1 has been accepted.\n"


def test_environment_commands(tmp_path):
    env = {"name": "env1", "description": "d", "variables": '{"k": "v"}',
           "scope": "private", "created_at": "2026-11-27 09:00:00", "updated_at": None}
    api = FakeAPI({
        ("POST", "/v2/environments"): (201, env),
        ("PUT", "/v2/environments"): (200, dict(env, updated_at="2026-11-27 10:00:00")),
        ("GET", "/v2/environments"): (200, {"environments": [env]}),
        ("GET", "/v2/environments/env1"): (200, env),
        ("DELETE", "/v2/environments/env1"): (204, None),
    })
    path = tmp_path / "env.yaml"
    path.write_text("name: env1\ndescription: d\nvariables:\n  k: v\n")
    rc, out, _ = run(["environment-create", str(path), "-f", "json"], api)
    assert api.body() == {"name": "env1", "description": "d", "variables": '{"k": "v"}'}
    assert json.loads(out) == {"Name": "env1", "Description": "d",
                               "Variables": '{\n    "k": "v"\n}', "Scope": "private",
                               "Created at": "2026-11-27 09:00:00", "Updated at": "<none>"}
    run(["environment-update", str(path)], api)
    assert api.last.method == "PUT"
    rc, out, _ = run(["environment-list", "-f", "json"], api)
    assert list(json.loads(out)[0]) == ["Name", "Description", "Scope", "Created at", "Updated at"]
    rc, out, _ = run(["environment-get", "env1", "--export", "-f", "json"], api)
    assert json.loads(out) == {"name": "env1", "description": "d", "scope": "private",
                               "variables": '{"k": "v"}'}
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: no name\n")
    rc, _, err = run(["environment-create", str(bad)], api)
    assert rc == 1 and 'missing field "name"' in err
    assert run(["environment-delete", "env1"], api)[0] == 0


def test_workbook_commands(tmp_path):
    wb = {"name": "wb1", "namespace": "", "tags": ["t"], "scope": "private",
          "definition": "version: '2.0'\nname: wb1\n", "created_at": "2026-11-27 09:00:00"}
    api = FakeAPI({
        ("POST", "/v2/workbooks"): (201, wb),
        ("PUT", "/v2/workbooks"): (200, wb),
        ("GET", "/v2/workbooks"): (200, {"workbooks": [wb]}),
        ("GET", "/v2/workbooks/wb1"): (200, wb),
        ("DELETE", "/v2/workbooks/wb1"): (204, None),
        ("POST", "/v2/workbooks/validate"): (200, {"valid": True}),
    })
    path = tmp_path / "wb.yaml"
    path.write_text(wb["definition"])
    rc, out, _ = run(["workbook-create", str(path), "-f", "json"], api)
    assert json.loads(out) == {"Name": "wb1", "Namespace": "", "Tags": "t", "Scope": "private",
                               "Created at": "2026-11-27 09:00:00", "Updated at": None}
    assert api.query() == [("scope", "private")]
    assert api.last.content.decode() == wb["definition"]
    run(["workbook-update", str(path), "--namespace", "n"], api)
    assert api.query() == [("scope", "private"), ("namespace", "n")]
    assert run(["workbook-list"], api)[0] == 0
    assert run(["workbook-get-definition", "wb1"], api)[1] == wb["definition"]
    rc, out, _ = run(["workbook-validate", str(path), "-f", "value"], api)
    assert out == "True\nNone\n"
    assert run(["workbook-delete", "wb1"], api)[0] == 0


def test_unknown_route_html_404_is_clean():
    rc, out, err = run(["workflow-get", "x"], FakeAPI())
    assert (rc, out, err) == (1, "", "ERROR: 404 Not Found\n")


def test_global_format_option_and_url_env(monkeypatch):
    api = FakeAPI({("GET", "/v2/executions/%s" % EX_ID): (200, EXECUTION)})
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setenv("LEVANTE_URL", "http://envhost/v2")
    rc = cli_main.main(["-f", "value", "-c", "State", "execution-get", EX_ID],
                       stdout=out, stderr=err, transport=httpx.MockTransport(api))
    assert (rc, out.getvalue()) == (0, "SUCCESS\n")
    assert str(api.last.url).startswith("http://envhost/v2/executions/")


def test_unknown_column_is_an_error():
    api = FakeAPI({("GET", "/v2/executions/%s" % EX_ID): (200, EXECUTION)})
    rc, out, err = run(["execution-get", EX_ID, "-c", "bogus"], api)
    assert rc == 1 and err.startswith("ERROR: No recognized column names")


# ------------------------------------------- cross-check with mistralclient


def _mistral_formatters():
    from mistralclient.commands.v2 import (action_executions as m_ax, actions as m_act,
                                           environments as m_env, executions as m_ex,
                                           tasks as m_task, workbooks as m_wb,
                                           workflows as m_wf)
    from levante.cli import (action_executions, actions, environments, executions,
                             tasks, workbooks, workflows)
    return [
        (m_wf.WorkflowFormatter, workflows.format_workflow, workflows.HEADINGS, None),
        (m_ex.ExecutionFormatter, executions.format_execution, executions.HEADINGS, None),
        (m_task.TaskFormatter, tasks.format_task, tasks.HEADINGS, None),
        (m_act.ActionFormatter, actions.format_action, actions.HEADINGS, None),
        (m_ax.ActionExecutionFormatter, action_executions.format_action_execution,
         action_executions.HEADINGS, action_executions.LIST_HEADINGS),
        (m_env.EnvironmentFormatter, environments.format_environment,
         environments.HEADINGS, environments.LIST_HEADINGS),
        (m_wb.WorkbookFormatter, lambda d, lister=False: workbooks.format_workbook(d),
         workbooks.HEADINGS, None),
    ]


SAMPLE = {
    "id": "i1", "name": "n", "namespace": "", "project_id": "<default-project>",
    "tags": ["alpha", "beta", "gamma", "delta-epsilon"], "input": "a_long_input_name, b=\"x\", c",
    "scope": "private", "created_at": "2026-11-27 09:29:23", "updated_at": "2026-11-27 09:29:25",
    "workflow_id": "w", "workflow_name": "wf", "workflow_namespace": "", "description": "d" * 30,
    "task_execution_id": None, "root_execution_id": "r", "state": "SUCCESS",
    "state_info": "Failure caused by error in tasks: boom\n\n  x", "workflow_execution_id": "e",
    "started_at": "2026-11-27 09:29:23", "finished_at": "2026-11-27 09:29:24",
    "is_system": False, "accepted": True, "task_name": "t", "variables": "{\"k\": [1, 2]}",
}


def test_formatters_agree_with_mistralclient(monkeypatch):
    formatters = _mistral_formatters()
    from mistralclient.api.base import Resource
    from mistralclient.api.v2.environments import Environment

    now = datetime.datetime(2026, 11, 27, 10, 0, 0, 250)
    monkeypatch.setattr("mistralclient.commands.v2.base.timeutils",
                        types.SimpleNamespace(utcnow=lambda: now))
    monkeypatch.setattr(base, "utcnow", lambda: now)
    for m_fmt, ours, headings, list_headings in formatters:
        resource = Environment if "Environment" in m_fmt.__name__ else Resource
        for data in (SAMPLE, dict(SAMPLE, tags=[], updated_at=None, state="RUNNING",
                                  finished_at=None)):
            for lister in (False, True):
                _check_formatter(m_fmt, resource, ours, data, lister, headings,
                                 list_headings)


def _check_formatter(m_fmt, resource, ours, data, lister, headings, list_headings):
    cols, values = m_fmt.format(resource(None, dict(data)), lister=lister)
    assert list(cols) == (list_headings if lister and list_headings else headings)
    assert tuple(values) == tuple(ours(dict(data), lister=lister)), m_fmt
