"""Per-object leniency: one odd object costs itself, never its list page or its watch stream.

The fast path decodes a whole list page (or a watch line) in one strict msgspec pass. Only
when that fails does this module run, on the one object concerned:

1. ``null`` values are dropped (Kubernetes treats ``null`` as absent; a hand-written or
   patched object may carry ``"namespace": null`` where we declare ``str``);
2. the object is converted with ``strict=False`` (``"restartCount": "3"`` is taken as 3);
3. a field that still does not fit (a timestamp that is not RFC 3339, a list where an object
   belongs) is removed, at the path msgspec names, and the conversion retried a few times:
   the object keeps everything else it says. Fields of its identity (name, namespace, uid,
   resourceVersion) are never removed: without them the object cannot be cached.

What cannot be repaired so is skipped alone; the caller counts it
(``podsleuth_watch_objects_skipped_total{resource,reason}``) and logs a warning.
Enum-like fields (phase, condition status) are plain ``str`` in the slim structs, so values a
newer Kubernetes adds decode without any of this and the rules treat them as "not known good".
"""

from __future__ import annotations

import logging
import re
from typing import Any, Generic, TypeVar

import msgspec

log = logging.getLogger("podsleuth.watch")

W = TypeVar("W")

MAX_REPAIRS = 8
"""Fields removed from one object at most; an object wrong in more places is skipped."""

_PATH = re.compile(r" - at `\$((?:\.[^.\[`]+|\[\d+\])*)`$")
_STEP = re.compile(r"\.([^.\[`]+)|\[(\d+)\]")
_IDENTITY = frozenset(
    {
        ("metadata",),
        ("metadata", "name"),
        ("metadata", "namespace"),
        ("metadata", "uid"),
        ("metadata", "resourceVersion"),
    }
)


class Skipped(Exception):
    """The object could not be decoded even leniently; ``reason`` labels the skip metric."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail
        self.where = "?"
        """namespace/name of the object, when it can be told."""
        self.key: tuple[str, str] | None = None
        """Its cache key (namespace, name), when it can be told: a skipped DELETED still deletes."""


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value if v is not None]
    return value


def _error_path(error: msgspec.ValidationError) -> list[str | int] | None:
    """``$.status.conditions[0].status`` -> ["status", "conditions", 0, "status"]."""
    m = _PATH.search(str(error))
    if m is None:
        return None
    return [int(i) if i else k for k, i in _STEP.findall(m.group(1))]


def _remove(obj: Any, path: list[str | int], *, as_text: bool = False) -> bool:
    """Remove the value at ``path`` (or, ``as_text``, make a number or boolean its string:
    ``"status": 7`` stays "7", an unknown value kept as what it says); False when there is
    nothing removable there."""
    if not path or tuple(path[:2]) in _IDENTITY or tuple(path[:1]) in _IDENTITY:
        return False
    parent = obj
    for step in path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str) and last in parent:
        value = parent[last]
        if as_text and isinstance(value, int | float | bool):
            parent[last] = str(value).lower() if isinstance(value, bool) else str(value)
            return True
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        del parent[last]
        return True
    return False


def convert(value: Any, wire: type[W]) -> tuple[W, list[str]]:
    """``value`` (decoded JSON) as ``wire``, leniently; the removed field paths alongside.

    Raises ``Skipped`` when the object cannot be had even so."""
    if not isinstance(value, dict):
        raise Skipped("not-an-object", f"a JSON {type(value).__name__} where an object belongs")
    obj = _drop_nulls(value)
    removed: list[str] = []
    for _ in range(MAX_REPAIRS + 1):
        try:
            converted = msgspec.convert(obj, wire, strict=False)
        except msgspec.ValidationError as e:
            path = _error_path(e)
            if path is None or not _remove(obj, path, as_text=str(e).startswith("Expected `str`")):
                raise Skipped("invalid", str(e)) from e
            removed.append("".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path))
            continue
        meta = getattr(converted, "metadata", None)
        if meta is not None and not getattr(meta, "name", ""):
            raise Skipped("no-name", "an object without metadata.name cannot be cached")
        return converted, removed
    raise Skipped("invalid", f"more than {MAX_REPAIRS} fields do not fit: {', '.join(removed)}")


class LenientDecoder(Generic[W]):
    """Decodes one raw object (a list item or a watch event's object) leniently; warns once per
    (resource, field) about removed fields, so a cluster-wide oddity does not flood the log."""

    def __init__(self, wire: type[W], resource: str) -> None:
        self.wire, self.resource = wire, resource
        self._strict: msgspec.json.Decoder[W] = msgspec.json.Decoder(wire)
        self._warned: set[str] = set()

    def decode(self, raw: msgspec.Raw | bytes | memoryview) -> W:
        """Raises ``Skipped``."""
        try:
            return self._strict.decode(raw)
        except msgspec.ValidationError:
            pass
        except msgspec.DecodeError as e:
            raise Skipped("malformed", str(e)) from e
        try:
            obj, removed = convert(msgspec.json.decode(raw), self.wire)
        except Skipped:
            raise
        except Exception as e:  # hostile input (a nesting too deep to recurse, ...) costs only itself
            raise Skipped("invalid", f"{type(e).__name__}: {e}") from e
        for path in removed:
            if path not in self._warned and len(self._warned) < 1000:
                self._warned.add(path)
                log.warning(
                    "%s: ignored field %s of an object that does not fit its type", self.resource, path
                )
        return obj


def identify(raw: msgspec.Raw | bytes | memoryview, skipped: Skipped) -> Skipped:
    """Fill in what ``skipped`` is about (namespace/name), whatever else the object holds."""
    try:
        meta = msgspec.json.decode(raw).get("metadata") or {}
        ns, name = meta.get("namespace") or "", meta.get("name") or ""
    except (msgspec.DecodeError, AttributeError):
        return skipped
    if isinstance(ns, str) and isinstance(name, str) and name:
        skipped.key = (ns, name)
    skipped.where = f"{ns}/{name or '?'}"[:200]
    return skipped
