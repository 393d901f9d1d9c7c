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
from podsleuth.diagnose.phrases import Phrase, phrase
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
        self, path: str, kind: type[T], *, what: Phrase, params: dict[str, str] | None = None
    ) -> T | None:
        try:
            async with asyncio.timeout(self.timeout):
                body = await self.client.get(path, params)
            return msgspec.json.decode(body, type=kind)
        except ApiNotFound:
            self.not_found.add(path)
        except ApiForbidden as e:
            self.forbidden.add(path)
            self.case.gap("api", phrase("api.forbidden", what=what), {"error": str(e)})
        except (ApiError, TimeoutError, msgspec.ValidationError, msgspec.DecodeError) as e:
            self.case.gap(
                "api", phrase("api.unreadable", what=what), {"error": str(e) or e.__class__.__name__}
            )
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
    pod = await api.get(
        f"/api/v1/namespaces/{ns}/pods/{name}", o.PodFull, what=phrase("object.pod", namespace=ns, name=name)
    )
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
    on_node: Phrase | str = phrase("pod.on-node", node=pod.spec.node_name) if pod.spec.node_name else ""
    waiting: Phrase | str = ""
    terminated: Phrase | str = ""
    if st is not None:
        f.update(container=st.name, restart_count=st.restart_count)
        if st.state and st.state.waiting:
            f.update(waiting_reason=st.state.waiting.reason, waiting_message=st.state.waiting.message)
            waiting = phrase("pod.waiting", container=st.name, reason=st.state.waiting.reason)
        last = st.last_state.terminated if st.last_state else None
        if last is not None:
            f.update(
                last_reason=last.reason,
                last_exit_code=last.exit_code,
                last_finished_at=last.finished_at.isoformat() if last.finished_at else None,
            )
            terminated = phrase("pod.last-terminated", reason=last.reason, code=last.exit_code)
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
    said = phrase(
        "pod.state",
        namespace=ns,
        name=name,
        uid=pod.metadata.uid,
        phase=pod.status.phase,
        node=on_node,
        waiting=waiting,
        last=terminated,
    )
    case.add("api:pod", said, {k: v for k, v in f.items() if v is not None}, **f)
    return pod


