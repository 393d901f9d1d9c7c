"""The pods on the incident's node: the CSI node plugin serving the volume, and the neighbours
that fail the same way.

A FUSE-based CSI driver (ceph-fuse, s3fs, ...) runs its filesystem daemons inside the node
plugin pod; when that pod's container restarted (OOMKilled, upgrade) every pod volume it served
is left on a dead connection. The plugin's restart count and last termination are therefore the
API's strongest hint, and the neighbours with the same failure are what one remediation fixes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podsleuth.detect.owner import resolve_owner
from podsleuth.diagnose import api_objects as o
from podsleuth.diagnose.evidence import Case
from podsleuth.diagnose.extractors.node import kubelet_paths
from podsleuth.diagnose.phrases import Phrase, phrase

if TYPE_CHECKING:
    from podsleuth.diagnose.api_link import Api

SAME_FAILURE_CATEGORIES = frozenset({"container-start", "volume-mount", "container-config"})


def driver_tokens(driver: str) -> list[str]:
    """``cephfs.csi.ceph.com`` -> ``["cephfs"]``, ``csi.juicefs.com`` -> ``["juicefs"]``: what plugin
    pods and images are named after (the first label that is not a generic word)."""
    first = next((p.lower() for p in driver.split(".") if p.lower() not in _GENERIC), "")
    return [t for t in {first, first.replace("-", "")} if t]


_GENERIC = frozenset({"csi", "k8s", "io", "com", "org", "net", "driver", "storage"})


def is_plugin_pod(pod: o.PodFull, driver: str) -> bool:
    tokens = driver_tokens(driver)
    names = [
        pod.metadata.name.lower(),
        *(c.name.lower() for c in pod.spec.containers),
        *(c.image.lower() for c in pod.spec.containers),
    ]
    labels = " ".join(f"{k}={v}" for k, v in (pod.metadata.labels or {}).items()).lower()
    named = any(t in n for t in tokens for n in names) or any(t in labels for t in tokens)
    return named and any("csi" in n or "plugin" in n for n in [*names, labels])


def _waiting(pod: o.PodFull) -> tuple[str | None, str]:
    for cs in [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]:
        if cs.state and cs.state.waiting and cs.state.waiting.reason:
            return cs.state.waiting.reason, cs.state.waiting.message or ""
    return None, ""


async def node_pods(api: Api, case: Case, node: str) -> None:
    lst = await api.get(
        "/api/v1/pods",
        o.PodList,
        what=phrase("object.node-pods", node=node),
        params={"fieldSelector": f"spec.nodeName={node}"},
    )
    if lst is None:
        return
    case.names.update({p.metadata.uid: f"{p.metadata.namespace}/{p.metadata.name}" for p in lst.items})
    driver = case.facts.get("csi_driver")
    if isinstance(driver, str) and driver:
        _plugin(case, lst.items, driver, node)
    _peers(case, lst.items)


def _plugin(case: Case, pods: list[o.PodFull], driver: str, node: str) -> None:
    plugins = [p for p in pods if is_plugin_pod(p, driver)]
    if not plugins:
        case.add(
            "api:csi-plugin",
            phrase("plugin.none", driver=driver, node=node),
            {"driver": driver},
            plugin_found=False,
        )
        return

    # several (e.g. cephfs + rbd daemonsets): the one that restarted most says most
    def restarts(p: o.PodFull) -> int:
        return sum(c.restart_count for c in p.status.container_statuses or [])

    p = max(plugins, key=restarts)
    worst = max(p.status.container_statuses or [], key=lambda c: c.restart_count, default=None)
    f: dict[str, Any] = {
        "plugin_found": True,
        "plugin_pod": f"{p.metadata.namespace}/{p.metadata.name}",
        "plugin_namespace": p.metadata.namespace,
        "plugin_name": p.metadata.name,
        "plugin_pod_uid": p.metadata.uid,
        "plugin_restarts": restarts(p),
        "plugin_ready": all(c.ready for c in p.status.container_statuses or []),
    }
    last_words: Phrase | str = ""
    if worst is not None:
        f["plugin_container"] = worst.name
        spec = next((c for c in p.spec.containers if c.name == worst.name), None)
        if spec is not None and spec.resources is not None:
            f["plugin_memory_limit"] = (spec.resources.limits or {}).get("memory")
        last = worst.last_state.terminated if worst.last_state else None
        if last is not None:
            f.update(
                plugin_last_reason=last.reason,
                plugin_last_exit_code=last.exit_code,
                plugin_last_finished=last.finished_at.isoformat() if last.finished_at else None,
            )
            last_words = (
                phrase(
                    "plugin.last-terminated-at",
                    container=worst.name,
                    reason=last.reason,
                    code=last.exit_code,
                    finished=last.finished_at.isoformat(),
                )
                if last.finished_at
                else phrase(
                    "plugin.last-terminated", container=worst.name, reason=last.reason, code=last.exit_code
                )
            )
    said = phrase("plugin.state", plugin=f["plugin_pod"], node=node, restarts=restarts(p), last=last_words)
    case.add("api:csi-plugin", said, {k: v for k, v in f.items() if v is not None}, **f)


def _peers(case: Case, pods: list[o.PodFull]) -> None:
    """Pods on this node stuck with the same reason on the same kind of volume path."""
    s = case.subject
    if s.category not in SAME_FAILURE_CATEGORIES:
        return
    reason = case.facts.get("waiting_reason") or s.reason
    plugin = case.facts.get("volume_plugin")
    driver = case.facts.get("csi_driver")
    for p in pods:
        why, message = _waiting(p)
        mine = p.metadata.namespace == s.namespace and p.metadata.name == s.pod
        if not mine and (why != reason or (isinstance(plugin, str) and plugin not in message)):
            continue
        paths = kubelet_paths(message, message.lower())
        owner = resolve_owner(p.metadata)
        volume = paths.get("volume") or (case.facts.get("volume") if mine else None)
        case.affect(
            p.metadata.namespace,
            p.metadata.name,
            uid=p.metadata.uid,
            volume=volume,
            workload=f"{owner.kind}/{owner.name}",
            reason=why,
            driver=driver,
        )
    others = [k for k in case.affected if k != f"{s.namespace}/{s.pod}"]
    if others:
        case.add(
            "api:node-pods",
            phrase("peers.failing", count=len(others), node=s.node or case.facts.get("node"), reason=reason),
            {"pods": others},
            peers_failing=len(others),
        )


async def csinode(api: Api, case: Case, node: str) -> None:
    """Is the volume's CSI driver registered on the node (kubelet's view, via CSINode)?"""
    driver = case.facts["csi_driver"]
    cn = await api.get(
        f"/apis/storage.k8s.io/v1/csinodes/{node}", o.CsiNode, what=phrase("object.csinode", name=node)
    )
    if cn is None and f"/apis/storage.k8s.io/v1/csinodes/{node}" not in api.not_found:
        return
    names = [d.name for d in (cn.spec.drivers or [])] if cn else []
    registered = driver in names
    case.add(
        "api:csinode",
        phrase("csinode.registered", driver=driver, node=node)
        if registered
        else phrase("csinode.not-registered", driver=driver, node=node),
        {"registered_drivers": names},
        csi_driver_registered=registered,
    )
