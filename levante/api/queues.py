"""Zaqar's v2 messaging API (the parts clients use) over the built-in queues.

Routes live under ``/v2/queues`` beside Mistral's ``/v2/...`` resources; no
Mistral route starts with ``/v2/queues``. Shapes follow Zaqar v2: relative
``href``s, ``{"messages": [...], "links": [...]}`` pages, 201 with
``{"resources": [...]}`` for a post, 204 for an empty claim. Zaqar requires a
``Client-ID`` header; Levante accepts it (it decides ``echo``) and does not
require it. Errors carry Zaqar's ``title``/``description`` and Mistral's
``faultstring`` both.
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from levante.auth import caller_of
from levante.queues.service import Message, ProjectQueues, QueueService, check_name
from levante.errors import BadRequest, LevanteError
from levante.limits import loads

PREFIX = "/v2/queues"

TITLES = {400: "Invalid API request", 403: "Forbidden", 404: "Not found", 409: "Conflict"}


class _ZaqarRoute(APIRoute):
    """Answers the service's errors with a body both Zaqar's and Mistral's clients read."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LevanteError as e:
                return error(e.status, str(e))

        return route


router = APIRouter(route_class=_ZaqarRoute)


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"title": TITLES.get(status, "Service error"), "description": message,
                         "faultcode": "Client" if status < 500 else "Server",
                         "faultstring": message, "debuginfo": None}, status_code=status)


def _svc(request: Request) -> QueueService:
    """The queue service as the caller's project sees it."""
    rt = request.app.state.runtime
    svc = getattr(rt, "backends", {}).get("queues")
    if svc is None:   # a runtime made without the queues: serve its database anyway
        svc = getattr(request.app.state, "queue_service", None)
        if svc is None:
            svc = request.app.state.queue_service = QueueService(rt.db)
    caller = caller_of(request)
    return ProjectQueues(svc, caller.project_id if caller.authenticated else None)


async def _body(request: Request, default: Any = None) -> Any:
    raw = await request.body()
    if not raw.strip():
        return default
    try:
        return loads(raw)
    except ValueError as e:
        raise BadRequest(str(e) if str(e).startswith("Request ")
                         else "Request body is not valid JSON.") from None


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "")
    if value.lower() in ("", "false", "0", "no"):
        return False
    if value.lower() in ("true", "1", "yes"):
        return True
    raise BadRequest(f"{name} must be true or false, got {value!r}")


def _client_id(request: Request) -> str | None:
    return request.headers.get("client-id") or None


def message_href(m: Message, claim_id: str | None = None) -> str:
    href = f"{PREFIX}/{m.queue}/messages/{m.id}"
    return f"{href}?claim_id={claim_id}" if claim_id else href


def render_message(m: Message, href: bool = True, claim_id: str | None = None) -> dict:
    item: dict = {"id": m.id}
    if href:
        item["href"] = message_href(m, claim_id)
    item.update(ttl=m.ttl, age=m.age, body=m.body)
    if m.claim_id:
        item["claim_id"] = m.claim_id
    return item


# ---------------------------------------------------------------- queues

@router.get(PREFIX)
def list_queues(request: Request):
    q = request.query_params
    detailed = _flag(request, "detailed")
    svc = _svc(request)
    items, next_marker = svc.list_queues(q.get("marker"), q.get("limit"), detailed)
    for item in items:
        item["href"] = f"{PREFIX}/{item['name']}"
    body: dict = {"queues": items, "links": []}
    if next_marker:
        params = {"marker": next_marker, "limit": q.get("limit") or len(items)}
        if detailed:
            params["detailed"] = "true"
        body["links"].append({"rel": "next", "href": f"{PREFIX}?{urlencode(params)}"})
    if _flag(request, "with_count"):
        body["count"] = svc.count_queues()
    return body


@router.put(PREFIX + "/{name}")
async def create_queue(name: str, request: Request):
    metadata = await _body(request, {})
    if not isinstance(metadata, dict):
        raise BadRequest("Queue metadata must be a JSON object.")
    created = await run_in_threadpool(_svc(request).create_queue, name, metadata)
    if created:
        return Response(status_code=201, headers={"Location": f"{PREFIX}/{name}"})
    return Response(status_code=204)


@router.get(PREFIX + "/{name}")
def get_queue(name: str, request: Request):
    return _svc(request).get_metadata(name)


@router.patch(PREFIX + "/{name}")
async def update_queue(name: str, request: Request):
    ops = await _body(request, [])
    return await run_in_threadpool(_svc(request).patch_metadata, name, ops)


@router.delete(PREFIX + "/{name}", status_code=204)
def delete_queue(name: str, request: Request):
    _svc(request).delete_queue(name)
    return Response(status_code=204)


