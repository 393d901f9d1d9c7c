"""API facts: what the cluster itself says about an incident's pod, volumes and node.

The chain an engineer follows in ``kubectl``: the pod and its container states, its events,
the volume behind the failing path (pod volume -> PVC -> PV -> CSI driver, volume handle,
``mounter``), the node and its conditions, and the pods on that node: the CSI node plugin (did
it restart? was it OOM-killed?) and the other pods failing the same way. Every GET has a
timeout; a failed read becomes a gap in the evidence (lower confidence), never an exception.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import msgspec

from podsleuth.diagnose import api_context, api_images
from podsleuth.diagnose import api_objects as o
from podsleuth.diagnose.api_pods import csinode, node_pods
from podsleuth.diagnose.evidence import Case
from podsleuth.errors import ApiError, ApiForbidden, ApiNotFound
from podsleuth.kube import KubeClient
from podsleuth.watch.objects import CoreEvent

T = TypeVar("T")
MAX_PVCS = 8
"""PVCs read when the failing volume is not named: enough for any real pod, bounded for odd ones."""


class Api:
    """GETs bounded by a timeout; 404s are remembered (a fact), other errors become gaps."""

    def __init__(self, client: KubeClient, case: Case, *, timeout: float) -> None:
        self.client, self.case, self.timeout = client, case, timeout
        self.not_found: set[str] = set()
        self.forbidden: set[str] = set()

    async def get(
        self, path: str, kind: type[T], *, what: str, params: dict[str, str] | None = None
    ) -> T | None:
        try:
            async with asyncio.timeout(self.timeout):
                body = await self.client.get(path, params)
            return msgspec.json.decode(body, type=kind)
        except ApiNotFound:
            self.not_found.add(path)
        except ApiForbidden as e:
            self.forbidden.add(path)
            self.case.gap("api", f"not allowed to read {what}", {"error": str(e)})
        except (ApiError, TimeoutError, msgspec.ValidationError, msgspec.DecodeError) as e:
            self.case.gap("api", f"could not read {what}", {"error": str(e) or e.__class__.__name__})
        return None


async def collect(client: KubeClient, case: Case, *, call_timeout: float) -> o.PodFull | None:
    """Fill ``case`` with API facts; returns the pod as read (None when it is gone)."""
    api = Api(client, case, timeout=call_timeout)
    s = case.subject
    pod: o.PodFull | None = None
    if s.namespace and s.pod:
        pod = await _pod(api, case, s.namespace, s.pod)
        if pod is not None:
            await _events(api, case, pod)
            await _volumes(api, case, pod)
            await api_images.collect(api, case, pod)
        await _config_ref(api, case, s.namespace)
    node = case.facts.get("node")
    if isinstance(node, str) and node:
        await _node(api, case, node)
        await node_pods(api, case, node)
        if case.facts.get("csi_driver") and case.facts.get("category") == "volume-mount":
            await csinode(api, case, node)
    if pod is not None:  # needs the facts above (config missing? the node's architecture)
        await api_context.collect(api, case, pod)
    return pod


def _container(pod: o.PodFull, name: str | None) -> tuple[o.ContainerSpec | None, Any]:
    statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]
    specs = [*(pod.spec.init_containers or []), *pod.spec.containers]
    status = next((c for c in statuses if c.name == name), None) or next(
        (c for c in statuses if not c.ready), None
    )
    cname = name or (status.name if status else None)
    spec = next((c for c in specs if c.name == cname), specs[0] if specs else None)
    return spec, status


def probe_endpoint(p: o.ProbeSpec) -> str:
    if p.http_get is not None:
        h = p.http_get
        return f"{(h.scheme or 'HTTP').upper()} GET :{h.port}{h.path or '/'}"
    if p.tcp_socket is not None:
        return f"TCP :{p.tcp_socket.port}"
    if p.grpc is not None:
        return f"gRPC :{p.grpc.port}"
    if p.exec is not None:
        return "exec " + " ".join(p.exec.command or [])
    return "?"


async def _pod(api: Api, case: Case, ns: str, name: str) -> o.PodFull | None:
    pod = await api.get(f"/api/v1/namespaces/{ns}/pods/{name}", o.PodFull, what=f"pod {ns}/{name}")
    if pod is None:
        return None
    f: dict[str, Any] = {
        "pod_uid": pod.metadata.uid,
        "pod_phase": pod.status.phase,
        "pod_ip": pod.status.pod_ip,
        "qos_class": pod.status.qos_class,
    }
    if pod.spec.node_name:
        f["node"] = pod.spec.node_name
    spec, st = _container(pod, case.subject.container)
    words = [f"pod {ns}/{name} (uid {pod.metadata.uid}) phase {pod.status.phase}"]
    if pod.spec.node_name:
        words.append(f"on node {pod.spec.node_name}")
    if st is not None:
        f.update(container=st.name, restart_count=st.restart_count)
        if st.state and st.state.waiting:
            f.update(waiting_reason=st.state.waiting.reason, waiting_message=st.state.waiting.message)
            words.append(f"container {st.name} waiting {st.state.waiting.reason}")
        last = st.last_state.terminated if st.last_state else None
        if last is not None:
            f.update(
                last_reason=last.reason,
                last_exit_code=last.exit_code,
                last_finished_at=last.finished_at.isoformat() if last.finished_at else None,
            )
            words.append(f"last terminated {last.reason} exit code {last.exit_code}")
    if spec is not None:
        limits = (spec.resources.limits or {}) if spec.resources else {}
        requests = (spec.resources.requests or {}) if spec.resources else {}
        f.update(image=spec.image, memory_limit=limits.get("memory"), memory_request=requests.get("memory"))
        for kind in ("liveness", "readiness", "startup"):
            probe = getattr(spec, f"{kind}_probe")
            if probe is not None:
                f[f"{kind}_probe"] = probe_endpoint(probe)
    if pod.spec.image_pull_secrets:
        f["image_pull_secrets"] = [r.name for r in pod.spec.image_pull_secrets]
    if pod.status.reason:
        f["pod_status_reason"] = pod.status.reason
    case.add("api:pod", ", ".join(words), {k: v for k, v in f.items() if v is not None}, **f)
    return pod


async def _events(api: Api, case: Case, pod: o.PodFull) -> None:
    records = [(e.reason, e.message, e.type, e.count) for e in case.subject.events]
    if not records:
        lst = await api.get(
            f"/api/v1/namespaces/{pod.metadata.namespace}/events",
            o.CoreEventList,
            what="the pod's events",
            params={"fieldSelector": f"involvedObject.name={pod.metadata.name}"},
        )
        items = [e for e in (lst.items if lst else []) if e.involved_object.uid in ("", pod.metadata.uid)]
        items.sort(key=_event_time)
        records = [(e.reason, e.message, e.type, e.count or 1) for e in items]
    warnings = [r for r in records if r[2] == "Warning"][-5:]
    if warnings:
        case.add(
            "api:events",
            f"{len(warnings)} recent warning event(s) of the pod, latest "
            f"{warnings[-1][0]} x{warnings[-1][3]}",
            {"events": [{"reason": r, "message": m, "count": c} for r, m, _, c in warnings]},
            event_reasons=[r for r, *_ in warnings],
            event_message=warnings[-1][1],
            event_messages=[(r, m) for r, m, *_ in warnings],
        )


def _event_time(e: CoreEvent) -> str:
    t = e.last_timestamp or e.event_time or e.first_timestamp
    return t.isoformat() if t is not None else ""


async def _volumes(api: Api, case: Case, pod: o.PodFull) -> None:
    ns, target = pod.metadata.namespace, case.facts.get("volume")
    unbound: list[str] = []
    missing: list[str] = []
    bound: list[str] = []
    claims = [v for v in pod.spec.volumes or [] if v.persistent_volume_claim is not None][:MAX_PVCS]
    for v in pod.spec.volumes or []:
        if v.csi is not None and v.csi.driver and target in (None, v.name):
            case.add(
                "api:volume",
                f"volume {v.name} is an inline CSI volume of driver {v.csi.driver}",
                {"volume": v.name, "driver": v.csi.driver},
                pod_volume=v.name,
                csi_driver=v.csi.driver,
            )
    for v in claims:
        assert v.persistent_volume_claim is not None
        claim = v.persistent_volume_claim.claim_name
        path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}"
        pvc = await api.get(path, o.Pvc, what=f"PVC {ns}/{claim}")
        if pvc is None:
            if path in api.not_found:
                unbound.append(claim)
                missing.append(claim)
                case.add("api:pvc", f"PVC {ns}/{claim} (volume {v.name}) does not exist", {"pvc": claim})
            continue
        if pvc.status.phase != "Bound":
            unbound.append(claim)
            case.add(
                "api:pvc",
                f"PVC {ns}/{claim} is {pvc.status.phase or 'not bound'}",
                {"pvc": claim, "phase": pvc.status.phase, "storage_class": pvc.spec.storage_class_name},
            )
        if pvc.status.phase == "Bound":
            bound.append(claim)
        pv_name = pvc.spec.volume_name
        if not pv_name or (target is not None and target not in (pv_name, v.name) and len(claims) > 1):
            continue
        pv = await api.get(f"/api/v1/persistentvolumes/{pv_name}", o.Pv, what=f"PV {pv_name}")
        f: dict[str, Any] = {"pod_volume": v.name, "pvc": claim, "pv": pv_name}
        words = f"pod volume {v.name} -> PVC {claim} -> PV {pv_name}"
        if pv is not None and pv.spec.csi is not None:
            attrs = pv.spec.csi.volume_attributes or {}
            f.update(
                csi_driver=pv.spec.csi.driver,
                volume_handle=pv.spec.csi.volume_handle,
                pv_mounter=attrs.get("mounter"),
                pv_mount_options=pv.spec.mount_options or [],
                pv_attributes=attrs,
            )
            words += f" (CSI driver {pv.spec.csi.driver}, handle {pv.spec.csi.volume_handle}"
            words += f", mounter={attrs['mounter']})" if "mounter" in attrs else ")"
        if pv is not None and pv.spec.node_affinity is not None and (aff := pv.spec.node_affinity.words()):
            f["pv_node_affinity"] = aff
            words += f", node affinity {aff}"
        case.add("api:volume", words, {k: v for k, v in f.items() if v}, **f)
    if unbound:
        case.facts["unbound_pvcs"] = unbound
    if missing:
        case.facts["missing_pvcs"] = missing
    if bound:
        case.facts["bound_pvcs"] = bound


class _Config(o._Wire):
    data: dict[str, str] | None = None
    string_data: dict[str, str] | None = None
    binary_data: dict[str, str] | None = None


async def _config_ref(api: Api, case: Case, ns: str) -> None:
    """Does the referenced ConfigMap exist, with the key? Secrets are never read: podsleuth has
    no RBAC on them (least privilege) and the kubelet's message already names what is missing."""
    kind, name = case.facts.get("missing_kind"), case.facts.get("missing_name")
    if kind != "configmap" or not isinstance(name, str):
        return
    ns = str(case.facts.get("missing_namespace") or ns)
    path = f"/api/v1/namespaces/{ns}/configmaps/{name}"
    obj = await api.get(path, _Config, what=f"{kind} {ns}/{name}")
    if obj is None and path in api.not_found:
        case.add(
            "api:config",
            f"{kind} {ns}/{name} does not exist",
            {"kind": kind, "name": name, "namespace": ns},
            config_missing=True,
            missing_namespace=ns,
        )
    elif obj is not None:
        key = case.facts.get("missing_key")
        keys = sorted({*(obj.data or {}), *(obj.binary_data or {})})
        has = key in keys if isinstance(key, str) else True
        case.add(
            "api:config",
            f"{kind} {ns}/{name} exists" + ("" if has else f" but has no key {key!r}"),
            {"kind": kind, "name": name, "namespace": ns, "keys": keys},
            config_missing=False,
            config_key_missing=not has,
            missing_namespace=ns,
        )


