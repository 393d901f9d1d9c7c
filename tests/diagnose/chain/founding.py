"""The founding incident as API objects and node-agent answers, for several pods on one node."""

from __future__ import annotations

from typing import Any

from tests.diagnose.chain.conftest import NODE, TS, pod, waiting

KUBELET = "/data/kubernetes/kubelet"
DRIVER = "cephfs.csi.ceph.com"
PLUGIN_UID = "0d1c2b3a-4444-4555-8666-777788889999"
STAGING = f"{KUBELET}/plugins/kubernetes.io/csi/{DRIVER}/abc123/globalmount"
OOM_TIME = 1767225600.0  # 2026-01-01T00:00:00Z


def uid(i: int) -> str:
    return f"92f2591b-66b5-4843-b7a7-{i:012d}"


def mount_path(i: int) -> str:
    return f"{KUBELET}/pods/{uid(i)}/volumes/kubernetes.io~csi/pv-{i}/mount"


def message(i: int) -> str:
    path = mount_path(i)
    return (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
        "runc create "
        "failed: unable to start container process: error during container init: error mounting "
        f'"{path}" to rootfs at "/data": stat {path}: transport endpoint is not connected: unknown'
    )


def objects(i: int, *, namespace: str = "shop") -> list[tuple[str, dict[str, Any]]]:
    """Pod i of Deployment app-i, its PVC/PV (ceph-csi, mounter fuse), failing RunContainerError."""
    name = f"app{i}-5f7b9c8d4-x{i}"
    p = pod(
        name,
        namespace=namespace,
        uid=uid(i),
        owner=f"app{i}-5f7b9c8d4",
        labels={"pod-template-hash": "5f7b9c8d4"},
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": f"data-{i}"}}],
        statuses=[
            waiting(
                "app",
                "RunContainerError",
                message(i),
                restarts=3,
                lastState={"terminated": {"reason": "StartError", "exitCode": 128}},
            )
        ],
    )
    pvc = {
        "metadata": {"name": f"data-{i}", "namespace": namespace},
        "spec": {"volumeName": f"pv-{i}"},
        "status": {"phase": "Bound"},
    }
    pv = {
        "metadata": {"name": f"pv-{i}"},
        "spec": {
            "csi": {
                "driver": DRIVER,
                "volumeHandle": f"0001-handle-{i}",
                "volumeAttributes": {"mounter": "fuse"},
            }
        },
        "status": {"phase": "Bound"},
    }
    return [("persistentvolumes", pv), ("persistentvolumeclaims", pvc), ("pods", p)]


def plugin_pod() -> dict[str, Any]:
    return pod(
        "csi-cephfsplugin-7xk2p",
        namespace="ceph-csi",
        uid=PLUGIN_UID,
        phase="Running",
        containers=[
            {
                "name": "csi-cephfsplugin",
                "image": "quay.io/cephcsi/cephcsi:v3.9.0",
                "resources": {"limits": {"memory": "256Mi"}},
            }
        ],
        statuses=[
            {
                "name": "csi-cephfsplugin",
                "ready": True,
                "restartCount": 1,
                "state": {"running": {"startedAt": TS}},
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": TS}},
            }
        ],
    )


def findings(pods: range) -> list[dict[str, Any]]:
    """What the agent reports: every pod's bind on the dead connection 39, the daemon restarted."""
    oom = {
        "kind": "oom-kill",
        "severity": "error",
        "path": None,
        "pod_uid": PLUGIN_UID,
        "volume": None,
        "process": {"pid": 4100, "comm": "ceph-fuse"},
        "detail": "kernel OOM killer killed pid 4100",
        "data": {
            "pid": 4100,
            "comm": "ceph-fuse",
            "cgroup": f"/kubepods/burstable/pod{PLUGIN_UID}",
            "constraint": "CONSTRAINT_MEMCG",
            "time": OOM_TIME,
        },
    }
    out = [oom]
    daemon = {
        "pid": 4242,
        "comm": "ceph-fuse",
        "cmdline": ["ceph-fuse", STAGING, "-o", "nonempty"],
        "start_time": OOM_TIME + 2,
        "connections": [40],
    }
    for i in pods:
        where = {"path": mount_path(i), "pod_uid": uid(i), "volume": f"pv-{i}"}
        out.append(
            {
                "kind": "mount-disconnected",
                "severity": "error",
                **where,
                "process": None,
                "detail": "ENOTCONN: Transport endpoint is not connected",
                "data": {"source": "ceph-fuse", "fs_type": "fuse.ceph-fuse", "errno": "ENOTCONN"},
            }
        )
        out.append(
            {
                "kind": "fuse-daemon-restarted",
                "severity": "error",
                **where,
                "process": daemon,
                "detail": "the fuse.ceph-fuse daemon was restarted",
                "data": {
                    "connection": 39,
                    "fs_type": "fuse.ceph-fuse",
                    "source": "ceph-fuse",
                    "new_connection": 40,
                    "new_mount_point": STAGING,
                    "daemon_start": OOM_TIME + 2,
                },
            }
        )
    return out


def mounts(i: int) -> list[dict[str, Any]]:
    return [
        {
            "path": mount_path(i),
            "source": "ceph-fuse[/volumes/csi/x]",
            "fs_type": "fuse.ceph-fuse",
            "root": "/volumes/csi/x",
            "root_deleted": False,
            "fuse_connection": 39,
            "fuse_daemons": [],
            "probe": {"status": "error", "errno": "ENOTCONN"},
            "layers": 1,
        }
    ]


def subject_fields(i: int) -> dict[str, Any]:
    return {
        "category": "container-start",
        "reason": "RunContainerError",
        "message": message(i),
        "namespace": "shop",
        "pod": f"app{i}-5f7b9c8d4-x{i}",
        "node": NODE,
        "container": "app",
        "owner_kind": "Deployment",
        "owner_name": f"app{i}",
    }
