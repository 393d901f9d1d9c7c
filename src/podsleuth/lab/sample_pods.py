"""Realistic pods (~6 KB of JSON each, managedFields included) for benchmarks and demos.

Real pods are mostly fields podsleuth never reads: managedFields, annotations, env, volumes,
tolerations. Benchmarks on trimmed pods would flatter the decoder; these look like what a
Deployment with a sidecar produces on a real cluster.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec


def _uid(seed: str) -> str:
    h = hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _managed_fields(ts: str) -> list[dict[str, Any]]:
    spec = {
        "f:containers": {
            'k:{"name":"app"}': {
                ".": {},
                "f:env": {".": {}, 'k:{"name":"LOG_LEVEL"}': {}},
                "f:image": {},
                "f:imagePullPolicy": {},
                "f:name": {},
                "f:ports": {".": {}, 'k:{"containerPort":8080}': {}},
                "f:resources": {".": {}, "f:limits": {}, "f:requests": {}},
                "f:volumeMounts": {".": {}},
            },
            'k:{"name":"proxy"}': {".": {}, "f:image": {}, "f:name": {}},
        },
        "f:dnsPolicy": {},
        "f:enableServiceLinks": {},
        "f:restartPolicy": {},
        "f:schedulerName": {},
        "f:securityContext": {},
        "f:terminationGracePeriodSeconds": {},
        "f:volumes": {".": {}},
    }
    status: dict[str, Any] = {
        "f:conditions": {
            'k:{"type":"ContainersReady"}': {
                ".": {},
                "f:lastProbeTime": {},
                "f:lastTransitionTime": {},
                "f:status": {},
                "f:type": {},
            },
            'k:{"type":"Ready"}': {".": {}, "f:status": {}, "f:type": {}},
        },
        "f:containerStatuses": {},
        "f:hostIP": {},
        "f:phase": {},
        "f:podIP": {},
        "f:startTime": {},
    }
    return [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "v1",
            "time": ts,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {}}, "f:spec": spec},
        },
        {
            "manager": "kubelet",
            "operation": "Update",
            "apiVersion": "v1",
            "time": ts,
            "fieldsType": "FieldsV1",
            "subresource": "status",
            "fieldsV1": {"f:status": status},
        },
    ]


def _container_status(name: str, image: str, i: int, ts: str, *, restarts: int) -> dict[str, Any]:
    return {
        "name": name,
        "ready": True,
        "started": True,
        "restartCount": restarts,
        "image": image,
        "imageID": f"docker.io/library/{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}",
        "containerID": f"containerd://{hashlib.sha256(f'{name}{i}'.encode()).hexdigest()}",
        "state": {"running": {"startedAt": ts}},
        "lastState": {
            "terminated": {
                "exitCode": 137 if i % 40 == 0 else 1,
                "reason": "OOMKilled" if i % 40 == 0 else "Error",
                "startedAt": ts,
                "finishedAt": ts,
                "containerID": "containerd://0",
            }
        }
        if restarts
        else {},
    }


def sample_pod(
    i: int, *, namespace: str = "shop", node: str | None = None, rv: int | None = None
) -> dict[str, Any]:
    """Pod number ``i`` of a realistic Deployment ``web-<i // 50>``."""
    app = f"web-{i // 50}"
    rs = f"{app}-6d4cf56db6"
    name = f"{rs}-{hashlib.md5(str(i).encode(), usedforsecurity=False).hexdigest()[:5]}"
    ts = f"2026-11-20T10:{i // 60 % 60:02d}:{i % 60:02d}Z"
    meta: dict[str, Any] = {
        "name": name,
        "generateName": f"{rs}-",
        "namespace": namespace,
        "uid": _uid(name),
        "creationTimestamp": ts,
        "labels": {
            "app.kubernetes.io/name": app,
            "app.kubernetes.io/instance": f"{app}-prod",
            "app.kubernetes.io/version": "1.8.3",
            "pod-template-hash": "6d4cf56db6",
            "team": "checkout",
        },
        "annotations": {
            "kubectl.kubernetes.io/restartedAt": ts,
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9090",
            "cni.projectcalico.org/podIP": f"10.42.{i % 250}.{i % 200}/32",
            "cni.projectcalico.org/containerID": hashlib.sha256(name.encode()).hexdigest(),
        },
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": rs,
                "uid": _uid(rs),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
        "managedFields": _managed_fields(ts),
    }
    if rv is not None:
        meta["resourceVersion"] = str(rv)
    env: list[dict[str, Any]] = [
        {"name": k, "value": v}
        for k, v in (
            ("LOG_LEVEL", "info"),
            ("PORT", "8080"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4317"),
        )
    ]
    env.append(
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}
    )
    mounts = [
        {"name": "data", "mountPath": "/data"},
        {"name": "config", "mountPath": "/etc/app", "readOnly": True},
        {
            "name": "kube-api-access-x7k2p",
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "readOnly": True,
        },
    ]
    probe = {
        "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
        "periodSeconds": 10,
        "failureThreshold": 3,
        "timeoutSeconds": 1,
        "successThreshold": 1,
    }
    containers = [
        {
            "name": "app",
            "image": "registry.example.com/shop/web:1.8.3",
            "env": env,
            "volumeMounts": mounts,
            "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
            "resources": {
                "limits": {"cpu": "1", "memory": "512Mi"},
                "requests": {"cpu": "250m", "memory": "256Mi"},
            },
            "livenessProbe": probe,
            "readinessProbe": probe,
            "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        },
        {
            "name": "proxy",
            "image": "envoyproxy/envoy:v1.29.1",
            "args": ["-c", "/etc/envoy/envoy.yaml"],
            "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}},
            "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log",
        },
    ]
    volumes = [
        {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{app}"}},
        {"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}},
        {
            "name": "kube-api-access-x7k2p",
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                    {
                        "downwardAPI": {
                            "items": [
                                {
                                    "path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                }
                            ]
                        }
                    },
                ],
            },
        },
    ]
    conditions = [
        {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": ts}
        for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
    ]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta,
        "spec": {
            "volumes": volumes,
            "containers": containers,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "web",
            "serviceAccount": "web",
            "nodeName": node or f"node-{i % 40}",
            "securityContext": {"runAsNonRoot": True, "fsGroup": 2000},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {
                    "key": f"node.kubernetes.io/{k}",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
                for k in ("not-ready", "unreachable")
            ],
            "priority": 0,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": f"192.168.1.{i % 40}",
            "podIP": f"10.42.{i % 250}.{i % 200}",
            "podIPs": [{"ip": f"10.42.{i % 250}.{i % 200}"}],
            "startTime": ts,
            "qosClass": "Burstable",
            "containerStatuses": [
                # 1 pod in 20 restarted once (1 in 40 after an OOM kill), as in a healthy cluster
                _container_status(
                    "app", "registry.example.com/shop/web:1.8.3", i, ts, restarts=int(i % 20 < 1)
                ),
                _container_status("proxy", "envoyproxy/envoy:v1.29.1", i, ts, restarts=0),
            ],
        },
    }


def watch_line(pod: dict[str, Any], *, type_: str = "MODIFIED") -> bytes:
    """One line of a watch stream carrying ``pod``."""
    return msgspec.json.encode({"type": type_, "object": pod}) + b"\n"


def watch_lines(n: int, *, rv_start: int = 1000) -> list[bytes]:
    return [watch_line(sample_pod(i % 5000, rv=rv_start + i)) for i in range(n)]
