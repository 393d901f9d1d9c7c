"""Every category gets a concrete diagnosis from API facts alone (node agent off)."""

from __future__ import annotations

from typing import Any

from podsleuth.diagnose.evidence import DiagnosisRequest
from tests.diagnose.chain.conftest import NODE, Cluster, event, node, pod, waiting


def _subject(category: str, reason: str, message: str, name: str = "web-1", **kw: Any) -> DiagnosisRequest:
    return DiagnosisRequest(
        category=category,
        reason=reason,
        message=message,
        namespace="shop",
        pod=name,
        node=NODE,
        owner_kind="Deployment",
        owner_name="web",
        **kw,
    )


async def test_missing_secret_is_named_without_reading_secrets(cluster: Cluster) -> None:
    msg = 'secret "db-creds" not found'
    cluster.put("pods", pod("web-1", statuses=[waiting("app", "CreateContainerConfigError", msg)]))
    d = await cluster.diagnose(
        _subject("container-config", "CreateContainerConfigError", msg, container="app")
    )
    assert d["root_cause"] == "missing-config-object"
    assert d["confidence"] >= 0.9
    assert "Create secret db-creds in namespace shop" in d["remediation"][0]
    assert not any("/secrets" in path for _, path, _ in cluster.api.requests), "podsleuth never reads Secrets"


async def test_missing_configmap_key(cluster: Cluster) -> None:
    msg = "Error: couldn't find key log_level in ConfigMap shop/app-config"
    cluster.put(
        "configmaps", {"metadata": {"name": "app-config", "namespace": "shop"}, "data": {"other": "1"}}
    )
    cluster.put("pods", pod("web-1", statuses=[waiting("app", "CreateContainerConfigError", msg)]))
    d = await cluster.diagnose(_subject("container-config", "CreateContainerConfigError", msg))
    assert d["root_cause"] == "missing-config-key"
    assert "log_level" in d["summary"] and "app-config" in d["remediation"][0]


IMAGE_CASES = {
    "image-not-found": 'Failed to pull image "ghcr.io/x/probe:v0.1.8": rpc error: code = NotFound desc = '
    'failed to pull and unpack image "ghcr.io/x/probe:v0.1.8": '
    'failed to resolve reference "ghcr.io/x/probe:v0.1.8": '
    "ghcr.io/x/probe:v0.1.8: not found",
    "image-pull-auth": 'Failed to pull image "registry.corp.net/a/b:1": rpc error: code = Unknown desc = '
    'failed to pull and unpack image "registry.corp.net/a/b:1": '
    'failed to resolve reference "registry.corp.net/a/b:1": '
    "pulling from host registry.corp.net failed with status code [manifests 1]: 401 Unauthorized",
    "image-pull-tls": 'Failed to pull image "reg.local/x:1": x509: certificate signed by unknown authority',
}


async def test_image_failures_are_told_apart(cluster: Cluster) -> None:
    for cause, msg in IMAGE_CASES.items():
        cluster.put("pods", pod("web-1", statuses=[waiting("app", "ErrImagePull", msg)]))
        d = await cluster.diagnose(_subject("image-pull", "ErrImagePull", msg))
        assert d["root_cause"] == cause, (cause, d["summary"])
    assert "imagePullSecrets" in d["remediation"][0] or "CA" in d["remediation"][0]


async def test_backoff_is_explained_by_the_earlier_pull_event(cluster: Cluster) -> None:
    backoff = 'Back-off pulling image "ghcr.io/x/probe:v0.1.8"'
    cluster.put("pods", pod("web-1", statuses=[waiting("app", "ImagePullBackOff", backoff)]))
    cluster.put("events", event("web-1", "Failed", IMAGE_CASES["image-not-found"]))
    d = await cluster.diagnose(_subject("image-pull", "ImagePullBackOff", backoff))
    assert d["root_cause"] == "image-not-found"


def _oom_pod(limit: str | None) -> dict[str, Any]:
    resources = {"limits": {"memory": limit}} if limit else {}
    st = {
        "name": "app",
        "ready": False,
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
    }
    return pod(
        "web-1",
        containers=[{"name": "app", "image": "app:1", "resources": resources}],
        statuses=[st],
        phase="Running",
    )


async def test_oom_container_limit_vs_node_oom(cluster: Cluster) -> None:
    cluster.put("pods", _oom_pod("256Mi"))
    d = await cluster.diagnose(_subject("oom-killed", "OOMKilled", "OOMKilled", container="app"))
    assert d["root_cause"] == "container-memory-limit" and "256Mi" in d["remediation"][0]
    cluster.put("pods", _oom_pod(None))
    cluster.put("nodes", node(conditions={"MemoryPressure": "True"}))
    d = await cluster.diagnose(_subject("oom-killed", "OOMKilled", "OOMKilled", container="app"))
    assert d["root_cause"] == "node-oom"


