"""``std.http`` and ``std.mistral_http``: HTTP requests from a workflow.

Same input and result as Mistral's actions. The result is a dict::

    {"content": <body: parsed JSON if it parses, else text>, "status": 200,
     "headers": {...}, "url": "<final URL>", "history": [<redirects>],
     "encoding": "utf-8", "reason": "OK", "cookies": {...}, "elapsed": 0.012}

A status outside 200-306 makes the action fail with that same dict as the error.
As in Mistral, redirects are followed only with ``allow_redirects: true``;
otherwise a 3xx response is the result.

Egress policy (SSRF protection, ``levante.egress``, settings in
``levante.config``): only http and https URLs; with ``http_allowed_hosts`` set,
only those hosts; no address inside ``http_denied_cidrs`` (loopback, 0.0.0.0/8,
``::`` and link-local by default, which keeps the cloud metadata service out of
reach). Every hop of a redirect, and a proxy given in ``proxies``, is checked
before it is connected to, and every connection is opened to the very address
that was checked. Proxies from the executor's environment (HTTP_PROXY and the
like) are the operator's: not checked.
"""
from __future__ import annotations

import json as jsonlib
import logging
import os
import ssl
import time
from typing import Any

import httpx
from mistral_lib import actions

from levante import egress
from levante.config import Settings, get_settings

log = logging.getLogger("levante.actions.http")

MAX_REDIRECTS = 30              # as the requests library Mistral uses
CHUNK = 64 * 1024


class HTTPActionError(Exception):
    """The request could not be made or its response could not be used."""


class URLNotAllowed(HTTPActionError):
    """The egress policy refuses the URL."""


# ---------------------------------------------------------------- egress policy

def check_url(url: str, settings: Settings | None = None, role: str = "url") -> None:
    """Raise URLNotAllowed unless the egress policy (``levante.egress``) lets a
    request reach ``url``; ``role``: ``url``, ``redirect`` or ``proxy``."""
    try:
        egress.check_url(url, settings, role)
    except egress.EgressRefused as e:
        raise URLNotAllowed(str(e)) from None


# ---------------------------------------------------------------- input helpers

def _auth(auth: Any) -> tuple[str, str] | None:
    if auth is None or auth == "":
        return None
    if isinstance(auth, str) and ":" in auth:
        user, _, password = auth.partition(":")
        return user, password
    if isinstance(auth, (list, tuple)) and len(auth) == 2:
        return str(auth[0]), str(auth[1])
    raise HTTPActionError("auth must be 'user:password' or a list [user, password] "
                          "(HTTP basic authentication)")


def _headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise HTTPActionError(f"headers must be a dict, not {type(headers).__name__}")
    out = {}
    for key, val in headers.items():
        if val is None:                 # as requests: a None header is not sent
            continue
        out[str(key)] = val if isinstance(val, str) else (
            str(val) if isinstance(val, (int, float)) else jsonlib.dumps(val))
    return out


def _params(params: Any) -> Any:
    if isinstance(params, dict):
        return {k: v for k, v in params.items() if v is not None}
    return params


def _content(body: Any) -> str | bytes | None:
    if body is None:
        return None
    if isinstance(body, (str, bytes)):
        return body
    return jsonlib.dumps(body)


def _timeout(timeout: Any, settings: Settings) -> httpx.Timeout:
    if timeout is None or timeout == "":
        default = settings.http_default_timeout
        return httpx.Timeout(default if default else None)
    try:
        if isinstance(timeout, (list, tuple)) and len(timeout) == 2:
            connect, read = (None if t is None else float(t) for t in timeout)
            return httpx.Timeout(read, connect=connect)
        return httpx.Timeout(float(timeout))
    except (TypeError, ValueError):
        raise HTTPActionError(f"timeout must be a number of seconds or [connect, read], "
                              f"not {timeout!r}") from None


