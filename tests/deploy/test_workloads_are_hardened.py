"""The watcher runs restricted, the agent privileged only as far as its probes need."""

from __future__ import annotations

from typing import Any

import yaml

from tests.deploy.conftest import PG, by_kind, objects, one


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    [c] = obj["spec"]["template"]["spec"]["containers"]
    return c


def test_watcher_is_non_root_read_only_and_capability_free(variant: Any) -> None:
    _, objs = variant
    deploy = one(objs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    c = _container(deploy)
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 65532
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert not pod.get("hostPID") and not pod.get("hostNetwork")
    assert c["args"][:7] == ["watch", "--config", "/etc/podsleuth/config.yaml", "--metrics-port", "9090",
                             "--output", "json"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert set(mounts) == set(volumes)
    assert volumes["config"]["configMap"]["name"] == one(objs, "ConfigMap")["metadata"]["name"]


def test_single_replica_keeps_sqlite_on_a_volume() -> None:
    deploy = one(objects(), "Deployment")
    c = _container(deploy)
    assert c["args"][-2:] == ["--store", "sqlite:///var/lib/podsleuth/podsleuth.db"]
    assert {"name": "data", "mountPath": "/var/lib/podsleuth"} in c["volumeMounts"]
    assert deploy["spec"]["strategy"] == {"type": "Recreate"}
    assert not by_kind(objects(), "Secret")


def test_ha_store_url_only_travels_in_a_secret() -> None:
    objs = objects(replicas=3, store_url=PG)
    deploy = one(objs, "Deployment")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["strategy"]["type"] == "RollingUpdate"
    secret = one(objs, "Secret")
    assert secret["stringData"] == {"url": PG}
    for obj in objs:
        if obj is not secret:
            assert "s3cret" not in repr(obj), obj["kind"]
    c = _container(deploy)
    assert c["args"][-2:] == ["--store", "$(PODSLEUTH_STORE)"]
    [env] = [e for e in c["env"] if e["name"] == "PODSLEUTH_STORE"]
    assert env["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": "url"}
    assert "data" not in {m["name"] for m in c["volumeMounts"]}


def test_node_agent_daemonset_shape() -> None:
    objs = objects(kubelet_dirs=("/var/lib/kubelet", "/data/kubernetes/kubelet"))
    ds = one(objs, "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    c = _container(ds)
    assert pod["hostPID"] is True
    assert not pod.get("hostNetwork")
    assert pod["tolerations"] == [{"operator": "Exists"}]
    assert c["securityContext"]["privileged"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["args"][:4] == ["node", "serve", "--listen", "0.0.0.0:9808"]
    assert c["args"].count("--kubelet-dir") == 2
    # the watcher's own ServiceAccount token (TokenReview), that SA only: nothing made by hand
    assert c["args"][4:7] == ["--token-review", "--allow-user",
                              "system:serviceaccount:podsleuth:podsleuth-watcher"]
    assert "--token-file" not in c["args"]
    other = _container(one(objects(namespace="other"), "DaemonSet"))["args"]
    assert other[other.index("--allow-user") + 1] == "system:serviceaccount:other:podsleuth-watcher"
    volumes = {v["name"]: v for v in pod["volumes"]}
    for d in ("/var/lib/kubelet", "/data/kubernetes/kubelet"):
        [m] = [m for m in c["volumeMounts"] if m["mountPath"] == d]
        assert m["mountPropagation"] == "HostToContainer" and m["readOnly"] is True
        assert volumes[m["name"]]["hostPath"]["path"] == d  # same path inside and out
    [kmsg] = [m for m in c["volumeMounts"] if m["mountPath"] == "/dev/kmsg"]
    assert kmsg["readOnly"] is True
    assert volumes[kmsg["name"]]["hostPath"] == {"path": "/dev/kmsg", "type": "CharDevice"}
    assert all(m.get("readOnly") for m in c["volumeMounts"] if "hostPath" in volumes[m["name"]])
    assert "token" not in volumes
    shared = one(objects(agent_shared_token=True), "DaemonSet")
    args = _container(shared)["args"]
    assert args[4:6] == ["--token-file", "/var/run/secrets/podsleuth/token"] and "--token-review" in args
    shared_volumes = {v["name"]: v for v in shared["spec"]["template"]["spec"]["volumes"]}
    assert shared_volumes["token"]["secret"]["secretName"] == "podsleuth-node-token"


def test_watcher_config_points_at_this_install_agents() -> None:
    cm = one(objects(namespace="other"), "ConfigMap")
    agents = yaml.safe_load(cm["data"]["config.yaml"])["node_agents"]
    assert agents == {"namespace": "other"}, "no token file: the watcher sends its ServiceAccount token"
    cm = one(objects(namespace="other", agent_shared_token=True), "ConfigMap")
    agents = yaml.safe_load(cm["data"]["config.yaml"])["node_agents"]
    assert agents == {"namespace": "other", "token_file": "/var/run/secrets/podsleuth/token"}
    assert "node-token" in repr(one(objects(agent_shared_token=True), "Deployment"))
    assert "node-token" not in repr(one(objects(), "Deployment"))
    cm = one(objects(node_agent=False), "ConfigMap")
    assert yaml.safe_load(cm["data"]["config.yaml"])["node_agents"] == {"discovery": "off"}


def test_no_agent_variant_has_no_privileged_parts() -> None:
    objs = objects(node_agent=False)
    assert not by_kind(objs, "DaemonSet")
    assert [s["metadata"]["name"] for s in by_kind(objs, "Service")] == ["podsleuth-watcher"]
    ns = one(objs, "Namespace")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert "node-token" not in repr(one(objs, "Deployment"))


def test_everything_namespaced_lands_in_the_chosen_namespace(variant: Any) -> None:
    name, objs = variant
    ns = one(objs, "Namespace")["metadata"]["name"]
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    for obj in objs:
        if obj["kind"] not in cluster_scoped:
            assert obj["metadata"]["namespace"] == ns, (name, obj["kind"])
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "podsleuth"
        assert "app.kubernetes.io/version" in labels
        if obj["kind"] != "Namespace":
            assert labels["app.kubernetes.io/component"] in {"watcher", "node-agent"}


def test_services_select_pods_with_the_named_port(variant: Any) -> None:
    _, objs = variant
    workloads = by_kind(objs, "Deployment") + by_kind(objs, "DaemonSet")
    for svc in by_kind(objs, "Service"):
        sel = svc["spec"]["selector"].items()
        [w] = [w for w in workloads if sel <= w["spec"]["template"]["metadata"]["labels"].items()]
        port_names = {p["name"] for p in _container(w)["ports"]}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= port_names
        pod_labels = w["spec"]["template"]["metadata"]["labels"]
        assert w["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
