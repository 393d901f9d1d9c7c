"""Realistic API objects for detector tests: camelCase JSON as the API server sends it, decoded
with msgspec into the same slim structs the watcher produces."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from podsleuth.config import Thresholds, WatchSettings
from podsleuth.detect import Detector, IncidentChange
from podsleuth.watch.objects import CoreEvent, KubeEvent, Node, Pod, event_from_core

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
RS_HASH = "7d9f8b6c5d"


def ts(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def running(
    name: str = "app",
    *,
    restarts: int = 0,
    ready: bool = True,
    started: datetime = T0,
    last: dict[str, Any] | None = None,
) -> dict[str, Any]:
    cs: dict[str, Any] = {
        "name": name,
        "ready": ready,
        "started": True,
        "restartCount": restarts,
        "image": "registry.example.com/shop/web:1.4.2",
        "imageID": "registry.example.com/shop/web@sha256:5f0b",
        "containerID": "containerd://9a1c",
        "state": {"running": {"startedAt": ts(started)}},
        "lastState": {} if last is None else {"terminated": last},
    }
    return cs


def waiting(
    name: str = "app",
    reason: str = "ContainerCreating",
    message: str | None = None,
    *,
    restarts: int = 0,
    last: dict[str, Any] | None = None,
) -> dict[str, Any]:
    w: dict[str, Any] = {"reason": reason}
    if message is not None:
        w["message"] = message
    return {
        "name": name,
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "image": "registry.example.com/shop/web:1.4.2",
        "imageID": "",
        "state": {"waiting": w},
        "lastState": {} if last is None else {"terminated": last},
    }


def terminated(
    name: str = "app",
    *,
    reason: str = "Error",
    exit_code: int = 1,
    finished: datetime = T0,
    message: str | None = None,
    restarts: int = 0,
) -> dict[str, Any]:
    return {
        "name": name,
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "image": "registry.example.com/shop/web:1.4.2",
        "state": {"terminated": last_term(reason, exit_code, finished, message)},
        "lastState": {},
    }


def last_term(reason: str, exit_code: int, finished: datetime, message: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": ts(finished - timedelta(seconds=5)),
        "finishedAt": ts(finished),
        "containerID": "containerd://77aa",
    }
    if message is not None:
        d["message"] = message
    return d


def cond(
    ctype: str, status: str, t: datetime = T0, reason: str | None = None, message: str | None = None
) -> dict[str, Any]:
    d: dict[str, Any] = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": ts(t)}
    if reason:
        d["reason"] = reason
    if message:
        d["message"] = message
    return d


def ready_conditions(t: datetime = T0, *, ready: bool = True) -> list[dict[str, Any]]:
    s = "True" if ready else "False"
    r = None if ready else "ContainersNotReady"
    return [
        cond("Initialized", "True", t),
        cond("Ready", s, t, r),
        cond("ContainersReady", s, t, r),
        cond("PodScheduled", "True", t),
    ]


def pod_dict(
    name: str = f"web-{RS_HASH}-x2x9q",
    *,
    namespace: str = "shop",
    uid: str | None = None,
    owner: tuple[str, str] | None = ("ReplicaSet", f"web-{RS_HASH}"),
    labels: dict[str, str] | None = None,
    node: str | None = "node-1",
    phase: str = "Running",
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    reason: str | None = None,
    message: str | None = None,
    created: datetime = T0,
    deletion: datetime | None = None,
    grace: int = 30,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "generateName": name.rsplit("-", 1)[0] + "-",
        "namespace": namespace,
        "uid": uid or f"uid-{namespace}-{name}",
        "resourceVersion": "12345",
        "creationTimestamp": ts(created),
        "labels": labels if labels is not None else {"app": "web", "pod-template-hash": RS_HASH},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-02-27T10:00:00Z"},
        "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}],
    }
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner[0],
                "name": owner[1],
                "uid": "owner-uid",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    if deletion is not None:
        meta["deletionTimestamp"] = ts(deletion)
        meta["deletionGracePeriodSeconds"] = grace
    spec: dict[str, Any] = {
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": grace,
        "containers": [{"name": c["name"], "image": c.get("image", "x")} for c in containers or [running()]],
    }
    if node is not None:
        spec["nodeName"] = node
    status: dict[str, Any] = {
        "phase": phase,
        "hostIP": "10.0.0.11",
        "podIP": "10.244.1.17",
        "startTime": ts(created),
        "conditions": conditions if conditions is not None else ready_conditions(created),
        "containerStatuses": containers if containers is not None else [running()],
        "qosClass": "Burstable",
    }
    if init is not None:
        status["initContainerStatuses"] = init
    if reason is not None:
        status["reason"] = reason
    if message is not None:
        status["message"] = message
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def decode_pod(d: dict[str, Any]) -> Pod:
    return msgspec.json.decode(msgspec.json.encode(d), type=Pod)


def make_pod(**kw: Any) -> Pod:
    return decode_pod(pod_dict(**kw))


def replica(i: int, **kw: Any) -> Pod:
    """The i-th replica of Deployment web."""
    return make_pod(name=f"web-{RS_HASH}-r{i:03d}", **kw)


def event(
    reason: str,
    message: str,
    *,
    pod: str = f"web-{RS_HASH}-x2x9q",
    namespace: str = "shop",
    uid: str | None = None,
    kind: str = "Pod",
    count: int = 1,
    first: datetime = T0,
    last: datetime | None = None,
    type: str = "Warning",
    field_path: str | None = None,
    name: str | None = None,
) -> KubeEvent:
    obj: dict[str, Any] = {
        "kind": kind,
        "namespace": namespace if kind == "Pod" else "",
        "name": pod,
        "uid": uid if uid is not None else (f"uid-{namespace}-{pod}" if kind == "Pod" else f"uid-node-{pod}"),
        "apiVersion": "v1",
    }
    if field_path:
        obj["fieldPath"] = field_path
    d = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": name or f"{pod}.{zlib.crc32(f'{reason}{message}{first}'.encode()):x}",
            "namespace": namespace if kind == "Pod" else "default",
            "uid": f"ev-{reason}-{pod}-{zlib.crc32(f'{message}{first}'.encode()):x}",
            "resourceVersion": "999",
        },
        "involvedObject": obj,
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "firstTimestamp": ts(first),
        "lastTimestamp": ts(last or first),
        "source": {"component": "kubelet", "host": "node-1"},
    }
    return event_from_core(msgspec.json.decode(msgspec.json.encode(d), type=CoreEvent))


def node_dict(name: str = "node-1", conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if conditions is None:
        conditions = node_conditions()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": f"uid-node-{name}",
            "resourceVersion": "77",
            "labels": {"kubernetes.io/hostname": name},
        },
        "spec": {"podCIDR": "10.244.1.0/24"},
        "status": {"conditions": conditions, "capacity": {"cpu": "8"}},
    }


def node_conditions(
    *,
    ready: str = "True",
    ready_since: datetime = T0,
    ready_reason: str = "KubeletReady",
    ready_message: str = "kubelet is posting ready status",
    **pressure: str,
) -> list[dict[str, Any]]:
    out = []
    for ctype in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        status = pressure.get(ctype, "False")
        reason = (
            f"KubeletHas{'Insufficient' if ctype != 'DiskPressure' else ''}{ctype.replace('Pressure', '')}"
        )
        if status == "True":
            reason = f"KubeletHas{ctype}"
        d = cond(ctype, status, ready_since, reason, f"kubelet has {ctype} {status}")
        d["lastHeartbeatTime"] = ts(ready_since)
        out.append(d)
    r = cond("Ready", ready, ready_since, ready_reason, ready_message)
    r["lastHeartbeatTime"] = ts(ready_since)
    out.append(r)
    return out


def make_node(name: str = "node-1", **kw: Any) -> Node:
    return msgspec.json.decode(msgspec.json.encode(node_dict(name, **kw)), type=Node)


def detector(*, classify: Any = None, default_ignore: Any = None, **settings: Any) -> Detector:
    """``default_ignore``: None = the built-in noise rules, a tuple = those rules instead,
    a bool = the ``watch.default_ignore`` config key."""
    th = settings.pop("thresholds", {})
    if isinstance(default_ignore, bool):
        settings["default_ignore"], default_ignore = default_ignore, None
    ws = WatchSettings(thresholds=Thresholds(**th), **settings)
    return Detector(ws, classify=classify, default_ignore=default_ignore)


def kinds(changes: list[IncidentChange]) -> list[tuple[str, str]]:
    return [(c.kind, c.incident.category) for c in changes]


def run_until(d: Detector, until: datetime) -> list[IncidentChange]:
    """What the watch loop does: sleep to each deadline, tick, until ``until``."""
    out: list[IncidentChange] = []
    while True:
        nd = d.next_deadline()
        if nd is None or nd > until:
            return out
        out.extend(d.tick(nd))
