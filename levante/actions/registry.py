"""Where action names resolve: built-ins, then Python plug-ins by entry point."""
from __future__ import annotations

import logging
from importlib import metadata

from levante.actions import zaqar
from levante.actions.base import ActionDef
from levante.actions.std import BUILTINS

log = logging.getLogger("levante.actions")

ENTRY_POINT_GROUPS = ("levante.actions", "mistral.actions")


class Registry:
    def __init__(self, load_plugins: bool = True):
        self._defs: dict[str, ActionDef] = {}
        for name, (cls, safe) in {**BUILTINS, **zaqar.ACTIONS}.items():
            self._defs[name] = ActionDef.from_class(name, cls, safe_rerun=safe)
        if load_plugins:
            self.load_plugins()

    def load_plugins(self) -> None:
        for group in ENTRY_POINT_GROUPS:
            for ep in metadata.entry_points(group=group):
                if ep.name in self._defs:
                    continue
                try:
                    self._defs[ep.name] = ActionDef.from_class(ep.name, ep.load())
                except Exception as e:   # a broken plug-in must not stop the server
                    log.warning("cannot load action %s from %s: %s", ep.name, ep.value, e)

    def get(self, name: str) -> ActionDef | None:
        return self._defs.get(name)

    def names(self) -> list[str]:
        return sorted(self._defs)

    def all(self) -> list[ActionDef]:
        return [self._defs[n] for n in self.names()]
