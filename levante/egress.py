"""The egress policy: where workflows may make the server connect to.

One policy for every outbound connection a workflow can ask for: ``std.http``
and ``std.mistral_http`` (each redirect hop and each proxy given in ``proxies``
included), notification webhooks, ``std.ssh`` / ``std.ssh_proxied`` and
``std.email``.

* Only the schemes the caller allows (http and https for HTTP).
* With ``http_allowed_hosts`` set, only those host names.
* No address inside ``http_denied_cidrs`` (loopback, "this network" 0.0.0.0/8,
  the unspecified address ``::``, link-local with the cloud metadata service,
  by default). Every IPv4 range is also denied in its IPv4-mapped IPv6 form
  (``::ffff:127.0.0.1``), whatever the list says.

The address check runs on the address actually connected to: a host name is
resolved once, every address it resolves to is checked, and the socket is
opened to that checked address (never resolved again), so a DNS answer that
changes between the check and the connection cannot slip through.
:func:`check_url` is the early check with the clearer message; the connection
check (:func:`connect`, :class:`PolicyBackend`) is the guarantee.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx

from levante.config import Settings, get_settings

_SETTING_HINT = "(setting http_denied_cidrs, environment variable LEVANTE_HTTP_DENIED_CIDRS)"
_MAPPED_V4 = ipaddress.ip_network("::ffff:0:0/96")


class EgressRefused(Exception):
    """The egress policy refuses a connection; the message says why and which setting."""


def denied_networks(settings: Settings | None = None) -> tuple:
    """The denied ranges, each IPv4 range followed by its IPv4-mapped IPv6 form."""
    settings = settings or get_settings()
    out = []
    for net in settings.http_denied_networks():
        out.append(net)
        if net.version == 4:
            mapped = ipaddress.ip_network(
                f"::ffff:{net.network_address}/{96 + net.prefixlen}", strict=False)
            out.append(mapped)
    return tuple(out)


def denied_range(addr, networks) -> object | None:
    """The denied range holding ``addr`` (an IPv4-mapped address counts as its IPv4 form)."""
    candidates = [addr]
    if addr.version == 6 and addr in _MAPPED_V4:
        candidates.append(addr.ipv4_mapped)
    for net in networks:
        if any(a.version == net.version and a in net for a in candidates):
            return net
    return None


def _address(sockaddr_host: str):
    try:
        return ipaddress.ip_address(str(sockaddr_host).split("%", 1)[0])
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[tuple]:
    """``getaddrinfo`` for TCP; raises OSError (socket.gaierror) when it cannot."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except UnicodeError as e:
        raise socket.gaierror(f"invalid host name {host!r}: {e}") from None


def check_allowed_host(host: str, what: str, settings: Settings) -> None:
    allowed = {h.lower() for h in settings.http_allowed_hosts}
    if allowed and host.lower().strip("[]") not in allowed:
        raise EgressRefused(
            f"{what}: host '{host}' is not in the allowed hosts {sorted(allowed)} "
            "(setting http_allowed_hosts, environment variable LEVANTE_HTTP_ALLOWED_HOSTS).")


def _refusal(what: str, host: str, addr, net) -> EgressRefused:
    resolves = "" if host.strip("[]") == str(addr) else f" (host '{host}' resolves to {addr})"
    return EgressRefused(f"{what}{resolves}: address {addr} is in the denied range {net} "
                         f"{_SETTING_HINT}.")


def check_addresses(infos: list[tuple], host: str, what: str, networks) -> None:
    for info in infos:
        addr = _address(info[4][0])
        if addr is None:
            continue
        net = denied_range(addr, networks)
        if net is not None:
            raise _refusal(what, host, addr, net)


def check_host(host: str, port: int, what: str, settings: Settings | None = None) -> None:
    """Refuse ``host`` if it is not allowed or resolves to a denied address.

    A host that does not resolve here passes: there is no address to refuse, and
    the connection (which checks again) will fail or happen through a proxy.
    """
    settings = settings or get_settings()
    check_allowed_host(host, what, settings)
    networks = denied_networks(settings)
    if not networks:
        return
    try:
        infos = resolve(host.strip("[]"), port)
    except OSError:
        return
    check_addresses(infos, host, what, networks)


