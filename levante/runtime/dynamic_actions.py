"""Dynamic actions: action classes defined in code sources (Python modules
uploaded through ``/v2/code_sources``) and registered by name through
``/v2/dynamic_actions``.

Every process loads a module from the database the first time one of its
actions runs, and caches it by (code source id, version): an updated code
source has a new version, so the next run anywhere loads the new text, with
no restart and no message between processes.

The code runs inside the server process with the server's rights; the setting
``allow_code_sources`` (docs/actions.md) decides whether it may.
"""
from __future__ import annotations

import logging
import threading
import types

from levante.actions.base import ActionDef
from levante.config import get_settings
from levante.errors import BadRequest, Forbidden
from levante.store import code_sources as store
from levante.store.db import Database

log = logging.getLogger("levante.actions")

DISABLED = ("Code sources are disabled on this server (setting allow_code_sources); "
            "ask its operator to enable them.")


class DynamicActionError(Exception):
    """A dynamic action cannot be loaded (its code or its class is broken)."""


def load_module(name: str, content: str, version: int) -> types.ModuleType:
    """Execute a code source's text as a fresh module (not put in sys.modules)."""
    module = types.ModuleType(name)
    module.__file__ = f"<code source {name} v{version}>"
    code = compile(content, module.__file__, "exec")
    exec(code, module.__dict__)     # noqa: S102 - the point of a code source
    return module


def action_class(module: types.ModuleType, class_name: str) -> type:
    cls = getattr(module, class_name, None)
    if cls is None:
        raise DynamicActionError(f"Class '{class_name}' not found in code source '{module.__name__}'")
    if not isinstance(cls, type) or not callable(getattr(cls, "run", None)):
        raise DynamicActionError(f"'{class_name}' in code source '{module.__name__}' is not an action "
                                 "class (a class with a run(context) method)")
    return cls


def check_source(name: str, content: str) -> None:
    """Refuse text that is not Python (a 400 naming the line), without running it."""
    try:
        compile(content, f"<code source {name}>", "exec")
    except SyntaxError as e:
        raise BadRequest(f"Code source '{name}' is not valid Python: {e.msg} "
                         f"(line {e.lineno}, column {e.offset})") from None


def check_allowed(api_listens_on_loopback: bool = True) -> None:
    """Raise 403 when this server may not accept code sources."""
    value = get_settings().allow_code_sources
    if value == "false" or (value == "auto" and not api_listens_on_loopback):
        raise Forbidden(DISABLED)


def runs_allowed() -> bool:
    return get_settings().allow_code_sources != "false"


class DynamicActions:
    """Finds dynamic actions by name and loads their classes, cached by version."""

    def __init__(self, db: Database):
        self.db = db
        self._modules: dict[str, tuple[int, types.ModuleType]] = {}
        self._defs: dict[tuple, ActionDef] = {}
        self._lock = threading.Lock()

    def exists(self, name: str, namespace: str | None = None, project_id: str | None = None) -> bool:
        with self.db.read() as conn:
            return store.runnable(conn, name, namespace, project_id) is not None

    def get(self, name: str, namespace: str | None = None,
            project_id: str | None = None) -> ActionDef | None:
        """The action's definition with its current class; None if there is no
        such dynamic action that ``project_id`` may run (None: any);
        DynamicActionError if its code cannot be loaded."""
        with self.db.read() as conn:
            row = store.runnable(conn, name, namespace, project_id)
        if row is None:
            return None
        if not runs_allowed():
            raise DynamicActionError(DISABLED)
        key = (row.id, row.class_name, row.code_source_id, row.version)
        with self._lock:
            hit = self._defs.get(key)
            if hit is not None:
                return hit
            module = self._module(row.code_source_id, row.version)
            d = ActionDef.from_class(name, action_class(module, row.class_name))
            self._defs = {k: v for k, v in self._defs.items() if k[0] != row.id}
            self._defs[key] = d
            return d

    def _module(self, code_source_id: str, version: int) -> types.ModuleType:
        hit = self._modules.get(code_source_id)
        if hit is not None and hit[0] == version:
            return hit[1]
        with self.db.read() as conn:
            src = store.content(conn, code_source_id)
        if src is None:
            raise DynamicActionError(f"Code source not found [id={code_source_id}]")
        try:
            module = load_module(src.name, src.content, src.version)
        except Exception as e:      # user code may raise anything while loading
            raise DynamicActionError(f"Cannot load code source '{src.name}' "
                                     f"(version {src.version}): {type(e).__name__}: {e}") from None
        log.info("loaded code source %s version %d", src.name, src.version)
        self._modules[code_source_id] = (src.version, module)
        return module
