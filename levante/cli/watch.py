"""``execution-watch`` (and ``execution-create --wait``): follow an execution live.

Reads the server's event stream (``GET /v2/executions/{id}/events``,
server-sent events) and prints one line per task state change with a
progress bar (finished tasks / tasks known so far: a workflow's size is
only known as it runs). Falls back to polling the REST API when the stream
is not available (an older server, a proxy that buffers). Ends with exit
status 0 when the execution succeeds, 1 (and its ``state_info``) when it
ends in ERROR or CANCELLED.
"""
from __future__ import annotations

import json
import time
from typing import Any, Iterator, TextIO

import httpx

from levante.cli.base import Arg, CLIError, command, seg
from levante.cli.client import APIError, ConnectionFailed, error_message

DONE_TASK = ("SUCCESS", "ERROR", "CANCELLED", "SKIPPED")
DONE_WORKFLOW = ("SUCCESS", "ERROR", "CANCELLED")
BAR = 20
POLL = 0.5
RECONNECTS = 3


class Progress:
    """Prints task state changes with a progress bar; each change once."""

    def __init__(self, out: TextIO, execution_id: str):
        self.out = out
        self.execution_id = execution_id
        self.tasks: dict[str, tuple[str, str]] = {}     # id -> (name, state)
        self.state: str | None = None
        self.state_info: str | None = None
        self.workflow_name = ""
        self.end_shown = False

    def bar(self) -> str:
        known = len(self.tasks)
        done = sum(1 for _, s in self.tasks.values() if s in DONE_TASK)
        filled = BAR * done // known if known else 0
        return f"[{'#' * filled}{'-' * (BAR - filled)}] {done:>3}/{known:<3}"

    def task(self, task_id: str, name: str, state: str, info: str | None = None) -> None:
        old = self.tasks.get(task_id)
        if old is not None and old[1] == state:
            return
        self.tasks[task_id] = (name, state)
        line = f"{self.bar()} {name} {state}"
        if info and state in ("ERROR", "CANCELLED"):
            line += ": " + _one_line(info)
        self._print(line)

    def workflow(self, state: str, info: str | None = None, name: str | None = None) -> None:
        self.workflow_name = name or self.workflow_name
        self.state_info = info
        if state == self.state:
            return
        first = self.state is None
        self.state = state
        if first:
            self._print(f"Execution {self.execution_id} ({self.workflow_name}): {state}")
        else:
            self._end_line()

    def finish(self) -> None:
        """Close with the workflow's end line, also for an execution that had
        already ended when the watch began (its first line showed the end)."""
        if self.done and not self.end_shown:
            self._end_line()

    def _end_line(self) -> None:
        self.end_shown = self.state in DONE_WORKFLOW
        self._print(f"{self.bar()} workflow {self.workflow_name} {self.state}")

    def snapshot(self, ex: dict, tasks: list[dict]) -> None:
        self.workflow(ex.get("state"), ex.get("state_info"), ex.get("workflow_name"))
        for t in tasks:
            self.task(t["id"], t.get("name", ""), t.get("state"), t.get("state_info"))

    @property
    def done(self) -> bool:
        return self.state in DONE_WORKFLOW

    def _print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def _one_line(text: str, width: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


# -------------------------------------------------------------------- sources

class _NoStream(Exception):
    """The server has no event stream for us: poll instead."""


def _sse_messages(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event name, decoded data) for each message of a text/event-stream."""
    kind, data = "message", []
    for line in lines:
        if line == "":
            if data:
                try:
                    yield kind, json.loads("\n".join(data))
                except ValueError:
                    pass
            kind, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)


def _follow_stream(ctx, progress: Progress, deadline: float | None) -> None:
    client = ctx.client
    url = f"{client.base_url}/executions/{seg(progress.execution_id)}/events"
    read = 60.0 if deadline is None else max(1.0, min(60.0, deadline - time.time()))
    try:
        with client._http.stream("GET", url, headers={"Accept": "text/event-stream"},
                                 timeout=httpx.Timeout(read, connect=10.0)) as resp:
            if resp.status_code in (404, 405) or (
                    resp.is_success and "text/event-stream" not in resp.headers.get("content-type", "")):
                resp.read()
                if resp.status_code == 404 and "WorkflowExecution not found" in error_message(resp):
                    raise APIError(404, error_message(resp))
                raise _NoStream()
            if not resp.is_success:
                resp.read()
                raise APIError(resp.status_code, error_message(resp))
            for kind, data in _sse_messages(resp.iter_lines()):
                if kind == "state":
                    progress.snapshot(data, data.get("tasks") or [])
                elif kind.startswith("TASK_") and data.get("task_id"):
                    progress.task(data["task_id"], data.get("task_name", ""), data.get("state"),
                                  data.get("state_info"))
                elif kind.startswith("WORKFLOW_"):
                    progress.workflow(data.get("state"), data.get("state_info"))
                if progress.done:
                    return
    except httpx.TimeoutException as e:
        if deadline is not None and time.time() >= deadline:
            raise _Timeout() from e
        raise ConnectionFailed(f"The event stream of execution {progress.execution_id} went quiet") from e
    except httpx.TransportError as e:
        raise ConnectionFailed(f"The event stream of execution {progress.execution_id} broke: {e}") from e


class _Timeout(Exception):
    pass


def _poll(ctx, progress: Progress, deadline: float | None) -> None:
    path = f"/executions/{seg(progress.execution_id)}"
    while True:
        ex = ctx.client.get(path)
        tasks = (ctx.client.get(path + "/tasks") or {}).get("tasks", [])
        tasks.sort(key=lambda t: (t.get("created_at") or "", t.get("id")))
        if progress.state is None:
            progress.workflow(ex.get("state"), ex.get("state_info"), ex.get("workflow_name"))
        # Tasks first: a workflow that just ended shows its last tasks before its end.
        for t in tasks:
            progress.task(t["id"], t.get("name", ""), t.get("state"), t.get("state_info"))
        progress.workflow(ex.get("state"), ex.get("state_info"), ex.get("workflow_name"))
        if progress.done:
            return
        if deadline is not None and time.time() >= deadline:
            raise _Timeout()
        time.sleep(POLL)


def wait(ctx, execution_id: str, out: TextIO, timeout: float = 0.0, poll: bool = False) -> dict:
    """Follow ``execution_id`` until it ends, printing progress on ``out``.

    Returns the final execution; raises CLIError unless it ended in SUCCESS.
    """
    deadline = time.time() + timeout if timeout and timeout > 0 else None
    progress = Progress(out, execution_id)
    try:
        if not poll:
            for attempt in range(RECONNECTS + 1):
                try:
                    _follow_stream(ctx, progress, deadline)
                    break
                except _NoStream:
                    poll = True
                    break
                except ConnectionFailed:
                    if attempt == RECONNECTS:
                        poll = True
                    else:
                        time.sleep(min(2.0, 0.5 * (attempt + 1)))
            else:
                poll = True
            if not progress.done:
                poll = True
        if poll:
            _poll(ctx, progress, deadline)
    except _Timeout:
        raise CLIError(f"Execution {execution_id} is still {progress.state} after {timeout:g}s")
    progress.finish()
    ex = ctx.client.get(f"/executions/{seg(execution_id)}")
    state = ex.get("state")
    if state != "SUCCESS":
        info = ex.get("state_info") or progress.state_info or ""
        raise CLIError(f"Execution {execution_id} ended in state {state}" + (f": {info}" if info else ""))
    return ex


@command("execution-watch", "Follow an execution until it ends: one line per task state change "
                            "with a progress bar; exit 1 unless it succeeds.", args=[
    Arg("id", help="Execution ID"),
    Arg("--timeout", type=float, default=0.0,
        help="Give up (exit 1) after this many seconds; default: wait until it ends."),
    Arg("--poll", action="store_true", default=False,
        help="Poll the REST API instead of reading the event stream."),
])
def execution_watch(ctx, args):
    wait(ctx, args.id, ctx.stdout, timeout=args.timeout, poll=args.poll)