def _verify(verify: Any) -> ssl.SSLContext | bool:
    if verify is None:
        return True
    if isinstance(verify, str):
        low = verify.strip().lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0"):
            return False
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        if os.path.isfile(verify):
            return ssl.create_default_context(cafile=verify)
        raise HTTPActionError(f"verify: no CA bundle at {verify!r}")
    return bool(verify)


def _mounts(proxies: Any, verify: ssl.SSLContext | bool, settings: Settings) -> dict:
    """httpx mounts: the operator's environment proxies (trusted, not checked),
    then requests-style ``{"http": "http://proxy:3128", "https://host": ...}``
    from the action, whose connections go through the egress policy."""
    if proxies and not isinstance(proxies, dict):
        raise HTTPActionError("proxies must be a dict such as {\"https\": \"http://proxy:3128\"}")
    mounts = egress.environment_mounts(verify=verify)
    for key, url in (proxies or {}).items():
        pattern = str(key) if "://" in str(key) else f"{key}://"
        # None: no proxy, the client's own (policy) transport
        mounts[pattern] = egress.http_transport(settings, proxy=url, verify=verify) if url else None
    return mounts


def _response_headers(resp: httpx.Response) -> dict[str, str]:
    """Headers with the server's spelling, repeated ones joined by ', ' (as requests)."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    enc = resp.headers.encoding
    for raw_key, raw_val in resp.headers.raw:
        key, val = raw_key.decode(enc), raw_val.decode(enc)
        first = seen.setdefault(key.lower(), key)
        out[first] = f"{out[first]}, {val}" if first in out else val
    return out


def _decode(data: bytes, charset: str | None) -> tuple[str, str]:
    if charset:
        try:
            return data.decode(charset, errors="replace"), charset
        except LookupError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("iso-8859-1"), "ISO-8859-1"


# ---------------------------------------------------------------- actions

class HTTPAction(actions.Action):
    """HTTP action: sends a request and returns the response.

    :param url: URL of the request.
    :param method: HTTP method (default GET).
    :param params: dict (or string) of query string parameters.
    :param body: request body: a string, or a dict/list sent as JSON text.
    :param json: a value sent as JSON with Content-Type application/json.
    :param headers: dict of request headers.
    :param cookies: dict of cookies to send.
    :param auth: 'user:password' or [user, password]: HTTP basic authentication.
    :param timeout: seconds, or [connect, read] (default: setting http_default_timeout).
    :param allow_redirects: follow redirects (default: no, as in Mistral).
    :param proxies: dict of proxy URLs by scheme, e.g. {"https": "http://proxy:3128"}.
    :param verify: verify TLS certificates (default true); or a CA bundle path.

    Result: {content, status, headers, url, history, encoding, reason, cookies,
    elapsed}; a status outside 200-306 fails the action with that result as error.
    """

    def __init__(self, url, method="GET", params=None, body=None, json=None, headers=None,
                 cookies=None, auth=None, timeout=None, allow_redirects=None, proxies=None,
                 verify=None):
        if body and json:
            raise HTTPActionError("Only one of the parameters 'json' and 'body' can be passed")
        self.url = url
        self.method = str(method or "GET").upper()
        self.params = params
        self.body = body
        self.json = json
        self.headers = _headers(headers)
        self.cookies = cookies
        self.auth = _auth(auth)
        self.timeout = timeout
        self.allow_redirects = allow_redirects
        self.proxies = proxies
        self.verify = verify

    def run(self, context):
        settings = get_settings()
        check_url(self.url, settings)
        if isinstance(self.proxies, dict):
            for proxy in self.proxies.values():
                if proxy:
                    check_url(str(proxy), settings, role="proxy")
        verify = _verify(self.verify)
        hops = []

        def on_request(request: httpx.Request) -> None:
            # Every request, redirect hops included, passes the egress policy first.
            if hops:
                check_url(str(request.url), settings, role="redirect")
            hops.append(str(request.url))

        cookies = {str(k): str(v) for k, v in self.cookies.items()} \
            if isinstance(self.cookies, dict) else self.cookies
        kwargs: dict[str, Any] = {"params": _params(self.params), "headers": self.headers,
                                  "auth": self.auth}
        if self.body:
            kwargs["content"] = _content(self.body)
        elif self.json is not None:
            kwargs["json"] = self.json
        log.debug("std.http %s %s", self.method, self.url)
        started = time.monotonic()
        try:
            with httpx.Client(timeout=_timeout(self.timeout, settings),
                              transport=egress.http_transport(settings, verify=verify),
                              mounts=_mounts(self.proxies, verify, settings), cookies=cookies,
                              follow_redirects=bool(self.allow_redirects),
                              max_redirects=MAX_REDIRECTS,
                              event_hooks={"request": [on_request]}) as client:
                with client.stream(self.method, self.url, **kwargs) as resp:
                    data = self._read(resp, settings.http_max_response_size)
        except HTTPActionError:
            raise
        except egress.EgressRefused as e:      # refused when connecting (redirect, proxy...)
            raise URLNotAllowed(str(e)) from None
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError, TypeError) as e:
            raise HTTPActionError(f"Failed to send HTTP request: {type(e).__name__}: {e}") from None
        elapsed = time.monotonic() - started

        text, encoding = _decode(data, resp.charset_encoding)
        try:
            content = jsonlib.loads(text) if text.strip() else text
        except ValueError:
            content = text
        result = {
            "content": content,
            "status": resp.status_code,
            "headers": _response_headers(resp),
            "url": str(resp.url),
            "history": [{"url": str(h.url), "status": h.status_code, "reason": h.reason_phrase}
                        for h in resp.history],
            "encoding": encoding,
            "reason": resp.reason_phrase,
            "cookies": {c.name: c.value for c in resp.cookies.jar},
            "elapsed": round(elapsed, 6),
        }
        log.debug("std.http %s %s -> %s", self.method, self.url, resp.status_code)
        if not 200 <= resp.status_code < 307:
            return actions.Result(error=result)
        return result

    @staticmethod
    def _read(resp: httpx.Response, limit: int) -> bytes:
        declared = resp.headers.get("content-length")
        if limit and declared and declared.isdigit() and int(declared) > limit:
            raise HTTPActionError(
                f"HTTP response is too large (Content-Length={declared}, limit={limit} bytes; "
                "setting http_max_response_size, environment variable "
                "LEVANTE_HTTP_MAX_RESPONSE_SIZE).")
        chunks, size = [], 0
        for chunk in resp.iter_bytes(CHUNK):
            size += len(chunk)
            if limit and size > limit:
                raise HTTPActionError(
                    f"HTTP response is too large (more than {limit} bytes; setting "
                    "http_max_response_size, environment variable LEVANTE_HTTP_MAX_RESPONSE_SIZE).")
            chunks.append(chunk)
        return b"".join(chunks)

    def test(self, context):
        return None


class MistralHTTPAction(HTTPAction):
    """HTTP action that tells the target which workflow calls it, then waits.

    Same input as std.http. Adds the request headers Mistral-Workflow-Name,
    Mistral-Workflow-Execution-Id, Mistral-Task-Id, Mistral-Action-Execution-Id
    and Mistral-Callback-URL (/v2/action_executions/<id>). The action is
    asynchronous: it stays RUNNING until the target (or anyone) completes it
    with PUT /v2/action_executions/<id>; a failed request fails it at once.
    """

    def run(self, context):
        ex = getattr(context, "execution", None)
        action_id = getattr(ex, "action_execution_id", None)
        callback = getattr(ex, "callback_url", None) or (
            f"/v2/action_executions/{action_id}" if action_id else None)
        extra = {
            "Mistral-Workflow-Name": getattr(ex, "workflow_name", None),
            "Mistral-Workflow-Execution-Id": getattr(ex, "workflow_execution_id", None),
            "Mistral-Task-Id": getattr(ex, "task_execution_id", None),
            "Mistral-Action-Execution-Id": action_id,
            "Mistral-Callback-URL": callback,
        }
        self.headers = {**self.headers, **{k: str(v) for k, v in extra.items() if v is not None}}
        return super().run(context)

    def is_sync(self):
        return False