_URL_ROLES = {  # role: (what the URL is, how a refusal starts)
    "url": ("URL", "Refused to connect to"),
    "redirect": ("redirect target", "Refused to follow a redirect to"),
    "proxy": ("proxy URL", "Refused to use the proxy"),
    "webhook": ("webhook URL", "Refused to notify"),
}


def check_url(url: str, settings: Settings | None = None, role: str = "url",
              schemes: tuple[str, ...] = ("http", "https")) -> None:
    """Raise EgressRefused unless the policy lets a request reach ``url``."""
    settings = settings or get_settings()
    what, refused = _URL_ROLES[role]
    try:
        parts = urlsplit(str(url))
        host = parts.hostname
        port = parts.port
    except ValueError as e:
        raise EgressRefused(f"Invalid {what}: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise EgressRefused(f"The {what} scheme '{parts.scheme}' is not allowed "
                            f"(only {' and '.join(schemes)} {'is' if len(schemes) == 1 else 'are'}).")
    if not host:
        raise EgressRefused(f"The {what} has no host: {url}")
    where = f"{scheme}://{parts.netloc.rpartition('@')[2]}"     # no credentials, path or query
    check_host(host, port or (443 if scheme == "https" else 80), f"{refused} {where}", settings)


def connect(host: str, port: int, timeout: float | None = None,
            settings: Settings | None = None, what: str | None = None) -> socket.socket:
    """A TCP socket to ``host:port`` opened to an address the policy allows.

    The host is resolved once; if any of its addresses is denied the
    connection is refused, else the addresses are tried in order.
    """
    settings = settings or get_settings()
    what = what or f"Refused to connect to {host}:{port}"
    check_allowed_host(host, what, settings)
    networks = denied_networks(settings)
    infos = resolve(host.strip("[]"), port)
    if networks:
        check_addresses(infos, host, what, networks)
    error: OSError | None = None
    for family, kind, proto, _canon, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as e:
            sock.close()
            error = e
            continue
        return sock
    raise error or OSError(f"cannot connect to {host}:{port}: no address")


# ---------------------------------------------------------------- httpx

class PolicyBackend(httpcore.SyncBackend):
    """httpcore network backend that connects only to addresses the policy allows:
    it resolves the host once, checks every address, and connects to the checked
    address itself (a literal IP, so nothing resolves it again)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        what = f"Refused to connect to {host}:{port}"
        check_allowed_host(host, what, self.settings)
        networks = denied_networks(self.settings)
        if not networks:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            infos = resolve(host.strip("[]"), port)
        except OSError as e:
            raise httpcore.ConnectError(str(e)) from e
        check_addresses(infos, host, what, networks)
        error: Exception | None = None
        for info in infos:
            try:
                return super().connect_tcp(info[4][0], port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        raise error or httpcore.ConnectError(f"cannot connect to {host}:{port}")


def environment_mounts(**kwargs) -> dict:
    """httpx mounts for the operator's proxies (HTTP_PROXY, NO_PROXY and the
    like), which httpx skips when a client is given its own transport. They are
    the operator's choice: connections to them are not checked."""
    try:
        from httpx._utils import get_environment_proxies
    except ImportError:         # pragma: no cover - a future httpx
        return {}
    return {pattern: httpx.HTTPTransport(proxy=url, **kwargs) if url else None
            for pattern, url in get_environment_proxies().items()}


def http_transport(settings: Settings | None = None, **kwargs) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` whose every TCP connection (to the server, or to
    the ``proxy`` given in kwargs) goes through :class:`PolicyBackend`."""
    transport = httpx.HTTPTransport(**kwargs)
    # httpx has no public hook for the network backend of its pool; httpcore's
    # pools (direct, HTTP and SOCKS proxies) all open their connections with it.
    transport._pool._network_backend = PolicyBackend(settings or get_settings())
    return transport