@router.get(PREFIX + "/{name}/stats")
def queue_stats(name: str, request: Request):
    stats = _svc(request).stats(name)
    for key in ("oldest", "newest"):
        if key in stats:
            end = stats[key]
            stats[key] = {"href": f"{PREFIX}/{name}/messages/{end['id']}", "age": end["age"],
                          "created": end["created"]}
    return {"messages": stats}


# ---------------------------------------------------------------- messages

@router.post(PREFIX + "/{name}/messages", status_code=201)
async def post_messages(name: str, request: Request):
    body = await _body(request)
    messages = body.get("messages") if isinstance(body, dict) else body   # v2 wraps, v1.x did not
    if messages is None:
        raise BadRequest('Request body must be {"messages": [{"body": ..., "ttl": seconds}, ...]}.')
    if not isinstance(messages, list):
        raise BadRequest("messages must be a list.")
    posted = await run_in_threadpool(_svc(request).post, name, messages, _client_id(request))
    hrefs = [message_href(m) for m in posted]
    return JSONResponse({"resources": hrefs}, status_code=201,
                        headers={"Location": f"{PREFIX}/{name}/messages?ids=" + ",".join(m.id for m in posted)})


@router.get(PREFIX + "/{name}/messages")
def list_messages(name: str, request: Request):
    q = request.query_params
    svc = _svc(request)
    if q.get("ids"):
        return {"messages": [render_message(m) for m in svc.get_messages(name, q["ids"])]}
    echo = _flag(request, "echo")
    include_claimed = _flag(request, "include_claimed")
    msgs, next_marker = svc.list_messages(name, q.get("marker"), q.get("limit"), echo=echo,
                                          include_claimed=include_claimed, client_id=_client_id(request))
    body: dict = {"messages": [render_message(m) for m in msgs], "links": []}
    if next_marker:
        params = {"marker": next_marker, "limit": q.get("limit") or len(msgs)}
        if echo:
            params["echo"] = "true"
        if include_claimed:
            params["include_claimed"] = "true"
        body["links"].append({"rel": "next", "href": f"{PREFIX}/{name}/messages?{urlencode(params)}"})
    return body


@router.delete(PREFIX + "/{name}/messages")
def delete_messages(name: str, request: Request):
    q = request.query_params
    svc = _svc(request)
    if q.get("pop") and q.get("ids"):
        raise BadRequest("Give either ids or pop, not both.")
    if q.get("pop"):
        return {"messages": [render_message(m, href=False) for m in svc.pop(name, q["pop"])]}
    if q.get("ids"):
        claim_ids = [c for c in (q.get("claim_ids") or "").split(",") if c]
        svc.delete_messages(name, q["ids"], claim_ids)
        return Response(status_code=204)
    raise BadRequest("Deleting messages needs ids=<id>,<id>... or pop=<count>.")


@router.get(PREFIX + "/{name}/messages/{message_id}")
def get_message(name: str, message_id: str, request: Request):
    return render_message(_svc(request).get_message(name, message_id))


@router.delete(PREFIX + "/{name}/messages/{message_id}", status_code=204)
def delete_message(name: str, message_id: str, request: Request):
    _svc(request).delete_message(name, message_id, request.query_params.get("claim_id") or None)
    return Response(status_code=204)


# ---------------------------------------------------------------- claims

@router.post(PREFIX + "/{name}/claims")
async def create_claim(name: str, request: Request):
    body = await _body(request, {})
    if not isinstance(body, dict):
        raise BadRequest('A claim body must be {"ttl": seconds, "grace": seconds}.')
    check_name(name)
    limit = request.query_params.get("limit") or body.get("limit")
    claim = await run_in_threadpool(_svc(request).claim, name, body.get("ttl"), body.get("grace"), limit)
    if claim is None:
        return Response(status_code=204)
    return JSONResponse({"messages": [render_message(m, claim_id=claim.id) for m in claim.messages]},
                        status_code=201, headers={"Location": f"{PREFIX}/{name}/claims/{claim.id}"})


@router.get(PREFIX + "/{name}/claims/{claim_id}")
def get_claim(name: str, claim_id: str, request: Request):
    claim = _svc(request).get_claim(name, claim_id)
    return {"age": claim.age, "ttl": claim.ttl, "grace": claim.grace,
            "href": f"{PREFIX}/{name}/claims/{claim.id}",
            "messages": [render_message(m, claim_id=claim.id) for m in claim.messages]}


@router.patch(PREFIX + "/{name}/claims/{claim_id}", status_code=204)
async def update_claim(name: str, claim_id: str, request: Request):
    body = await _body(request, {})
    if not isinstance(body, dict):
        raise BadRequest('A claim update must be {"ttl": seconds, "grace": seconds}.')
    await run_in_threadpool(_svc(request).update_claim, name, claim_id, body.get("ttl"), body.get("grace"))
    return Response(status_code=204)


@router.delete(PREFIX + "/{name}/claims/{claim_id}", status_code=204)
def release_claim(name: str, claim_id: str, request: Request):
    _svc(request).release_claim(name, claim_id)
    return Response(status_code=204)
