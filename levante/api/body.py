"""Request bodies.

Routes that touch the database are plain ``def`` functions, which FastAPI runs
in its thread pool, so a slow transaction or an action run in the request
never blocks the event loop. They get the raw body through the :func:`raw`
dependency (reading a body needs ``await``) and parse it with the helpers here.

Every JSON the API reads, the body and the JSON text inside its fields, goes
through ``levante.limits.loads``: nesting deeper than ``max_json_depth`` and
integers of more digits than Python converts (4,300) are a 400, never a crash.
The body's size is capped by :class:`RequestLimits` (``max_request_body_size``, 413).
"""
from __future__ import annotations

from fastapi import Request

from levante.api.errors import ApiError, fault
from levante.config import get_settings
from levante.errors import PayloadTooLarge
from levante.limits import loads


async def raw(request: Request) -> bytes:
    return await request.body()


def json_object(data: bytes) -> dict:
    """A JSON object body; Mistral's message for anything else."""
    try:
        body = loads(data or b"{}")
    except ValueError as e:
        message = str(e) if str(e).startswith("Request ") else "Request is not in valid JSON format"
        raise ApiError(400, message)
    if not isinstance(body, dict):
        raise ApiError(400, "Request is not in valid JSON format")
    return body


def definition_text(data: bytes) -> str:
    """A YAML definition body (errors in the YAML endpoints' format)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "Definition must be UTF-8 text.", yaml_endpoint=True)
    if not text.strip():
        raise ApiError(400, "Definition is empty.", yaml_endpoint=True)
    return text


def too_large(size: int | str, limit: int) -> str:
    return (f"Request body is too large: {size} bytes, at most {limit} "
            "(setting max_request_body_size, environment variable LEVANTE_MAX_REQUEST_BODY_SIZE).")


class RequestLimits:
    """ASGI middleware: a request body over ``max_request_body_size`` is a 413;
    a URL with a NUL character (``%00``) is a 400 (no name or id holds one, and
    PostgreSQL refuses it in any query).

    A declared Content-Length over the limit is refused before anything is
    read; a body sent without one (chunked) is counted as it arrives.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"") \
                or b"\x00" in scope.get("query_string", b""):
            response = fault(400, "The URL must not contain NUL characters (%00).")
            return await response(scope, receive, send)
        limit = get_settings().max_request_body_size
        if not limit:
            return await self.app(scope, receive, send)
        for key, value in scope.get("headers") or ():
            if key == b"content-length":
                text = value.decode("latin-1").strip()
                if text.isdigit() and int(text) > limit:
                    response = fault(413, too_large(text, limit))
                    return await response(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(too_large(f"more than {limit}", limit))
            return message

        return await self.app(scope, counted, send)
