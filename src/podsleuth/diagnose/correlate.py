"""Correlation: one root cause on one node that breaks many pods is one group, not N alerts.

The detector groups by workload (one Deployment = one incident), which is right for a bad
image, wrong for a restarted FUSE daemon that breaks pods of five workloads on one node. The
diagnosis therefore carries ``group = {"key", "pods", "volumes", "workloads", "incidents"}``
keyed by (node, root-cause id, connection: the FUSE connection / staging path / driver), and the
``Correlator`` (one per watch) merges the groups of incidents that share a key, so every member
incident lists every affected pod and the notifier can send them as one.
"""

from __future__ import annotations

from typing import Any

from podsleuth.diagnose.evidence import Case

CONNECTION_FACTS = ("staging_path", "fuse_connection", "csi_driver", "fs_type", "volume_plugin")
"""What identifies "the same broken thing" on a node, most specific first."""


def group_of(case: Case, cause: str) -> dict[str, Any]:
    f = case.facts
    node = f.get("node") or "?"
    conn = next((str(f[k]) for k in CONNECTION_FACTS if f.get(k) not in (None, "")), "")
    me = f"{f.get('namespace')}/{f.get('pod')}"
    pods = dict(case.affected)
    if f.get("pod") and me not in pods:
        pods[me] = {"volume": f.get("volume"), "workload": f.get("owner")}
    return {
        "key": "|".join((str(node), cause, conn)),
        "node": node,
        "cause": cause,
        "pods": sorted(pods),
        "volumes": sorted({str(p["volume"]) for p in pods.values() if p.get("volume")}),
        "workloads": sorted({str(p["workload"]) for p in pods.values() if p.get("workload")}),
        "incidents": [case.subject.incident_id] if case.subject.incident_id else [],
    }


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k in ("pods", "volumes", "workloads", "incidents"):
        out[k] = sorted({*a.get(k, []), *b.get(k, [])})
    return out


class Correlator:
    """Groups of open incidents by correlation key; owned by one watch pipeline (one loop)."""

    def __init__(self) -> None:
        self._groups: dict[str, dict[str, Any]] = {}
        self._member: dict[str, str] = {}

    def add(self, incident_id: str, group: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Merge ``group`` into the one of its key; returns the merged group and the *other*
        member incidents whose group grew (they need re-emitting)."""
        key = str(group["key"])
        old_key = self._member.get(incident_id)
        if old_key is not None and old_key != key:
            self.drop(incident_id)
        current = self._groups.get(key)
        merged = merge(current, group) if current else merge(group, {"incidents": [incident_id]})
        if incident_id not in merged["incidents"]:
            merged["incidents"] = sorted({*merged["incidents"], incident_id})
        self._groups[key] = merged
        self._member[incident_id] = key
        grew = current is not None and any(
            merged[k] != current.get(k) for k in ("pods", "volumes", "workloads")
        )
        joined = current is not None and old_key != key
        others = [i for i in merged["incidents"] if i != incident_id] if grew or joined else []
        return merged, others

    def drop(self, incident_id: str) -> None:
        key = self._member.pop(incident_id, None)
        if key is None:
            return
        group = self._groups.get(key)
        if group is None:
            return
        group["incidents"] = [i for i in group["incidents"] if i != incident_id]
        if not group["incidents"]:
            del self._groups[key]

    def group(self, incident_id: str) -> dict[str, Any] | None:
        key = self._member.get(incident_id)
        return self._groups.get(key) if key is not None else None
