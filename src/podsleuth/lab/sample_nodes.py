"""Realistic nodes (~10 KB of JSON each) for large-cluster benchmarks.

A real Node is mostly what podsleuth never reads: the kubelet's image list (up to 50 entries of
digests and tags), managedFields of the kubelet and the cloud controller, capacity/allocatable,
addresses and nodeInfo. Only the conditions and taints matter to the detector, so a benchmark on
``{"status": {"conditions": [...]}}`` stubs would flatter the decoder by an order of magnitude.
The shape follows ``kubectl get node -o json`` of a managed (EKS-like) worker.
"""

from __future__ import annotations

import hashlib
from typing import Any

IMAGES = 40
"""Images the kubelet reports (it caps the list at 50, ``--node-status-max-images``)."""

_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def _digest(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def _images(i: int) -> list[dict[str, Any]]:
    out = []
    for k in range(IMAGES):
        repo = f"registry.example.com/team-{k % 7}/service-{k}"
        out.append({
            "names": [f"{repo}@sha256:{_digest(f'{k}-{i % 3}')}", f"{repo}:1.{k}.{i % 3}"],
            "sizeBytes": 20_000_000 + k * 1_234_567,
        })
    return out


def _managed_fields(ts: str) -> list[dict[str, Any]]:
    fields: dict[str, Any] = {".": {}, "f:lastHeartbeatTime": {}, "f:lastTransitionTime": {},
                              "f:message": {}, "f:reason": {}, "f:status": {}, "f:type": {}}
    conds = {f'k:{{"type":"{t}"}}': dict(fields) for t, *_ in _CONDITIONS}
    return [
        {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": ts,
         "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:annotations": {
             ".": {}, "f:node.alpha.kubernetes.io/ttl": {},
             "f:volumes.kubernetes.io/controller-managed-attach-detach": {}},
             "f:labels": {".": {}, "f:kubernetes.io/arch": {}, "f:kubernetes.io/hostname": {},
                          "f:kubernetes.io/os": {}}}, "f:spec": {"f:providerID": {}}}},
        {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": ts,
         "fieldsType": "FieldsV1", "subresource": "status",
         "fieldsV1": {"f:status": {"f:allocatable": {"f:ephemeral-storage": {}}, "f:conditions": conds,
                                   "f:images": {}, "f:nodeInfo": {"f:bootID": {}}}}},
    ]


def sample_node(i: int, *, heartbeat: str = "2026-11-20T10:00:00Z", ready: bool = True) -> dict[str, Any]:
    """Node ``node-<i>`` as the kubelet reports it; ``heartbeat`` stamps the conditions (each
    kubelet status update moves it, which is what makes a heartbeat a MODIFIED event)."""
    name = f"node-{i}"
    zone = f"eu-west-1{'abc'[i % 3]}"
    ts = "2026-11-01T08:00:00Z"
    h = _digest(name)
    host = f"ip-{i // 256 % 256}-{i % 256}.eu-west-1.compute.internal"
    ip = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
    conditions = [
        {"type": t, "status": ("True" if ready else "Unknown") if t == "Ready" else s,
         "reason": r if ready or t != "Ready" else "NodeStatusUnknown",
         "message": m if ready or t != "Ready" else "Kubelet stopped posting node status.",
         "lastHeartbeatTime": heartbeat, "lastTransitionTime": ts}
        for t, s, r, m in _CONDITIONS
    ]
    resources = {"cpu": "8", "ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0",
                 "hugepages-2Mi": "0", "memory": "32386544Ki", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": _uid_like(name),
            "creationTimestamp": ts,
            "labels": {
                "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": "m6i.2xlarge",
                "beta.kubernetes.io/os": "linux", "eks.amazonaws.com/capacityType": "ON_DEMAND",
                "eks.amazonaws.com/nodegroup": f"workers-{i % 10}",
                "eks.amazonaws.com/nodegroup-image": "ami-0a1b2c3d4e5f67890",
                "failure-domain.beta.kubernetes.io/region": "eu-west-1",
                "failure-domain.beta.kubernetes.io/zone": zone, "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": host,
                "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "m6i.2xlarge",
                "topology.kubernetes.io/region": "eu-west-1", "topology.kubernetes.io/zone": zone,
            },
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": ip,
                "csi.volume.kubernetes.io/nodeid": f'{{"ebs.csi.aws.com":"i-{h[:17]}"}}',
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "managedFields": _managed_fields(heartbeat),
        },
        "spec": {"podCIDR": f"100.64.{i % 256}.0/24", "podCIDRs": [f"100.64.{i % 256}.0/24"],
                 "providerID": f"aws:///{zone}/i-{h[:17]}"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip},
                          {"type": "Hostname", "address": host},
                          {"type": "InternalDNS", "address": host}],
            "allocatable": {**resources, "cpu": "7910m", "memory": "31369712Ki"},
            "capacity": resources,
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": _images(i),
            "nodeInfo": {
                "architecture": "amd64", "bootID": _uid_like(f"boot-{i}"),
                "containerRuntimeVersion": "containerd://1.7.11",
                "kernelVersion": "5.10.205-195.807.amzn2.x86_64",
                "kubeProxyVersion": "v1.29.0-eks-5e0fdde", "kubeletVersion": "v1.29.0-eks-5e0fdde",
                "machineID": h[:32], "operatingSystem": "linux", "osImage": "Amazon Linux 2",
                "systemUUID": _uid_like(f"sys-{i}"),
            },
        },
    }


def _uid_like(seed: str) -> str:
    h = _digest(seed)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
