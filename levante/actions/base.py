"""One interface for every kind of action: a name, an input signature and a
way to run. Python actions use mistral-lib's API (``Action.run(context)``,
``is_sync()``, ``Result(data, error)``), so Mistral's plug-ins load unchanged.
"""
from __future__ import annotations

import gc
import inspect
import json
from dataclasses import dataclass, field
from typing import Any

from mistral_lib import actions as ml_actions

from levante import memory

MISSING = inspect.Parameter.empty
_OUT_OF_MEMORY = object()


class ActionInputError(Exception):
    """The given input does not fit the action's signature."""


@dataclass
class Outcome:
    """What running an action produced.

    ``kind``: ``ok`` (``value`` is the result), ``error`` (``value`` is the error),
    ``async`` (completed later through the API), ``delay`` (completes by itself
    after ``delay`` seconds with ``value``: no thread waits for it).
    """

    kind: str
    value: Any = None
    delay: float = 0.0


class Deferred(Exception):
    """Raised by a built-in action that finishes by timer, not by a thread."""

    def __init__(self, seconds: float, value: Any = None):
        super().__init__(seconds)
        self.seconds = seconds
        self.value = value


@dataclass
class ActionDef:
    name: str
    cls: type
    description: str = ""
    safe_rerun: bool = False        # idempotent: may run again after an executor crash
    params: list[tuple[str, Any]] = field(default_factory=list)

    @classmethod
    def from_class(cls, name: str, action_cls: type, safe_rerun: bool = False) -> "ActionDef":
        params = []
        sig = inspect.signature(action_cls.__init__)
        for pname, p in sig.parameters.items():
            if pname == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            params.append((pname, p.default))
        doc = inspect.getdoc(action_cls) or ""
        return cls(name=name, cls=action_cls, description=doc, safe_rerun=safe_rerun, params=params)

    @property
    def accepts_any(self) -> bool:
        sig = inspect.signature(self.cls.__init__)
        return any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())

    def input_display(self) -> str:
        """Mistral's signature string: ``output, delay=0``."""
        parts = []
        for pname, default in self.params:
            if default is MISSING:
                parts.append(pname)
            else:
                parts.append(f"{pname}={json.dumps(default)}")
        return ", ".join(parts)

    def check_input(self, given: dict) -> None:
        missing = [p for p, d in self.params if d is MISSING and p not in given]
        names = {p for p, _ in self.params}
        unexpected = [k for k in given if k not in names]
        if missing or (unexpected and not self.accepts_any):
            detail = []
            if missing:
                detail.append(f"missing={missing}")
            if unexpected and not self.accepts_any:
                detail.append(f"unexpected={unexpected}")
            raise ActionInputError(
                f"Invalid input [name={self.name}, class={self.cls.__module__}.{self.cls.__name__}, "
                + ", ".join(detail) + "]")

    def run(self, given: dict, context: Any) -> Outcome:
        """Run the action; never raises for the action's own failures."""
        try:
            self.check_input(given)
            action = self.cls(**given)
        except ActionInputError as e:
            return Outcome("error", str(e))
        except Exception as e:  # a plug-in's constructor may raise anything
            return Outcome("error", f"Failed to create action [name={self.name}]: {e}")
        try:
            result = action.run(context)
        except Deferred as d:
            return Outcome("delay", d.value, d.seconds)
        except MemoryError:
            result = _OUT_OF_MEMORY     # reported below, once the action's frames are let go
        except Exception as e:
            return Outcome("error", f"The action raised an exception [action={self.name}, "
                                    f"action_ex_id={_ctx_action_id(context)}, msg='{e}']")
        if result is _OUT_OF_MEMORY:
            del action
            gc.collect()        # what it built may sit in reference cycles: free it now
            return Outcome("error", memory.out_of_memory(
                f"The action [action={self.name}, action_ex_id={_ctx_action_id(context)}]"))
        if isinstance(result, ml_actions.Result):
            if result.is_error():
                return Outcome("error", result.error)
            if result.is_cancel():
                return Outcome("error", "Action was cancelled.")
            result = result.data
        if not action.is_sync():
            return Outcome("async")
        return Outcome("ok", result)


def _ctx_action_id(context: Any) -> str | None:
    try:
        return context.execution.action_execution_id
    except AttributeError:
        return None
