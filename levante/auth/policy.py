"""Per-operation access rules with oslo.policy, named and defaulted as Mistral's.

Every API call maps to one rule (``workflows:create``, ``executions:list``,
``executions:list:all_projects``...) checked with the caller's credentials
against the target ``{"project_id": <caller's project>}``, as Mistral does.
The defaults let a project member do everything in its project
(``admin_or_owner``) and keep listing across projects to admins
(``admin_only``); a policy file (YAML or JSON, the ``policy_file`` setting)
overrides any rule, for example::

    "workflows:create": "role:creator"
    "executions:delete": "rule:admin_only"

A change to the file takes effect without a restart: at most once every
``RELOAD_CHECK_SECONDS`` a request looks at the file's modification time,
size and inode, and when they changed the rules are read again (oslo.policy's
Enforcer reloads a changed file itself, but the decisions remembered here
would hide the change, so they are dropped then too). A file that no longer
parses is logged and the rules read before stay in force; a removed file
leaves the default rules in force.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from urllib.parse import parse_qs

from oslo_config import cfg
from oslo_policy import policy as oslo

from levante.errors import Forbidden
from levante.store.scope import Caller

log = logging.getLogger("levante.auth")

RELOAD_CHECK_SECONDS = 1.0
ADMIN_ONLY = "rule:admin_only"
ADMIN_OR_OWNER = "rule:admin_or_owner"

# Resource collections and the operations Mistral has rules for.
RESOURCES = {
    "action_executions": ("create", "delete", "get", "list", "update"),
    "actions": ("create", "delete", "get", "list", "publicize", "update"),
    "code_sources": ("create", "delete", "get", "list", "update"),
    "cron_triggers": ("create", "delete", "get", "list", "update"),
    "dynamic_actions": ("create", "delete", "get", "list", "update"),
    "environments": ("create", "delete", "get", "list", "update"),
    "event_triggers": ("create", "delete", "get", "list", "update"),
    "executions": ("create", "delete", "get", "list", "update"),
    "members": ("create", "delete", "get", "list", "update"),
    "services": ("list",),
    "tasks": ("get", "list", "update"),
    "workbooks": ("create", "delete", "get", "list", "update"),
    "workflows": ("create", "delete", "get", "list", "publicize", "update"),
    "queues": ("create", "delete", "get", "list", "update"),
}
# Levante's own: managing API tokens is for admins only.
EXTRA = {f"tokens:{op}": ADMIN_ONLY for op in ("create", "delete", "list")}


def default_rules() -> list[oslo.RuleDefault]:
    rules = [oslo.RuleDefault("admin_only", "is_admin:True"),
             oslo.RuleDefault("admin_or_owner", "is_admin:True or project_id:%(project_id)s")]
    for res, ops in RESOURCES.items():
        rules += [oslo.RuleDefault(f"{res}:{op}", ADMIN_OR_OWNER) for op in ops]
        if "list" in ops and res not in ("services", "members"):
            rules.append(oslo.RuleDefault(f"{res}:list:all_projects", ADMIN_ONLY))
    rules.append(oslo.RuleDefault("event_triggers:create:public", ADMIN_ONLY))
    rules += [oslo.RuleDefault(name, check) for name, check in EXTRA.items()]
    return rules


def rule_for(method: str, path: str, query: str) -> list[str]:
    """The rules a call must pass (none for paths without one: versions, validation)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or parts[0] != "v2":
        return []
    parts = parts[1:]
    if parts[0] == "auth" and parts[1:2] == ["tokens"]:
        return [f"tokens:{ {'GET': 'list', 'POST': 'create', 'DELETE': 'delete'}.get(method, 'list')}"]
    if len(parts) >= 2 and parts[1] == "validate":
        return []
    res = parts[0]
    if res in ("actions", "queues") and len(parts) > 2:
        # /v2/actions/{name}/{namespace}; a queue's messages, claims and stats are the queue's
        parts = parts[:2]
    if len(parts) >= 3:
        sub = parts[2]
        if sub in ("report", "events"):
            res, parts = res, parts[:2]
        elif sub in ("executions", "workflow_executions"):
            res, parts = "executions", [sub] + parts[3:]
        else:
            res, parts = sub, parts[2:]
    if res not in RESOURCES:
        return []
    item = len(parts) % 2 == 0
    op = {"GET": "get" if item else "list", "HEAD": "get" if item else "list",
          "POST": "create", "PUT": "update", "DELETE": "delete", "PATCH": "update"}.get(method)
    if op is None or op not in RESOURCES[res]:
        return []
    rules = [f"{res}:{op}"]
    q = parse_qs(query)
    if op == "list" and q.get("all_projects", [""])[0].lower() == "true":
        rules.append(f"{res}:list:all_projects")
    if op in ("create", "update") and q.get("scope", [""])[0] == "public" and "publicize" in RESOURCES[res]:
        rules.append(f"{res}:publicize")
    return rules