async def _node(api: Api, case: Case, name: str) -> None:
    node = await api.get(f"/api/v1/nodes/{name}", o.NodeFull, what=f"node {name}")
    if node is None:
        if f"/api/v1/nodes/{name}" in api.not_found:
            case.add("api:node", f"node {name} no longer exists", {"node": name}, node_exists=False)
        return
    conds = {c.type: c for c in node.status.conditions or []}
    ready = conds["Ready"].status if "Ready" in conds else "Unknown"
    pressure = [
        t
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
        if t in conds and conds[t].status == "True"
    ]
    taints = [f"{t.key}{'=' + t.value if t.value else ''}:{t.effect}" for t in node.spec.taints or []]
    words = f"node {name}: Ready={ready}" + (f", {', '.join(pressure)}" if pressure else ", no pressure")
    data: dict[str, Any] = {"ready": ready, "pressure": pressure, "taints": taints}
    if "Ready" in conds and conds["Ready"].message:
        data["ready_message"] = conds["Ready"].message
    case.add(
        "api:node",
        words,
        data,
        node_exists=True,
        node_ready=ready,
        node_pressure=pressure,
        node_taints=taints,
        node_unschedulable=bool(node.spec.unschedulable),
        node_allocatable=node.status.allocatable or {},
        node_arch=(node.metadata.labels or {}).get("kubernetes.io/arch"),
    )
