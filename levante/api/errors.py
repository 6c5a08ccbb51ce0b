"""Mistral's error bodies.

JSON endpoints answer ``{"faultcode": "Client", "faultstring": ..., "debuginfo": null}``;
the endpoints that take YAML answer ``{"faultstring": ...}`` only, like Mistral's.
"""
from __future__ import annotations

from fastapi.responses import JSONResponse

from levante.errors import LevanteError

YAML_CONTENT_TYPE = "application/json;charset=utf-8"


class ApiError(LevanteError):
    def __init__(self, status: int, message: str, yaml_endpoint: bool = False):
        super().__init__(message)
        self.status = status
        self.yaml_endpoint = yaml_endpoint


def fault(status: int, message: str, yaml_endpoint: bool = False) -> JSONResponse:
    if yaml_endpoint:
        return JSONResponse({"faultstring": message}, status_code=status, media_type=YAML_CONTENT_TYPE)
    faultcode = "Client" if status < 500 else "Server"
    return JSONResponse({"faultcode": faultcode, "faultstring": message, "debuginfo": None},
                        status_code=status)


def not_found(kind: str, key: str, value: str) -> ApiError:
    return ApiError(404, f"{kind} not found [{key}={value}]")
