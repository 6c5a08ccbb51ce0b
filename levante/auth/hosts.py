"""Mode ``none``'s guard against browsers: DNS rebinding and cross-site writes.

Without credentials, the only thing that keeps a web page in the user's
browser from driving the API is the browser itself. So, in this mode:

* the ``Host`` header must name this server (the bound address, ``localhost``,
  ``127.0.0.1``, ``[::1]`` or a configured ``allowed_hosts`` entry): a page on
  ``evil.example`` whose name was rebound to 127.0.0.1 still sends
  ``Host: evil.example``;
* a state-changing request (anything but GET, HEAD, OPTIONS) from a browser
  must come from this server's own origin: browsers send ``Origin`` (and
  ``Sec-Fetch-Site``) on cross-site requests, including the "simple"
  ``text/plain`` POSTs that need no CORS preflight.

Command-line clients send neither header and are not affected.
"""
from __future__ import annotations

import ipaddress

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the service on this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(value: str) -> str:
    """``Host`` header value without its port, lower case, IPv6 without brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class BrowserGuard:
    """Checks a request's ``Host`` and ``Origin``; says why it is refused, or None."""

    def __init__(self, bound_host: str, allowed_hosts: tuple[str, ...] = ()):
        names = {*LOOPBACK_NAMES, *(h.lower() for h in allowed_hosts)}
        if bound_host not in ("0.0.0.0", "::", ""):
            names.add(_host_name(bound_host) if not bound_host.startswith("[") else bound_host[1:-1])
            names.add(bound_host.strip("[]").lower())
        self.allowed = frozenset(names)

    def refusal(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if _host_name(host) not in self.allowed:
            return 400, (f"Host header {host!r} is not allowed: without authentication this "
                         "service answers only to its own address (add the name to the "
                         "allowed_hosts setting, or enable an authentication mode)")
        if method in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in self._own_origins(host):
            return 403, (f"Cross-site request refused: Origin {origin!r} is not this service's "
                         "own; without authentication only same-origin browser requests may "
                         "change state")
        if origin is None and headers.get("sec-fetch-site", "same-origin") not in (
                "same-origin", "none"):
            return 403, ("Cross-site request refused: without authentication only "
                         "same-origin browser requests may change state")
        return None

    @staticmethod
    def _own_origins(host: str) -> set[str]:
        host = host.strip().lower()
        return {f"http://{host}", f"https://{host}"}