class Policy:
    def __init__(self, policy_file: str | None = None):
        if policy_file and not os.path.isfile(policy_file):
            raise FileNotFoundError(f"no such file: {policy_file}")
        conf = cfg.ConfigOpts()
        conf([], project="levante", default_config_files=[], default_config_dirs=[])
        self.enforcer = oslo.Enforcer(conf, policy_file=policy_file)
        self.enforcer.register_defaults(default_rules())
        self._file = policy_file or None
        self._stamp = self._file_stamp()
        if policy_file:
            # Fail at start, not at the first request, when the file is unusable.
            self.enforcer.load_rules(force_reload=True)
        self._decisions: dict[tuple, bool] = {}
        self._next_check = time.monotonic() + RELOAD_CHECK_SECONDS
        self._reload_lock = threading.Lock()

    def _file_stamp(self) -> tuple | None:
        if not self._file:
            return None
        try:
            st = os.stat(self._file)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _maybe_reload(self) -> None:
        """Read the policy file again if it changed since the last look."""
        now = time.monotonic()
        if self._file is None or now < self._next_check or not self._reload_lock.acquire(blocking=False):
            return
        try:
            self._next_check = now + RELOAD_CHECK_SECONDS
            stamp = self._file_stamp()
            if stamp == self._stamp:
                return
            self._stamp = stamp
            if stamp is None:   # oslo.policy then falls back to the defaults: so do the decisions
                log.error("policy file %s is gone: the default rules are in force", self._file)
            try:
                self.enforcer.load_rules(force_reload=True)
            except Exception as e:
                log.error("policy file %s changed but cannot be used (%s: %s); the rules read before "
                          "stay in force", self._file, type(e).__name__, e)
                return
            self._decisions = {}
            log.info("policy file %s changed: its rules are in force", self._file)
        finally:
            self._reload_lock.release()

    def check(self, caller: Caller, method: str, path: str, query: str) -> None:
        rules = rule_for(method, path, query)
        if not rules:
            return
        for rule in rules:
            if not self.allowed(rule, caller):
                raise Forbidden(f"Policy doesn't allow {rule} to be performed.")

    def allowed(self, rule: str, caller: Caller) -> bool:
        # The target is the caller's own project (as Mistral's), so a decision
        # depends only on the rule and the credentials: remember it.
        self._maybe_reload()
        decisions = self._decisions
        key = (rule, caller.project_id, caller.user_id, caller.is_admin, caller.roles)
        decision = decisions.get(key)
        if decision is None:
            creds = {"is_admin": caller.is_admin, "project_id": caller.project_id,
                     "user_id": caller.user_id, "roles": list(caller.roles)}
            target = {"project_id": caller.project_id, "user_id": caller.user_id}
            try:
                decision = bool(self.enforcer.enforce(rule, target, creds))
            except oslo.PolicyNotRegistered:
                raise
            except Exception as e:
                # The Enforcer read a changed file that does not parse: it keeps the rules it had.
                log.error("policy file %s cannot be used (%s: %s); the rules read before stay in force",
                          self._file, type(e).__name__, e)
                decision = bool(self.enforcer.enforce(rule, target, creds))
            if len(decisions) > 50000:
                decisions.clear()
            decisions[key] = decision
        return decision
