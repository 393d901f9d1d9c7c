"""The watcher Deployment, the node-agent DaemonSet and their Services.

The watcher is an ordinary unprivileged API client and gets the restricted Pod Security
profile. The agent cannot be: it reads every process's /proc (hostPID), sees the host's mount
table and bind-mounts targets inside a private mount namespace (CAP_SYS_ADMIN), so it runs
privileged - but without hostNetwork, and with a read-only root filesystem and read-only
host mounts, because it never changes anything on the node.
"""

from __future__ import annotations

import hashlib
import posixpath

from podsleuth.deploy.common import (
    AGENT,
    AGENT_PORT,
    CONFIG_DIR,
    CONFIG_FILE,
    CONFIG_SECRET,
    CONFIGMAP,
    DEFAULT_STORE,
    HOST_SYS,
    METRICS_PORT,
    NONROOT_UID,
    STORE_ENV,
    STORE_SECRET,
    TOKEN_DIR,
    TOKEN_FILE,
    TOKEN_KEY,
    TOKEN_SECRET,
    UI_PORT,
    UI_TOKEN_DIR,
    UI_TOKEN_FILE,
    UI_TOKEN_SECRET,
    WATCHER,
    DeployOptions,
    Obj,
    labels,
    meta,
    selector,
)
from podsleuth.store import sqlite_path

RUNTIME_DEFAULT = {"type": "RuntimeDefault"}


def _http_probe(path: str, port: str, *, period: int, failures: int) -> Obj:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def _env_field(name: str, field_path: str) -> Obj:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


def _store_dir(opts: DeployOptions) -> str | None:
    """Where the SQLite file lives (a writable volume is needed: the root fs is read-only)."""
    if opts.store_in_secret:
        return None
    return posixpath.dirname(sqlite_path(opts.store_url or DEFAULT_STORE))


def watcher_deployment(opts: DeployOptions) -> Obj:
    # The console listens on the pod IP for its ClusterIP Service, reached with `kubectl
    # port-forward` or the API server's service proxy; no Ingress exposes it by default. It is
    # read-only until the optional write-token Secret exists (the watcher re-reads the file).
    args = ["watch", "--config", CONFIG_FILE, "--metrics-port", str(METRICS_PORT), "--output", "json",
            "--ui-port", str(UI_PORT), "--ui-host", "0.0.0.0"]
    if opts.console_writes:
        args += ["--ui-token-file", UI_TOKEN_FILE]
    env = [_env_field("POD_NAME", "metadata.name"), _env_field("POD_NAMESPACE", "metadata.namespace")]
    if opts.store_in_secret:
        # Kubernetes expands $(VAR) in args from the container's env: the URL stays in the Secret.
        env.append({"name": STORE_ENV,
                    "valueFrom": {"secretKeyRef": {"name": STORE_SECRET, "key": "url"}}})
        args += ["--store", f"$({STORE_ENV})"]
    else:
        args += ["--store", opts.store_url or DEFAULT_STORE]
    mounts: list[Obj] = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[Obj] = [
        {"name": "config", "secret": {"secretName": CONFIG_SECRET}}
        if opts.config_has_secrets
        else {"name": "config", "configMap": {"name": CONFIGMAP}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    if opts.console_writes:
        mounts.append({"name": "ui-token", "mountPath": UI_TOKEN_DIR, "readOnly": True})
        volumes.append({"name": "ui-token", "secret": {"secretName": UI_TOKEN_SECRET, "optional": True}})
    store_dir = _store_dir(opts)
    if store_dir is not None:
        mounts.append({"name": "data", "mountPath": store_dir})
        volumes.append({"name": "data", "emptyDir": {"sizeLimit": "1Gi"}})
    if opts.node_agent and opts.agent_shared_token:
        # optional: the watcher runs (without node evidence) until the token Secret exists.
        mounts.append({"name": "node-token", "mountPath": TOKEN_DIR, "readOnly": True})
        volumes.append({"name": "node-token", "secret": {"secretName": TOKEN_SECRET, "optional": True}})
    container: Obj = {
        "name": "watcher",
        "image": opts.image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "env": env,
        "ports": [
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
            {"name": "ui", "containerPort": UI_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": _http_probe("/healthz", "metrics", period=20, failures=3),
        "readinessProbe": _http_probe("/readyz", "metrics", period=10, failures=3),
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": NONROOT_UID,
            "runAsGroup": NONROOT_UID,
            "seccompProfile": RUNTIME_DEFAULT,
        },
        "volumeMounts": mounts,
    }
    pod_spec: Obj = {
        "serviceAccountName": WATCHER,
        "automountServiceAccountToken": True,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NONROOT_UID,
            "runAsGroup": NONROOT_UID,
            "fsGroup": NONROOT_UID,
            "seccompProfile": RUNTIME_DEFAULT,
        },
        "terminationGracePeriodSeconds": 30,
        "containers": [container],
        "volumes": volumes,
    }
    if opts.replicas > 1:
        pod_spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": selector("watcher")}},
        }]}}
    # One replica: never two watchers at once during a rollout (duplicate alerts, one SQLite
    # file); several: leader election decides who acts, so rolling is safe.
    strategy: Obj = {"type": "Recreate"} if opts.replicas == 1 else {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    config_hash = hashlib.sha256(opts.config_yaml.encode()).hexdigest()[:16]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(WATCHER, "watcher", opts.namespace),
        "spec": {
            "replicas": opts.replicas,
            "revisionHistoryLimit": 3,
            "strategy": strategy,
            "selector": {"matchLabels": selector("watcher")},
            "template": {
                "metadata": {
                    "labels": labels("watcher"),
                    # a changed ConfigMap rolls the pods, which read the file only at start
                    "annotations": {"podsleuth.io/config-sha256": config_hash},
                },
                "spec": pod_spec,
            },
        },
    }


