"""A tiny HTTP client for Mistral's REST API v2 (as served by Levante).

Base URL: ``--url``, else ``$LEVANTE_URL``, else ``DEFAULT_URL``; it includes
the ``/v2`` suffix and request paths are appended to it (``/workflows``...).
Any non-2xx answer raises ``APIError`` carrying the server's ``faultstring``.
"""

from __future__ import annotations

import html
import json
import os
import re
from typing import Any, Mapping, Sequence

import httpx

from levante import __version__

DEFAULT_URL = "http://127.0.0.1:8989/v2"
URL_ENV = "LEVANTE_URL"
TOKEN_ENV = "LEVANTE_TOKEN"
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)

Params = Sequence[tuple[str, Any]] | Mapping[str, Any] | None


class CLIError(Exception):
    """An error reported to the user as ``ERROR: <message>`` (exit 1)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class APIError(CLIError):
    """The server answered with an error status."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code


class ConnectionFailed(CLIError):
    """The server could not be reached."""


def resolve_token(url: str) -> str | None:
    """``$LEVANTE_TOKEN``, else the credential a token-mode server left for this
    OS user and URL (see levante.auth.credentials), else none."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    from levante.auth import credentials

    entry = credentials.load(url)
    return entry["token"] if entry else None


def resolve_url(url: str | None = None) -> str:
    url = url or os.environ.get(URL_ENV) or DEFAULT_URL
    return url.rstrip("/")


def error_message(response: httpx.Response) -> str:
    """Extract a human message from an error response.

    Mistral puts it in ``faultstring`` (JSON body) or in the
    ``Server-Error-Message`` header; FastAPI-style ``detail`` is accepted too.
    A non-JSON (e.g. HTML 404) body is reduced to its text.
    """
    header = response.headers.get("Server-Error-Message")
    if header:
        return header
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        for key in ("faultstring", "detail", "message", "error"):
            value = body.get(key)
            if value:
                return value if isinstance(value, str) else json.dumps(value)
    text = response.text.strip() if response.content else ""
    if text and "<" in text:
        title = re.search(r"<title>(.*?)</title>", text, re.S | re.I)
        if title:
            text = title.group(1)
        else:
            text = re.sub(r"<[^>]+>", " ", text)
        text = html.unescape(" ".join(text.split()))
    if not text:
        text = "HTTP %d %s" % (response.status_code, response.reason_phrase)
    return text


class Client:
    """Minimal synchronous client; one instance per CLI invocation."""

    def __init__(self, url: str | None = None, *,
                 transport: httpx.BaseTransport | None = None,
                 timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT,
                 token: str | None = None):
        self.base_url = resolve_url(url)
        headers = {"User-Agent": "levante-cli/%s" % __version__, "Accept": "application/json"}
        token = token or resolve_token(self.base_url)
        if token:
            headers["X-Auth-Token"] = token
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=True,  # like requests (mistralclient)
            headers=headers,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- transport ----------------------------------------------------------

    def request(self, method: str, path: str, *, params: Params = None,
                json_body: Any = None, text: str | None = None) -> Any:
        """Send a request; return the decoded JSON body (None if empty)."""
        url = self.base_url + path
        headers = {}
        content: bytes | None = None
        if text is not None:
            headers["content-type"] = "text/plain"
            content = text.encode("utf-8")
        elif json_body is not None:
            headers["content-type"] = "application/json"
            content = json.dumps(json_body).encode("utf-8")
        try:
            response = self._http.request(method, url, params=params,
                                          content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise ConnectionFailed(
                "Request to %s timed out (%s)" % (url, exc or type(exc).__name__)
            ) from exc
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                "Unable to connect to the Levante API at %s: %s"
                % (self.base_url, exc or type(exc).__name__)
            ) from exc
        if not response.is_success:
            raise APIError(response.status_code, error_message(response))
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise CLIError(
                "Invalid JSON in the response to %s %s" % (method, url)
            ) from exc

    def get(self, path: str, params: Params = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, *, params: Params = None, json_body: Any = None,
             text: str | None = None) -> Any:
        return self.request("POST", path, params=params, json_body=json_body,
                            text=text)

    def put(self, path: str, *, params: Params = None, json_body: Any = None,
            text: str | None = None) -> Any:
        return self.request("PUT", path, params=params, json_body=json_body,
                            text=text)

    def delete(self, path: str, params: Params = None) -> Any:
        return self.request("DELETE", path, params=params)
