"""Resource sharing: ``/v2/workflows/{id}/members`` (``member-*`` commands).

Sharing needs to know who is calling, so like Mistral it only works with
authentication; without it (auth mode ``none``) every call answers 400 with
Mistral's message. The authentication code extends this module.
"""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from levante.api.errors import ApiError

router = APIRouter()

NEEDS_AUTH = "Resource sharing feature can only be supported with authentication enabled."


def sharing_enabled(request: Request) -> bool:
    """Whether this server knows its callers (an authentication mode other than none)."""
    return False


def _check(resource_id: str, request: Request) -> None:
    try:
        uuid.UUID(resource_id)
    except ValueError:
        raise ApiError(400, "Only support UUID as resource identifier in resource sharing feature.")
    if not sharing_enabled(request):
        raise ApiError(400, NEEDS_AUTH)


@router.get("/v2/workflows/{resource_id}/members")
@router.post("/v2/workflows/{resource_id}/members")
def members(resource_id: str, request: Request):
    _check(resource_id, request)


@router.get("/v2/workflows/{resource_id}/members/{member_id}")
@router.put("/v2/workflows/{resource_id}/members/{member_id}")
@router.delete("/v2/workflows/{resource_id}/members/{member_id}")
def member(resource_id: str, member_id: str, request: Request):
    _check(resource_id, request)