def agent_daemonset(opts: DeployOptions) -> Obj:
    # The way in: the watcher's own ServiceAccount token, checked by a TokenReview (the agent's
    # ClusterRole allows exactly that) and accepted for the watcher's SA only; nothing to create
    # by hand. With agent_shared_token also a shared token (a Secret; for clients outside the
    # cluster).
    args = ["node", "serve", "--listen", f"0.0.0.0:{AGENT_PORT}"]
    if opts.agent_shared_token:
        args += ["--token-file", TOKEN_FILE]
    args += ["--token-review", "--allow-user", f"system:serviceaccount:{opts.namespace}:{WATCHER}"]
    for d in opts.kubelet_dirs:
        args += ["--kubelet-dir", d]
    args += ["--sys", HOST_SYS]
    mounts: list[Obj] = []
    volumes: list[Obj] = []
    for i, d in enumerate(opts.kubelet_dirs):
        name = "kubelet" if i == 0 else f"kubelet-{i}"
        # Same path as on the host: the agent reports and probes host paths, and mountinfo
        # (read from /proc/1 under hostPID) names them that way. HostToContainer makes volume
        # mounts the kubelet creates after the agent started visible to it.
        mounts.append({"name": name, "mountPath": d, "readOnly": True, "mountPropagation": "HostToContainer"})
        volumes.append({"name": name, "hostPath": {"path": d, "type": "Directory"}})
    mounts += [
        {"name": "kmsg", "mountPath": "/dev/kmsg", "readOnly": True},
        {"name": "sys-fs", "mountPath": f"{HOST_SYS}/fs", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes += [
        {"name": "kmsg", "hostPath": {"path": "/dev/kmsg", "type": "CharDevice"}},
        # /sys/fs rather than /sys/fs/fuse: the latter is absent on nodes without the fuse
        # module, which would keep the agent from starting there.
        {"name": "sys-fs", "hostPath": {"path": "/sys/fs", "type": "Directory"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    if opts.agent_shared_token:
        mounts.append({"name": "token", "mountPath": TOKEN_DIR, "readOnly": True})
        items = [{"key": TOKEN_KEY, "path": TOKEN_KEY}]
        volumes.append({"name": "token", "secret": {"secretName": TOKEN_SECRET, "items": items}})
    container: Obj = {
        "name": "node-agent",
        "image": opts.image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "env": [_env_field("NODE_NAME", "spec.nodeName")],
        "ports": [{"name": "http", "containerPort": AGENT_PORT, "protocol": "TCP"}],
        "livenessProbe": _http_probe("/healthz", "http", period=20, failures=3),
        "readinessProbe": _http_probe("/healthz", "http", period=10, failures=3),
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"memory": "256Mi"},
        },
        "securityContext": {
            # hostPID /proc/<pid>/fd + fdinfo of FUSE daemons, /proc/1/mountinfo, /dev/kmsg and
            # the bind test's unshare(CLONE_NEWNS)+mount need root with CAP_SYS_ADMIN and
            # CAP_SYS_PTRACE; privileged also exempts the bind test from AppArmor's mount deny.
            "privileged": True,
            "runAsUser": 0,
            "runAsNonRoot": False,
            "readOnlyRootFilesystem": True,
        },
        "volumeMounts": mounts,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": meta(AGENT, "node-agent", opts.namespace),
        "spec": {
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector("node-agent")},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {
                "metadata": {"labels": labels("node-agent")},
                "spec": {
                    "serviceAccountName": AGENT,
                    "automountServiceAccountToken": True,
                    "hostPID": True,
                    "terminationGracePeriodSeconds": 10,
                    # every node, tainted or not: broken mounts happen on control-plane,
                    # GPU and storage nodes too
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def services(opts: DeployOptions) -> list[Obj]:
    out: list[Obj] = [{
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(WATCHER, "watcher", opts.namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": selector("watcher"),
            "ports": [
                {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
                {"name": "ui", "port": UI_PORT, "targetPort": "ui", "protocol": "TCP"},
            ],
        },
    }]
    if opts.node_agent:
        # Headless: the watcher calls the agent of one node (by pod IP), never a random one;
        # the Service gives Prometheus endpoints to scrape and names the port.
        out.append({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(AGENT, "node-agent", opts.namespace),
            "spec": {
                "clusterIP": "None",
                "selector": selector("node-agent"),
                "ports": [{"name": "http", "port": AGENT_PORT, "targetPort": "http", "protocol": "TCP"}],
            },
        })
    return out