async def _events(api: Api, case: Case, pod: o.PodFull) -> None:
    records = [(e.reason, e.message, e.type, e.count) for e in case.subject.events]
    if not records:
        lst = await api.get(
            f"/api/v1/namespaces/{pod.metadata.namespace}/events",
            o.CoreEventList,
            what=phrase("object.pod-events"),
            params={"fieldSelector": f"involvedObject.name={pod.metadata.name}"},
        )
        items = [e for e in (lst.items if lst else []) if e.involved_object.uid in ("", pod.metadata.uid)]
        items.sort(key=_event_time)
        records = [(e.reason, e.message, e.type, e.count or 1) for e in items]
    warnings = [r for r in records if r[2] == "Warning"][-5:]
    if warnings:
        case.add(
            "api:events",
            phrase("events.warnings", count=len(warnings), reason=warnings[-1][0], times=warnings[-1][3]),
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
                phrase("volume.inline-csi", volume=v.name, driver=v.csi.driver),
                {"volume": v.name, "driver": v.csi.driver},
                pod_volume=v.name,
                csi_driver=v.csi.driver,
            )
    for v in claims:
        assert v.persistent_volume_claim is not None
        claim = v.persistent_volume_claim.claim_name
        path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}"
        pvc = await api.get(path, o.Pvc, what=phrase("object.pvc", namespace=ns, name=claim))
        if pvc is None:
            if path in api.not_found:
                unbound.append(claim)
                missing.append(claim)
                said = phrase("pvc.missing", namespace=ns, claim=claim, volume=v.name)
                case.add("api:pvc", said, {"pvc": claim})
            continue
        if pvc.status.phase != "Bound":
            unbound.append(claim)
            case.add(
                "api:pvc",
                phrase("pvc.phase", namespace=ns, claim=claim, phase=pvc.status.phase)
                if pvc.status.phase
                else phrase("pvc.not-bound", namespace=ns, claim=claim),
                {"pvc": claim, "phase": pvc.status.phase, "storage_class": pvc.spec.storage_class_name},
            )
        if pvc.status.phase == "Bound":
            bound.append(claim)
        pv_name = pvc.spec.volume_name
        if not pv_name or (target is not None and target not in (pv_name, v.name) and len(claims) > 1):
            continue
        pv = await api.get(
            f"/api/v1/persistentvolumes/{pv_name}", o.Pv, what=phrase("object.pv", name=pv_name)
        )
        f: dict[str, Any] = {"pod_volume": v.name, "pvc": claim, "pv": pv_name}
        csi: Phrase | str = ""
        affinity: Phrase | str = ""
        if pv is not None and pv.spec.csi is not None:
            attrs = pv.spec.csi.volume_attributes or {}
            f.update(
                csi_driver=pv.spec.csi.driver,
                volume_handle=pv.spec.csi.volume_handle,
                pv_mounter=attrs.get("mounter"),
                pv_mount_options=pv.spec.mount_options or [],
                pv_attributes=attrs,
            )
            c = pv.spec.csi
            csi = (
                phrase(
                    "volume.csi-mounter", driver=c.driver, handle=c.volume_handle, mounter=attrs["mounter"]
                )
                if "mounter" in attrs
                else phrase("volume.csi", driver=c.driver, handle=c.volume_handle)
            )
        if pv is not None and pv.spec.node_affinity is not None and (aff := pv.spec.node_affinity.words()):
            f["pv_node_affinity"] = aff
            affinity = phrase("volume.node-affinity", affinity=aff)
        said = phrase("volume.chain", volume=v.name, claim=claim, pv=pv_name, csi=csi, affinity=affinity)
        case.add("api:volume", said, {k: v for k, v in f.items() if v}, **f)
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
    obj = await api.get(path, _Config, what=phrase("object.config", kind=kind, namespace=ns, name=name))
    if obj is None and path in api.not_found:
        case.add(
            "api:config",
            phrase("config.missing", kind=kind, namespace=ns, name=name),
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
            phrase("config.exists", kind=kind, namespace=ns, name=name)
            if has
            else phrase("config.key-missing", kind=kind, namespace=ns, name=name, key=key),
            {"kind": kind, "name": name, "namespace": ns, "keys": keys},
            config_missing=False,
            config_key_missing=not has,
            missing_namespace=ns,
        )


async def _node(api: Api, case: Case, name: str) -> None:
    node = await api.get(f"/api/v1/nodes/{name}", o.NodeFull, what=phrase("object.node", name=name))
    if node is None:
        if f"/api/v1/nodes/{name}" in api.not_found:
            case.add("api:node", phrase("node.gone", node=name), {"node": name}, node_exists=False)
        return
    conds = {c.type: c for c in node.status.conditions or []}
    ready = conds["Ready"].status if "Ready" in conds else "Unknown"
    pressure = [
        t
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
        if t in conds and conds[t].status == "True"
    ]
    taints = [f"{t.key}{'=' + t.value if t.value else ''}:{t.effect}" for t in node.spec.taints or []]
    data: dict[str, Any] = {"ready": ready, "pressure": pressure, "taints": taints}
    if "Ready" in conds and conds["Ready"].message:
        data["ready_message"] = conds["Ready"].message
    case.add(
        "api:node",
        phrase("node.state", node=name, ready=ready, pressure=pressure or phrase("node.no-pressure")),
        data,
        node_exists=True,
        node_ready=ready,
        node_pressure=pressure,
        node_taints=taints,
        node_unschedulable=bool(node.spec.unschedulable),
        node_allocatable=node.status.allocatable or {},
        node_arch=(node.metadata.labels or {}).get("kubernetes.io/arch"),
    )
