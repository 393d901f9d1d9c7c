"""Measurement probe for bench/soak.py, loaded only into the soaked watcher (via PYTHONPATH).

podsleuth exports no asyncio task count and no table sizes, so this thread samples them from
inside the real ``python -m podsleuth watch`` process without touching its code: every
``PODSLEUTH_SOAK_PROBE_INTERVAL`` seconds it appends one JSON line to ``PODSLEUTH_SOAK_PROBE``:
the live asyncio tasks and the length of every dict/set/list/deque reachable (4 attribute hops)
from each ``WatchPipeline`` and ``Notifier`` instance. It reads from another thread; ``len`` is
atomic under the GIL, and a walk that races a mutation is retried at the next sample.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import threading
import time
import weakref
from typing import Any

_PATH = os.environ.get("PODSLEUTH_SOAK_PROBE")
_ROOTS: list[tuple[str, weakref.ref[Any]]] = []
_TABLES = (dict, set, list, collections.deque, frozenset)


def _track(module: str, name: str) -> None:
    import importlib

    cls = getattr(importlib.import_module(module), name)
    init = cls.__init__

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _ROOTS.append((f"{name}#{sum(1 for n, _ in _ROOTS if n.startswith(name + '#'))}", weakref.ref(self)))

    cls.__init__ = wrapped


def _fields(obj: Any) -> list[tuple[str, Any]]:
    out = list(getattr(obj, "__dict__", {}).items())
    for klass in type(obj).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if hasattr(obj, slot):
                out.append((slot, getattr(obj, slot)))
    return out


def _walk(path: str, obj: Any, depth: int, seen: set[int], sizes: dict[str, int]) -> None:
    if id(obj) in seen or depth > 4:
        return
    seen.add(id(obj))
    for name, value in _fields(obj):
        if isinstance(value, _TABLES):
            sizes[f"{path}.{name}"] = len(value)
        elif callable(getattr(value, "cache_info", None)):  # a functools.lru_cache table
            sizes[f"{path}.{name}"] = value.cache_info().currsize
        elif type(value).__module__.startswith("podsleuth") and not hasattr(type(value), "__struct_fields__"):
            _walk(f"{path}.{name}", value, depth + 1, seen, sizes)


def _sample() -> dict[str, Any]:
    import asyncio.tasks

    every: Any = getattr(asyncio.tasks, "_all_tasks", ())  # a WeakSet of every task, all loops
    tasks = len([t for t in list(every) if not t.done()])
    sizes: dict[str, int] = {}
    for name, ref in list(_ROOTS):
        obj = ref()
        if obj is not None:
            _walk(name, obj, 0, set(), sizes)
    return {"t": time.time(), "tasks": tasks, "tables": sizes}


def _run(path: str, interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            line = json.dumps(_sample())
        except RuntimeError:  # a set or dict changed size under the walk: next time
            continue
        with open(path, "a") as f:
            f.write(line + "\n")


if _PATH:
    for _module, _name in (("podsleuth.runner", "WatchPipeline"), ("podsleuth.alert.notifier", "Notifier")):
        with contextlib.suppress(ImportError, AttributeError):
            _track(_module, _name)
    _interval = float(os.environ.get("PODSLEUTH_SOAK_PROBE_INTERVAL", "10"))
    threading.Thread(target=_run, args=(_PATH, _interval), daemon=True, name="soak-probe").start()
