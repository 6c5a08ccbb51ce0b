"""Service settings: environment variables, then a YAML file, then defaults.

Each setting is looked up, in order of precedence, in

1. the environment variable ``LEVANTE_<NAME>`` (upper case), for example
   ``LEVANTE_HTTP_DENIED_CIDRS=127.0.0.0/8,::1/128``; lists are comma-separated
   and an empty value means an empty list;
2. the YAML file named by ``LEVANTE_CONFIG`` (``levante server --config FILE``
   sets it), a mapping of setting names to values, for example::

       http_denied_cidrs: [127.0.0.0/8, "::1/128", 169.254.0.0/16, fe80::/10]
       http_default_timeout: 30

3. the default.

Settings are read once (``get_settings()``); ``reload_settings()`` reads them
again (tests use it after changing the environment).

``transport_url`` is Mistral's ``[DEFAULT] transport_url``: the broker to
listen to for event triggers on OpenStack notifications (see
``levante.triggers.broker``).

The ``http_*`` settings are the egress policy (``levante.egress``) of
``std.http``, ``std.mistral_http``, notification webhooks, ``std.ssh`` and
``std.email``;
they match the ``[action_std_http]`` options of Mistral (``denied_cidrs``,
``allowed_hosts``, ``default_timeout``, ``max_response_size_bytes``), and the
denied ranges add "this network" (0.0.0.0/8, which reaches loopback) and the
unspecified IPv6 address to Mistral's. docs/security.md lists every limit.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import threading
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "LEVANTE_"
CONFIG_ENV = "LEVANTE_CONFIG"

# Loopback and link-local: localhost and the cloud metadata service
# (169.254.169.254) are out of reach unless the operator allows them.
# 0.0.0.0/8 and :: connect to the local host on Linux.
DEFAULT_HTTP_DENIED_CIDRS = ("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10",
                             "0.0.0.0/8", "::/128")


AUTH_MODES = ("none", "token", "oidc", "keystone")


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    # Addresses std.http may not connect to (SSRF protection); empty allows all.
    http_denied_cidrs: tuple[str, ...] = DEFAULT_HTTP_DENIED_CIDRS
    # If not empty, the only host names std.http may connect to.
    http_allowed_hosts: tuple[str, ...] = ()
    # Seconds a std.http request may take when the action sets no timeout; 0: no limit.
    http_default_timeout: float = 60.0
    # Largest std.http response body, in bytes; 0: no limit.
    http_max_response_size: int = 5 * 1024 * 1024
    # Code sources (Python uploaded through /v2/code_sources, run by the
    # executors): "auto" accepts uploads only when the API listens on a
    # loopback address, "true" always, "false" never (and runs none).
    allow_code_sources: str = "auto"
    # DELETE /v2/action_executions/{id} is refused (403) unless this is true
    # (Mistral's [api] allow_action_execution_deletion, default false).
    allow_action_execution_deletion: bool = False
    # The message broker whose OpenStack notifications fire event triggers on
    # other exchanges than Levante's own (oslo.messaging URL, e.g.
    # rabbit://user:password@host:5672/); empty: no broker.
    transport_url: str = ""
    # std.ssh_proxied may run its proxy_command (a shell command on this host).
    ssh_allow_proxy_command: bool = False
    # Largest request body the API reads, in bytes (413 beyond); 0: no limit.
    max_request_body_size: int = 10 * 1024 * 1024
    # Deepest nesting of arrays and objects in a JSON request body (400 beyond).
    max_json_depth: int = 100
    # Largest execution input, output, params, env, published variables and
    # action result, in KB, as Mistral's execution_field_size_limit_kb; 0: no limit.
    execution_field_size_limit_kb: int = 1024

    # -- budgets for untrusted workflows (docs/operations.md, "Budgets and caps") --
    # Seconds one evaluation of a task's expressions may run; 0: no limit.
    expression_timeout: float = 5.0
    # Seconds all the evaluations of one engine step (one execution's events) may
    # run together; 0: no limit.
    engine_step_timeout: float = 30.0
    # Longest string (characters) a Jinja template or an expression may produce; 0: no limit.
    expression_result_size: int = 10 * 1024 * 1024
    # YAQL's own limits: most items of any collection, most bytes of any value (0: no limit).
    yaql_limit_iterators: int = 1_000_000
    yaql_memory_quota: int = 64 * 1024 * 1024
    # Times a job may be claimed by a worker that then crashed or ran out of time
    # before it is quarantined (its execution fails saying why).
    job_max_attempts: int = 3
    # Executions started under one root execution: sub-workflows and mistral.* actions.
    max_executions_per_root: int = 1000
    # Depth of sub-workflow nesting (the root execution is depth 0).
    max_nesting_depth: int = 20
    # Largest retry `count` of a task.
    max_retry_count: int = 1000
    # Most items of one with-items task.
    max_with_items: int = 100_000
    # Engine threads in one process; each works on a different execution at a time.
    engine_workers: int = 2
    # Seconds an idle engine or executor loop waits before it looks for work it
    # was not woken for (the scheduler waits twice as long). Wake-ups come
    # in-process and, on PostgreSQL, from other processes (LISTEN/NOTIFY).
    job_poll_interval: float = 0.5
    # The server process's data limit (RLIMIT_DATA), MB; 0: none (levante.memory).
    memory_limit_mb: int = 0

    # Who may call the API: none (loopback only), token, oidc or keystone.
    auth: str = "none"
    # Host header values accepted in mode none besides the bound address and loopback names.
    allowed_hosts: tuple[str, ...] = ()
    # An oslo.policy file (YAML or JSON) overriding the default rules.
    policy_file: str = ""
    # Mode oidc: the issuer (iss), its JWKS URL, the audience, and the claims to read.
    oidc_issuer: str = ""
    oidc_jwks_url: str = ""
    oidc_audience: str = ""
    oidc_project_claim: str = "project_id"
    oidc_roles_claim: str = "roles"
    oidc_admin_role: str = "admin"
    # Mode keystone: keystonemiddleware auth_token options ([keystone_authtoken]).
    keystone_auth_url: str = ""
    keystone_username: str = ""
    keystone_password: str = ""
    keystone_project_name: str = "service"
    # Seconds a validated token is trusted before it is checked again.
    auth_cache_ttl: float = 60.0

    def http_denied_networks(self) -> tuple:
        return tuple(ipaddress.ip_network(c, strict=False) for c in self.http_denied_cidrs)


def _as_list(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise SettingsError(f"setting {name} must be a list or a comma-separated string, "
                            f"not {value!r}")
    return tuple(str(i).strip() for i in items if str(i).strip())


def _as_number(kind: type, name: str, value: Any):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise SettingsError(f"setting {name} must be a number, not {value!r}") from None
    if number < 0:
        raise SettingsError(f"setting {name} must not be negative, not {value!r}")
    return number


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"setting {name} must be true or false, not {value!r}")


#: Settings that take auto, true or false (YAML booleans included).
AUTO_OR_BOOL = ("allow_code_sources",)


def _as_auto_or_bool(name: str, value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        return "true" if _as_bool(name, value) else "false"
    except SettingsError:
        raise SettingsError(f"setting {name} must be auto, true or false, not {value!r}") from None


def _convert(field: dataclasses.Field, value: Any) -> Any:
    if field.name in AUTO_OR_BOOL:
        return _as_auto_or_bool(field.name, value)
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if kind == "bool":
        return _as_bool(field.name, value)
    if kind.startswith("tuple"):
        return _as_list(field.name, value)
    if kind == "bool":
        return _as_bool(field.name, value)
    if kind == "float":
        return _as_number(float, field.name, value)
    if kind == "int":
        return _as_number(int, field.name, value)
    if kind == "str":
        if not isinstance(value, str):
            raise SettingsError(f"setting {field.name} must be a string, not {value!r}")
        return value.strip()
    return value


def _read_file(path: str) -> dict:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise SettingsError(f"cannot read the config file {path} ({CONFIG_ENV}): {e}") from None
    except yaml.YAMLError as e:
        raise SettingsError(f"the config file {path} is not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"the config file {path} must hold a mapping of setting names to values")
    return data


def load_settings(environ: dict | None = None) -> Settings:
    """Read the settings now, without touching the cache."""
    environ = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    from_file: dict = {}
    path = environ.get(CONFIG_ENV)
    if path:
        from_file = _read_file(path)
        unknown = sorted(set(from_file) - set(fields))
        if unknown:
            raise SettingsError(f"unknown setting(s) {', '.join(map(str, unknown))} in the config "
                                f"file {path}; known settings: {', '.join(fields)}")
    values = {}
    for name, field in fields.items():
        env_name = ENV_PREFIX + name.upper()
        raw = environ.get(env_name)
        if raw is not None and (raw.strip() or field.type.startswith("tuple")):
            values[name] = _convert(field, raw)
        elif name in from_file:
            values[name] = _convert(field, from_file[name])
    settings = Settings(**values)
    if settings.transport_url and "://" not in settings.transport_url:
        raise SettingsError(f"setting transport_url must be a URL such as "
                            f"rabbit://user:password@host:5672/, not {settings.transport_url!r}")
    if settings.auth not in AUTH_MODES:
        raise SettingsError(f"setting auth must be one of {', '.join(AUTH_MODES)}, not {settings.auth!r}")
    for cidr in settings.http_denied_cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise SettingsError(f"setting http_denied_cidrs: {cidr!r} is not an address range "
                                "such as 10.0.0.0/8 or fe80::/10") from None
    return settings


_lock = threading.Lock()
_cached: Settings | None = None


def get_settings() -> Settings:
    """The settings, read on first use."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = load_settings()
        return _cached


def reload_settings() -> Settings:
    """Read the settings again (after the environment or the file changed)."""
    global _cached
    with _lock:
        _cached = load_settings()
        return _cached