async def test_unschedulable_names_resource_taint_and_pvc(cluster: Cluster) -> None:
    msg = "0/4 nodes are available: 1 Insufficient cpu, 3 Insufficient memory."
    cluster.put("pods", pod("web-1", node=""))
    d = await cluster.diagnose(_subject("unschedulable", "FailedScheduling", msg))
    assert d["root_cause"] == "insufficient-resources" and "cpu, memory" in d["summary"]
    msg = "0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}."
    d = await cluster.diagnose(_subject("unschedulable", "FailedScheduling", msg))
    assert d["root_cause"] == "untolerated-taints" and "dedicated: gpu" in d["summary"]
    cluster.put(
        "pods", pod("web-1", node="", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "d"}}])
    )
    cluster.put(
        "persistentvolumeclaims",
        {"metadata": {"name": "d", "namespace": "shop"}, "status": {"phase": "Pending"}},
    )
    msg = "0/6 nodes are available: pod has unbound immediate PersistentVolumeClaims."
    d = await cluster.diagnose(_subject("unschedulable", "FailedScheduling", msg))
    assert d["root_cause"] == "unbound-pvc" and "describe pvc d" in d["remediation"][0]


async def test_probe_failure_names_endpoint_and_error(cluster: Cluster) -> None:
    probe = {"httpGet": {"path": "/healthz", "port": 9440}}
    cluster.put(
        "pods",
        pod(
            "web-1",
            phase="Running",
            containers=[{"name": "app", "image": "a", "livenessProbe": probe}],
            statuses=[{"name": "app", "ready": False, "restartCount": 2}],
        ),
    )
    msg = (
        'Liveness probe failed: Get "http://10.0.0.5:9440/healthz": '
        "dial tcp 10.0.0.5:9440: connect: connection refused"
    )
    d = await cluster.diagnose(_subject("probe-failure", "Unhealthy", msg, container="app"))
    assert d["root_cause"] == "probe-failing"
    assert "HTTP GET :9440/healthz" in d["summary"] and "connection refused" in d["summary"]


async def test_eviction_names_resource_and_container(cluster: Cluster) -> None:
    msg = (
        "The node was low on resource: ephemeral-storage. Container app was using 34260Ki, which exceeds its "
        "request of 0."
    )
    cluster.put("pods", pod("web-1", phase="Failed", reason="Evicted", message=msg))
    d = await cluster.diagnose(_subject("evicted", "Evicted", msg))
    assert d["root_cause"] == "evicted"
    assert "ephemeral-storage" in d["summary"] and "container app" in d["summary"]


async def test_cni_failure(cluster: Cluster) -> None:
    msg = (
        "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "
        '"abc": plugin type="calico" failed (add): connection is unauthorized: Unauthorized'
    )
    cluster.put("pods", pod("web-1"))
    d = await cluster.diagnose(_subject("sandbox", "FailedCreatePodSandBox", msg))
    assert d["root_cause"] == "cni-failure" and NODE in d["remediation"][0]
    assert d["group"]["key"].startswith(f"{NODE}|cni-failure")


async def test_csi_driver_not_registered_on_the_node(cluster: Cluster) -> None:
    msg = (
        'MountVolume.MountDevice failed for volume "pv-1" : kubernetes.io/csi: attacher.MountDevice '
        "failed to create newCsiDriverClient: driver name nfs.csi.k8s.io not found in the list of "
        "registered CSI drivers"
    )
    cluster.put(
        "storage.k8s.io/csinodes",
        {"metadata": {"name": NODE}, "spec": {"drivers": [{"name": "ebs.csi.aws.com"}]}},
    )
    cluster.put(
        "persistentvolumes",
        {"metadata": {"name": "pv-1"}, "spec": {"csi": {"driver": "nfs.csi.k8s.io", "volumeHandle": "h"}}},
    )
    cluster.put(
        "persistentvolumeclaims",
        {
            "metadata": {"name": "c", "namespace": "shop"},
            "spec": {"volumeName": "pv-1"},
            "status": {"phase": "Bound"},
        },
    )
    cluster.put("pods", pod("web-1", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}]))
    d = await cluster.diagnose(_subject("volume-mount", "FailedMount", msg))
    assert d["root_cause"] == "csi-driver-not-registered"
    assert d["confidence"] >= 0.75  # confirmed by CSINode; the agent (off) is a gap
    assert any(e["source"] == "api:csinode" for e in d["evidence"])
