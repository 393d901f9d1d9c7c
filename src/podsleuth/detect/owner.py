"""Owner workload resolution and incident fingerprints.

Thirty crashing replicas are one problem, so incidents are keyed by the *workload* that owns a
pod, not by the pod. We only watch pods, so the workload is inferred from the pod's controller
reference without extra API calls:

- ReplicaSet ``<deployment>-<hash>`` whose pods carry ``pod-template-hash=<hash>`` -> the
  Deployment ``<deployment>`` (a bare ReplicaSet without that label stays a ReplicaSet);
- StatefulSet, DaemonSet and any other controller kind -> that object;
- Job ``<cronjob>-<digits>`` with 8 or more digits (CronJob names its Jobs with the scheduled
  time in minutes since the epoch, 8 digits since 1989) -> the CronJob ``<cronjob>``; this is a
  name heuristic because we do not watch Jobs, and a Job a human named ``backup-20240101`` will
  be grouped as CronJob ``backup`` - harmless, since the grouping is still per workload;
- no controller, or a mirror pod owned by its Node -> the pod itself (kind ``Pod``).
"""

from __future__ import annotations

import hashlib
import re

import msgspec

from podsleuth.watch.objects import ObjectMeta

_CRONJOB_JOB = re.compile(r"^(?P<cronjob>.+)-\d{8,}$")


class Owner(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    name: str


def resolve_owner(meta: ObjectMeta) -> Owner:
    """The workload an SRE would name for this pod (see the module docstring for the rules)."""
    refs = meta.owner_references
    if refs:
        ref = next((r for r in refs if r.controller), refs[0])
        if ref.kind == "ReplicaSet":
            labels = meta.labels or {}
            pth = labels.get("pod-template-hash")
            if pth and ref.name.endswith("-" + pth):
                return Owner(kind="Deployment", name=ref.name[: -len(pth) - 1])
            return Owner(kind="ReplicaSet", name=ref.name)
        if ref.kind == "Job":
            m = _CRONJOB_JOB.match(ref.name)
            if m:
                return Owner(kind="CronJob", name=m.group("cronjob"))
            return Owner(kind="Job", name=ref.name)
        if ref.kind != "Node":
            return Owner(kind=ref.kind, name=ref.name)
    return Owner(kind="Pod", name=meta.name)


def pod_fingerprint(
    *, namespace: str, owner: Owner, container: str | None, category: str, cluster: str = ""
) -> str:
    """Stable across pods of a workload, restarts of podsleuth and re-lists; distinct per
    cluster, so watchers of several clusters can share one store."""
    text = f"pod\x00{namespace}\x00{owner.kind}\x00{owner.name}\x00{container or ''}\x00{category}"
    return _digest(_in_cluster(cluster, text))


def node_fingerprint(*, node: str, category: str, condition: str | None, cluster: str = "") -> str:
    return _digest(_in_cluster(cluster, f"node\x00{node}\x00{category}\x00{condition or ''}"))


def _in_cluster(cluster: str, text: str) -> str:
    """No cluster name keeps the fingerprints of stores written before clusters had names."""
    return f"cluster\x00{cluster}\x00{text}" if cluster else text


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def incident_id(fingerprint: str, first_seen_epoch: float) -> str:
    """Short and unique per opening: the same fingerprint re-opened later gets a new id."""
    return hashlib.sha256(f"{fingerprint}\x00{first_seen_epoch:.6f}".encode()).hexdigest()[:12]
