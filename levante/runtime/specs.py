"""Parsed specs, cached by the text they came from: a definition is parsed once."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import yaml

from levante import lang
from levante.lang.spec import WorkflowSpec

_CACHE_SIZE = 512
_cache: "OrderedDict[str, dict[str, WorkflowSpec]]" = OrderedDict()
_lock = threading.Lock()


def checksum(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def is_workbook(text: str) -> bool:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(doc, dict) and "workflows" in doc and "name" in doc


def workflows_of(text: str) -> dict[str, WorkflowSpec]:
    """All workflows a source text defines, by full name (parsed once per text)."""
    key = checksum(text)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    if is_workbook(text):
        found = dict(lang.parse_workbook(text).workflows)
    else:
        found = {w.name: w for w in lang.parse_workflows(text)}
    with _lock:
        _cache[key] = found
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def workflow(text: str, name: str) -> WorkflowSpec:
    specs = workflows_of(text)
    if name in specs:
        return specs[name]
    if len(specs) == 1:
        return next(iter(specs.values()))
    raise KeyError(name)
