"""Where action names resolve: built-ins (``std.*``, the service's own
``mistral.*``, ``zaqar.*``, ``ansible`` and ``ansible-playbook``), then
Python plug-ins found by entry point.

Plug-ins are classes with mistral-lib's action interface, registered under the
entry-point group ``levante.actions`` or ``mistral.actions`` (Mistral's own
group, so Mistral plug-in packages load unchanged). A built-in name always
wins; between plug-ins, ``levante.actions`` is read first and the first one
found for a name wins.

New plug-ins are picked up without a restart: a name that is not known (and
listing the actions) rescans the entry points, at most once every
``LEVANTE_PLUGIN_RESCAN_SECONDS`` (default 5; 0 = on every miss, a negative
value turns rescanning off). A plug-in already loaded is not reloaded: a
changed plug-in needs a restart.

A plug-in whose entry point fails to load (a missing dependency, an error
at import) is remembered with its cause: :meth:`Registry.load_error` gives
the message that the API and the executor add to "action not found", so the
user sees which plug-in failed and why, not only the server log.
"""
from __future__ import annotations

import importlib
import logging
import os
import site
import sys
import threading
import time
from importlib import metadata

from levante.actions import ansible, zaqar
from levante.actions.base import ActionDef
from levante.actions.std import BUILTINS

log = logging.getLogger("levante.actions")

ENTRY_POINT_GROUPS = ("levante.actions", "mistral.actions")
DEFAULT_RESCAN_SECONDS = 5.0


def _site_dirs() -> list[str]:
    dirs = []
    try:
        dirs += site.getsitepackages()
    except AttributeError:      # pragma: no cover - some embedded interpreters
        pass
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dirs if os.path.isdir(d)]


def _pth_files() -> set[tuple[str, str]]:
    found = set()
    for d in _site_dirs():
        try:
            found.update((d, n) for n in os.listdir(d) if n.endswith(".pth"))
        except OSError:
            pass
    return found


# The .pth files Python read when it started; one that appears later (an
# editable ``pip install -e`` of a plug-in) is read on the next rescan.
_PTH_SEEN = _pth_files()
_PTH_LOCK = threading.Lock()


def _activate_new_site_entries() -> None:
    add = getattr(site, "addpackage", None)
    with _PTH_LOCK:
        new = _pth_files() - _PTH_SEEN
        _PTH_SEEN.update(new)
    if add is None:
        return
    for d, name in sorted(new):
        try:
            add(d, name, set(sys.path))
        except Exception as e:     # a broken .pth file must not stop the server
            log.warning("cannot read %s: %s", os.path.join(d, name), e)


def _rescan_interval() -> float:
    try:
        return float(os.environ.get("LEVANTE_PLUGIN_RESCAN_SECONDS", DEFAULT_RESCAN_SECONDS))
    except ValueError:
        return DEFAULT_RESCAN_SECONDS


class Registry:
    def __init__(self, load_plugins: bool = True, rescan_interval: float | None = None):
        self._defs: dict[str, ActionDef] = {}
        self._origin: dict[str, str] = {}        # name -> "builtin" or the entry point's value
        self._failed: dict[str, tuple[str, str]] = {}   # name -> (entry point value, why it failed)
        self._lock = threading.Lock()
        self._plugins = load_plugins
        self._interval = _rescan_interval() if rescan_interval is None else rescan_interval
        self._last_scan = 0.0
        for name, (cls, safe) in BUILTINS.items():
            self._add_builtin(name, cls, safe)
        from levante.actions import service     # the service's own API as mistral.* actions

        for name, (cls, safe) in {**service.ACTIONS, **zaqar.ACTIONS, **ansible.ACTIONS}.items():
            self._add_builtin(name, cls, safe)
        if load_plugins:
            self.load_plugins()

    def _add_builtin(self, name: str, cls: type, safe: bool) -> None:
        self._defs[name] = ActionDef.from_class(name, cls, safe_rerun=safe)
        self._origin[name] = "builtin"

    # ------------------------------------------------------------ plug-ins

    def load_plugins(self) -> list[str]:
        """Scan the entry points now; return the names newly loaded."""
        with self._lock:
            self._last_scan = time.monotonic()
            _activate_new_site_entries()
            importlib.invalidate_caches()
            loaded = []
            for group in ENTRY_POINT_GROUPS:
                try:
                    eps = metadata.entry_points(group=group)
                except Exception as e:      # pragma: no cover - a broken dist-info
                    log.warning("cannot read entry points of group %s: %s", group, e)
                    continue
                for ep in eps:
                    if ep.name in self._defs:
                        if self._origin.get(ep.name) not in ("builtin", ep.value):
                            log.debug("action %s from %s ignored: already defined by %s",
                                      ep.name, ep.value, self._origin[ep.name])
                        continue
                    try:
                        cls = ep.load()
                        if not isinstance(cls, type) or not callable(getattr(cls, "run", None)):
                            raise TypeError("not an action class (a class with a run(context) method)")
                        d = ActionDef.from_class(ep.name, cls)
                    except Exception as e:   # a broken plug-in must not stop the server
                        if self._failed.get(ep.name, ("",))[0] != ep.value:
                            log.warning("cannot load action %s from %s: %s", ep.name, ep.value, e)
                            self._failed[ep.name] = (ep.value, _load_failure(ep, group, e))
                        continue
                    self._defs[ep.name] = d
                    self._origin[ep.name] = ep.value
                    self._failed.pop(ep.name, None)
                    loaded.append(ep.name)
        if loaded:
            log.info("loaded plug-in action(s): %s", ", ".join(sorted(loaded)))
        return loaded

    def maybe_rescan(self) -> bool:
        """Rescan the entry points if the last scan is old enough; True if it ran."""
        if not self._plugins or self._interval < 0:
            return False
        if time.monotonic() - self._last_scan < self._interval:
            return False
        self.load_plugins()
        return True

    def load_error(self, name: str) -> str | None:
        """Why the plug-in entry point named ``name`` failed to load, or None."""
        failed = self._failed.get(name)
        return failed[1] if failed else None

    def origin(self, name: str) -> str | None:
        """``builtin``, the entry point (``module:Class``) of a plug-in, or None."""
        return self._origin.get(name)

    # ------------------------------------------------------------ lookups

    def get(self, name: str, rescan: bool = True) -> ActionDef | None:
        d = self._defs.get(name)
        if d is None and rescan and self.maybe_rescan():
            d = self._defs.get(name)
        return d

    def names(self) -> list[str]:
        self.maybe_rescan()
        return sorted(list(self._defs))    # list(): one atomic copy, even during a rescan

    def all(self) -> list[ActionDef]:
        return [self._defs[n] for n in self.names()]


def _load_failure(ep, group: str, error: Exception) -> str:
    """The user-facing cause of a plug-in that failed to load."""
    dist = getattr(getattr(ep, "dist", None), "name", None)
    where = f"plug-in {dist!r}" if dist else "a plug-in"
    return (f"{where} failed to load it (entry point {ep.name} = {ep.value} in group {group}): "
            f"{type(error).__name__}: {error}")
