"""The API objects that match a seeded incident: what a kube-apiserver would show for it.

Everything is derived from ``SeededIncident`` so the cluster view and the kernel state agree:
the broken pod has the seeded pod UID and mounts the seeded PV through a PVC; its container
state and its Failed event carry runc's genuine text wrapped the way containerd 1.6+ wraps it;
the PV is a ceph-csi volume with ``mounter: fuse`` and the seeded volume handle; the CSI node
plugin pod has the UID of the memory cgroup the kernel OOM-killed the daemon in.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from podsleuth.lab.demo_cluster import node_object, rfc3339

if TYPE_CHECKING:
    from podsleuth.lab.seed import SeededIncident

PLUGIN_NAMESPACE = "ceph-csi"
CONTAINER = "grafana"


def _when(seeded: SeededIncident, rfc3339: str | None) -> datetime:
    if rfc3339:
        try:
            return datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.fromtimestamp(seeded.started, UTC)


def runtime_message(seeded: SeededIncident) -> str:
    """containerd 1.6+ wrapping of the runtime's error, as kubelet reports it."""
    return (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
        f"{seeded.runtime_error}: unknown"
    )


def _meta(name: str, namespace: str | None, uid: str, created: datetime, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": uid, "creationTimestamp": rfc3339(created), **extra}
    if namespace:
        meta["namespace"] = namespace
    return meta


def objects(seeded: SeededIncident, *, now: datetime | None = None) -> list[tuple[str, dict[str, Any]]]:
    """``(plural, object)`` pairs to ``FakeApiServer.put``, in a sensible creation order."""
    now = now or datetime.now(UTC)
    created = datetime.fromtimestamp(seeded.started - 3600, UTC)
    oom_at = _when(seeded, seeded.oom_kill.get("time"))
    node, ns, pv = seeded.node_name, seeded.namespace, seeded.pv_name
    message = runtime_message(seeded)
    rs = seeded.pod_name.rsplit("-", 1)[0]
    plugin_name = "csi-cephfsplugin-" + hashlib.sha256(node.encode()).hexdigest()[:5]
    node_obj = node_object(node, created)
    pv_obj = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": _meta(pv, None, f"pv-{pv}", created),
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany"],
            "claimRef": {"namespace": ns, "name": pv},
            "storageClassName": "cephfs",
            "csi": {
                "driver": seeded.csi_driver,
                "volumeHandle": seeded.volume_handle,
                "volumeAttributes": {
                    "clusterID": "rook-ceph",
                    "fsName": "myfs",
                    "mounter": "fuse",
                    "subvolumePath": seeded.subvolume_path,
                },
            },
        },
        "status": {"phase": "Bound"},
    }
    pvc_obj = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(pv, ns, f"pvc-{pv}", created),
        "spec": {"volumeName": pv, "storageClassName": "cephfs", "accessModes": ["ReadWriteMany"]},
        "status": {"phase": "Bound"},
    }
    plugin = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(
            plugin_name,
            PLUGIN_NAMESPACE,
            seeded.plugin_pod_uid,
            created,
            labels={"app": "csi-cephfsplugin"},
            ownerReferences=[
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "name": "csi-cephfsplugin",
                    "uid": "ds-csi-cephfsplugin",
                    "controller": True,
                }
            ],
        ),
        "spec": {
            "nodeName": node,
            "containers": [
                {
                    "name": "driver-registrar",
                    "image": "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.8.0",
                },
                {
                    "name": "csi-cephfsplugin",
                    "image": "quay.io/cephcsi/cephcsi:v3.9.0",
                    "resources": {
                        "limits": {"memory": f"{seeded.extra.get('memory_limit_bytes', 64 << 20) >> 20}Mi"}
                    },
                },
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.2",
            "containerStatuses": [
                {
                    "name": "driver-registrar",
                    "ready": True,
                    "restartCount": 0,
                    "image": "csi-node-driver-registrar",
                    "state": {"running": {"startedAt": rfc3339(created)}},
                },
                {
                    "name": "csi-cephfsplugin",
                    "ready": True,
                    "restartCount": 1,
                    "image": "cephcsi:v3.9.0",
                    "state": {"running": {"startedAt": rfc3339(oom_at)}},
                    "lastState": {
                        "terminated": {
                            "reason": "OOMKilled",
                            "exitCode": 137,
                            "startedAt": rfc3339(created),
                            "finishedAt": rfc3339(oom_at),
                        }
                    },
                },
            ],
        },
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(
            seeded.pod_name,
            ns,
            seeded.pod_uid,
            created,
            labels={"app": "dashboard", "pod-template-hash": rs.rsplit("-", 1)[-1]},
            ownerReferences=[
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": rs,
                    "uid": f"rs-{rs}",
                    "controller": True,
                }
            ],
        ),
        "spec": {
            "nodeName": node,
            "restartPolicy": "Always",
            "containers": [
                {
                    "name": CONTAINER,
                    "image": "grafana/grafana:9.4.7",
                    "volumeMounts": [{"name": pv, "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": pv, "persistentVolumeClaim": {"claimName": pv}}],
        },
        "status": {
            "phase": "Pending",
            "hostIP": "10.0.0.2",
            "podIP": "10.244.0.17",
            "startTime": rfc3339(created),
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [
                {
                    "name": CONTAINER,
                    "ready": False,
                    "restartCount": 3,
                    "image": "grafana/grafana:9.4.7",
                    "state": {"waiting": {"reason": "RunContainerError", "message": message}},
                    "lastState": {
                        "terminated": {
                            "reason": "StartError",
                            "exitCode": 128,
                            "message": message,
                            "startedAt": "1970-01-01T00:00:00Z",
                            "finishedAt": rfc3339(now),
                        }
                    },
                }
            ],
        },
    }
    event = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": _meta(f"{seeded.pod_name}.lab-failed", ns, f"ev-{seeded.pod_uid}", now),
        "regarding": {
            "kind": "Pod",
            "namespace": ns,
            "name": seeded.pod_name,
            "uid": seeded.pod_uid,
            "fieldPath": f"spec.containers{{{CONTAINER}}}",
        },
        "reason": "Failed",
        "note": f"Error: {message}",
        "type": "Warning",
        "eventTime": None,
        "reportingController": "kubelet",
        "reportingInstance": node,
        "deprecatedCount": 4,
        "deprecatedFirstTimestamp": rfc3339(now),
        "deprecatedLastTimestamp": rfc3339(now),
        "deprecatedSource": {"component": "kubelet", "host": node},
    }
    return [
        ("nodes", node_obj),
        ("persistentvolumes", pv_obj),
        ("persistentvolumeclaims", pvc_obj),
        ("pods", plugin),
        ("pods", pod),
        ("events.k8s.io/events", event),
    ]
