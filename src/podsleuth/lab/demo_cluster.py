"""The embedded demo cluster: the founding incident and a few everyday failures, as API objects.

``podsleuth watch --demo`` serves these from the in-process fake API server, so a fresh machine
shows the real pipeline (list+watch, detection, signatures) without a cluster. The objects are
shaped exactly as a kube-apiserver sends them; the messages are genuine runtime/kubelet texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FOUNDING_UID = "92f2591b-66b5-4843-b7a7-42d0acd2be07"
KUBELET_DIR = "/data/kubernetes/kubelet"
FOUNDING_MOUNT = f"{KUBELET_DIR}/pods/{FOUNDING_UID}/volumes/kubernetes.io~csi/dashboard-folder/mount"
FOUNDING_MESSAGE = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
    "runc create failed: unable to start container process: error during container init: "
    f'error mounting "{FOUNDING_MOUNT}" to rootfs at "/var/lib/grafana/dashboards": '
    f"mount {FOUNDING_MOUNT}:/var/lib/grafana/dashboards (via /proc/self/fd/6), flags: 0x5000: "
    "no such file or directory: unknown"
)


@dataclass(frozen=True)
class Step:
    """Publish ``obj`` (a pod, event or node) at ``at`` seconds after the demo starts."""

    at: float
    plural: str
    obj: dict[str, Any]


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pod(
    *,
    namespace: str,
    name: str,
    uid: str,
    node: str,
    owner: tuple[str, str] | None,
    containers: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
    created: datetime,
    phase: str = "Running",
    labels: dict[str, str] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid,
        "creationTimestamp": rfc3339(created),
        "labels": labels or {},
    }
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner[0],
                "name": owner[1],
                "uid": f"{uid}-owner",
                "controller": True,
            }
        ]
    status: dict[str, Any] = {
        "phase": phase,
        "hostIP": "10.0.0.13",
        "startTime": rfc3339(created),
        "containerStatuses": statuses,
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": rfc3339(created)},
            {
                "type": "Ready",
                "status": "False",
                "reason": "ContainersNotReady",
                "lastTransitionTime": rfc3339(created),
            },
        ],
    }
    if reason:
        status["reason"] = reason
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "nodeName": node,
            "containers": containers,
            "volumes": volumes or [],
            "restartPolicy": "Always",
        },
        "status": status,
    }


def _event(
    *,
    namespace: str,
    pod: str,
    uid: str,
    reason: str,
    note: str,
    at: datetime,
    count: int = 1,
    kind: str = "Pod",
) -> dict[str, Any]:
    name = f"{pod}.{abs(hash((reason, note))) % 10**12:x}"
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": rfc3339(at)},
        "regarding": {"kind": kind, "namespace": namespace, "name": pod, "uid": uid},
        "reason": reason,
        "note": note,
        "type": "Warning",
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "reportingController": "kubelet",
        "reportingInstance": "node-3",
        "deprecatedCount": count,
        "deprecatedFirstTimestamp": rfc3339(at),
        "deprecatedLastTimestamp": rfc3339(at),
    }


def _waiting(
    name: str, reason: str, message: str, restarts: int = 0, last: dict[str, Any] | None = None
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "image": "registry.example.com/app:1",
        "state": {"waiting": {"reason": reason, "message": message}},
    }
    if last:
        status["lastState"] = {"terminated": last}
    return status


def demo_steps(now: datetime) -> list[Step]:
    """The scripted demo: healthy objects first, then failures arriving over a few seconds."""
    old = now - timedelta(minutes=20)
    steps: list[Step] = [
        Step(0, "nodes", node_object("node-3", now, pressure=False)),
        Step(0, "nodes", node_object("node-5", now, pressure=False)),
        Step(
            0,
            "pods",
            _pod(
                namespace="web",
                name="frontend-6d4cf56db6-7xkqp",
                uid="5b1e2c44-0c1a-4f5e-9a6e-0a1b2c3d4e5f",
                node="node-5",
                owner=("ReplicaSet", "frontend-6d4cf56db6"),
                containers=[{"name": "nginx", "image": "nginx:1.27"}],
                statuses=[
                    {
                        "name": "nginx",
                        "ready": True,
                        "restartCount": 0,
                        "image": "nginx:1.27",
                        "state": {"running": {"startedAt": rfc3339(old)}},
                    }
                ],
                created=old,
                labels={"app": "frontend", "pod-template-hash": "6d4cf56db6"},
            ),
        ),
    ]
    founding = _pod(
        namespace="monitoring",
        name="dashboard-7c9f8d6b5-x2k4q",
        uid=FOUNDING_UID,
        node="node-3",
        owner=("ReplicaSet", "dashboard-7c9f8d6b5"),
        containers=[
            {
                "name": "grafana",
                "image": "grafana/grafana:9.4.7",
                "volumeMounts": [{"name": "dashboard-folder", "mountPath": "/var/lib/grafana/dashboards"}],
            }
        ],
        statuses=[
            _waiting(
                "grafana",
                "RunContainerError",
                FOUNDING_MESSAGE,
                restarts=4,
                last={
                    "reason": "StartError",
                    "exitCode": 128,
                    "message": FOUNDING_MESSAGE,
                    "finishedAt": rfc3339(now - timedelta(seconds=30)),
                },
            )
        ],
        created=old,
        labels={"app": "dashboard", "pod-template-hash": "7c9f8d6b5"},
        volumes=[{"name": "dashboard-folder", "persistentVolumeClaim": {"claimName": "dashboard-folder"}}],
    )
    steps.append(Step(1.0, "pods", founding))
    steps.append(
        Step(
            1.0,
            "events.k8s.io/events",
            _event(
                namespace="monitoring",
                pod="dashboard-7c9f8d6b5-x2k4q",
                uid=FOUNDING_UID,
                reason="Failed",
                note=f"Error: {FOUNDING_MESSAGE}",
                at=now,
                count=4,
            ),
        )
    )
    oom_last = {"reason": "OOMKilled", "exitCode": 137, "finishedAt": rfc3339(now - timedelta(seconds=20))}
    for i, suffix in enumerate(("abcde", "fghij", "klmno")):
        steps.append(
            Step(
                2.0 + i * 0.3,
                "pods",
                _pod(
                    namespace="shop",
                    name=f"cart-5f7b9c8d4-{suffix}",
                    uid=f"7a0c5d1e-1111-4222-8333-00000000000{i}",
                    node="node-5",
                    owner=("ReplicaSet", "cart-5f7b9c8d4"),
                    containers=[
                        {
                            "name": "cart",
                            "image": "registry.example.com/shop/cart:4.2.0",
                            "resources": {"limits": {"memory": "256Mi"}},
                        }
                    ],
                    statuses=[
                        _waiting(
                            "cart",
                            "CrashLoopBackOff",
                            "back-off 40s restarting failed container=cart pod=cart-5f7b9c8d4",
                            restarts=5 + i,
                            last=oom_last,
                        )
                    ],
                    created=old,
                    labels={"app": "cart", "pod-template-hash": "5f7b9c8d4"},
                ),
            )
        )
    pull_msg = (
        "rpc error: code = NotFound desc = failed to pull and unpack image "
        '"registry.example.com/shop/api:v2.3.1": '
        'failed to resolve reference "registry.example.com/shop/api:v2.3.1": '
        "registry.example.com/shop/api:v2.3.1: not found"
    )

    def api_pod(reason: str, message: str) -> dict[str, Any]:
        return _pod(
            namespace="shop",
            name="api-84d6b7c9f-q8wzt",
            uid="3c9d8e7f-2222-4333-8444-555566667777",
            node="node-5",
            owner=("ReplicaSet", "api-84d6b7c9f"),
            containers=[{"name": "api", "image": "registry.example.com/shop/api:v2.3.1"}],
            statuses=[_waiting("api", reason, message)],
            created=now,
            phase="Pending",
            labels={"app": "api", "pod-template-hash": "84d6b7c9f"},
        )

    steps.append(Step(3.0, "pods", api_pod("ErrImagePull", pull_msg)))
    backoff = 'Back-off pulling image "registry.example.com/shop/api:v2.3.1"'
    steps.append(Step(3.5, "pods", api_pod("ImagePullBackOff", backoff)))
    steps.append(
        Step(
            4.0,
            "pods",
            _pod(
                namespace="data",
                name="etl-28734950-x7d2k",
                uid="9e8d7c6b-3333-4444-8555-666677778888",
                node="node-3",
                owner=("Job", "etl-28734950"),
                containers=[{"name": "etl", "image": "registry.example.com/etl:7"}],
                statuses=[
                    _waiting("etl", "CreateContainerConfigError", 'secret "etl-credentials" not found')
                ],
                created=now,
                phase="Pending",
            ),
        )
    )
    steps.append(Step(5.0, "nodes", node_object("node-3", now, pressure=True)))
    return steps


def node_object(name: str, now: datetime, *, pressure: bool = False) -> dict[str, Any]:
    """A Node as the API server sends it: Ready, with or without MemoryPressure."""
    t = rfc3339(now - timedelta(minutes=2) if pressure else now - timedelta(days=3))
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "uid": f"node-uid-{name}", "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": rfc3339(now),
                    "lastTransitionTime": rfc3339(now - timedelta(days=3)),
                },
                {
                    "type": "MemoryPressure",
                    "status": "True" if pressure else "False",
                    "reason": "KubeletHasInsufficientMemory" if pressure else "KubeletHasSufficientMemory",
                    "message": "kubelet has insufficient memory available"
                    if pressure
                    else "kubelet has sufficient memory available",
                    "lastHeartbeatTime": rfc3339(now),
                    "lastTransitionTime": t,
                },
            ]
        },
    }


CART_LOG = """\
2026-11-27T10:41:02Z INFO  cart: loading catalogue snapshot (412,301 items)
2026-11-27T10:41:07Z INFO  cart: warming price cache
2026-11-27T10:41:09Z WARN  cart: heap 241Mi of 256Mi limit
2026-11-27T10:41:10Z WARN  cart: GC pause 1.8s
"""


def demo_logs() -> list[tuple[str, str, str, str]]:
    """(namespace, pod, container, previous log) the demo API server serves for pods/log."""
    return [("shop", f"cart-5f7b9c8d4-{s}", "cart", CART_LOG) for s in ("abcde", "fghij", "klmno")]
