"""core/v1 <-> events.k8s.io/v1 Event conversion, as the real server serves one Event in both."""

from __future__ import annotations

from typing import Any

# core/v1 field -> events.k8s.io/v1 field
_CORE_TO_V1 = {
    "involvedObject": "regarding",
    "message": "note",
    "source": "deprecatedSource",
    "count": "deprecatedCount",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "reportingComponent": "reportingController",
}
_V1_TO_CORE = {v: k for k, v in _CORE_TO_V1.items()}
_DROP = ("kind", "apiVersion")


def _rename(obj: dict[str, Any], table: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _DROP:
            continue
        out[table.get(key, key)] = value
    meta = dict(out.get("metadata") or {})
    meta.pop("resourceVersion", None)
    out["metadata"] = meta
    return out


def core_to_v1(obj: dict[str, Any]) -> dict[str, Any]:
    return _rename(obj, _CORE_TO_V1)


def v1_to_core(obj: dict[str, Any]) -> dict[str, Any]:
    return _rename(obj, _V1_TO_CORE)
