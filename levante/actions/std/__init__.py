"""The ``std.*`` actions. Each module holds one family; ``BUILTINS`` names them.

``BUILTINS`` maps an action name to (class, safe_rerun): ``safe_rerun`` marks
actions that may run again after an executor crash without harm.
"""
from __future__ import annotations

from levante.actions.std import basic, email, ssh
from levante.actions.std import http
from levante.actions.std import javascript

BUILTINS: dict[str, tuple[type, bool]] = {
    "std.echo": (basic.EchoAction, True),
    "std.noop": (basic.NoOpAction, True),
    "std.async_noop": (basic.AsyncNoOpAction, False),
    "std.fail": (basic.FailAction, True),
    "std.sleep": (basic.SleepAction, True),
    "std.test_dict": (basic.TestDictAction, True),
    "std.http": (http.HTTPAction, False),
    "std.mistral_http": (http.MistralHTTPAction, False),
    "std.ssh": (ssh.SSHAction, False),
    "std.ssh_proxied": (ssh.SSHProxiedAction, False),
    "std.email": (email.SendEmailAction, False),
    "std.javascript": (javascript.JavaScriptAction, True),
    "std.js": (javascript.JavaScriptAction, True),
}
