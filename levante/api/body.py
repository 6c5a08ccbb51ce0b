"""Request bodies.

Routes that touch the database are plain ``def`` functions, which FastAPI runs
in its thread pool, so a slow transaction or an action run in the request
never blocks the event loop. They get the raw body through the :func:`raw`
dependency (reading a body needs ``await``) and parse it with the helpers here.
"""
from __future__ import annotations

import json

from fastapi import Request

from levante.api.errors import ApiError


async def raw(request: Request) -> bytes:
    return await request.body()


def json_object(data: bytes) -> dict:
    """A JSON object body; Mistral's message for anything else."""
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        raise ApiError(400, "Request is not in valid JSON format")
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
