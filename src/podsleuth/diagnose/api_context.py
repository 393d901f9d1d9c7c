"""Context around a failure that the failing object itself does not hold (issue 17's misses).

A good SRE does not stop at the message; they look one object further:

- a crash loop: the previous container's log (``kubectl logs --previous``) -- a line saying it
  cannot connect to / resolve a dependency names what is really down;
- an image with no variant for the node's platform: the node's ``kubernetes.io/arch`` and the
  other pods that pulled the same repository on nodes of another architecture (the image exists,
  just not for this platform);
- a volume node affinity conflict: the PV's ``nodeAffinity`` (the zone it was provisioned in)
  against the zones the nodes are in;
- a volume-limit conflict: the CSI driver and the volume count CSINode allows per node;
- a missing ConfigMap/Secret while other pods using it run: they resolved it when they started.

Every read is one bounded GET (the ``Api`` helper of ``api_link``); all text is hostile data,
kept short.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

import msgspec

from podsleuth.diagnose import api_objects as o
from podsleuth.diagnose.api_images import split_image
from podsleuth.diagnose.evidence import Case
from podsleuth.diagnose.extractors.workload import references
from podsleuth.diagnose.phrases import Phrase, phrase
from podsleuth.errors import ApiError, ApiForbidden
from podsleuth.watch.objects import ObjectMeta

if TYPE_CHECKING:
    from podsleuth.diagnose.api_link import Api

LOG_LINES = 200
LINE_MAX = 240
MAX_PEER_NODES = 3
ARCH_LABEL = "kubernetes.io/arch"
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
_PLATFORM_RES = (
    re.compile(r"no matching manifest for (\S+?) in the manifest list", re.IGNORECASE),  # Docker
    re.compile(r"does not match the specified platform: wanted (\S+?)[,\s]", re.IGNORECASE),
    re.compile(r"no match for platform in manifest", re.IGNORECASE),  # containerd
)
_TARGET = r"(\[[0-9a-fA-F:.]+\]:\d+|[\w.-]+:\d+)"
_DEPENDENCY_RES: tuple[tuple[str, re.Pattern[str], int, int], ...] = (
    # (kind, pattern, group of the target, group of the error)
    ("resolve", re.compile(r"lookup ([\w.-]+)(?: on \S+)?: (i/o timeout|no such host|server misbehaving)",
                           re.I), 1, 2),
    ("connect", re.compile(rf"dial tcp {_TARGET}: (?:connect: )?(connection refused|i/o timeout|no route to "
                           r"host|connection timed out|network is unreachable)", re.I), 1, 2),
    ("connect", re.compile(rf"connect (ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH) {_TARGET}"), 2, 1),  # Node.js
    ("resolve", re.compile(r"getaddrinfo (ENOTFOUND|EAI_AGAIN) ([\w.-]+)"), 2, 1),
)  # fmt: skip
_GENERIC_DEP = re.compile(r"connection refused|i/o timeout|no such host|name or service not known", re.I)
RECENT_LINES = 50
"""A dependency error counts only among the log's last lines: the crash's reason is near its end."""


async def collect(api: Api, case: Case, pod: o.PodFull) -> None:
    f = case.facts
    category, signature = f.get("category"), f.get("signature")
    if category in ("crash-loop", "init-failure"):
        await _previous_log(api, case, pod)
    if category == "image-pull":
        await _platform(api, case, pod)
    if signature == "scheduling-volume-node-affinity-conflict" and f.get("pv_node_affinity"):
        await _node_zones(api, case)
    if signature == "scheduling-volume-limits" and isinstance(f.get("csi_driver"), str):
        await _csi_limits(api, case, str(f["csi_driver"]))
    kind = f.get("missing_kind")
    if isinstance(f.get("missing_name"), str) and (
        (kind == "configmap" and f.get("config_missing") is True) or kind == "secret"
    ):  # a Secret is never read: kubelet's word that it is missing is all there is
        await _config_users(api, case, pod, str(f.get("missing_kind") or ""), str(f["missing_name"]))


def dependency(text: str) -> dict[str, Any] | None:
    """The last recent log line saying a dependency cannot be reached: target, error, kind, line."""
    found: dict[str, Any] | None = None
    count = 0
    for raw in text.splitlines()[-RECENT_LINES:]:
        line = " ".join(raw.split())[:1000]
        hit = None
        for kind, rx, target, error in _DEPENDENCY_RES:
            if m := rx.search(line):
                hit = {
                    "dependency_kind": kind,
                    "dependency_target": m.group(target),
                    "dependency_error": m.group(error).lower(),
                }
                break
        if hit is None and (g := _GENERIC_DEP.search(line)):
            hit = {"dependency_kind": "connect", "dependency_error": g.group(0).lower()}
        if hit is not None:
            count += 1
            found = {**hit, "dependency_line": line[:LINE_MAX]}
    if found is None:
        return None
    found["dependency_words"] = dependency_phrase(found).render()
    found["dependency_lines"] = count
    return found


def dependency_phrase(found: dict[str, Any]) -> Phrase:
    """``dependency_words`` as a phrase (every language): what the log says cannot be reached."""
    target = found.get("dependency_target") or phrase("dependency.unnamed")
    error = found.get("dependency_error")
    if found.get("dependency_kind") == "resolve":
        return phrase("dependency.resolve", target=target, error=error)
    return phrase("dependency.connect", target=target, error=error)


async def _previous_log(api: Api, case: Case, pod: o.PodFull) -> None:
    container = case.facts.get("container") or case.subject.container
    params = {"previous": "true", "tailLines": str(LOG_LINES)}
    if isinstance(container, str) and container:
        params["container"] = container
    ns, name = pod.metadata.namespace, pod.metadata.name
    try:
        async with asyncio.timeout(api.timeout):
            body = await api.client.get(f"/api/v1/namespaces/{ns}/pods/{name}/log", params)
    except ApiForbidden as e:
        what = phrase("object.pod-log", namespace=ns, name=name)
        case.gap("api", phrase("api.forbidden", what=what), {"error": str(e)[:200]})
        return
    except (ApiError, TimeoutError) as e:  # no previous container (yet): nothing to read
        error = str(e)[:200] or type(e).__name__
        case.add("api:logs", phrase("log.none", namespace=ns, name=name, error=error), {})
        return
    dep = dependency(body[-256_000:].decode("utf-8", "replace"))
    if dep is None:
        case.add(
            "api:logs",
            phrase("log.no-dependency", container=container or None),
            {"lines": min(LOG_LINES, body.count(b"\n"))},
        )
        return
    case.add(
        "api:logs",
        phrase(
            "log.dependency",
            container=container or None,
            words=dependency_phrase(dep),
            lines=dep["dependency_lines"],
            line=dep["dependency_line"],
        ),
        dict(dep),
        **dep,
    )


def image_platform(texts: list[str]) -> str | None:
    """The platform a pull found no manifest for (``linux/arm64/v8``), ``""`` when unnamed."""
    for text in texts:
        for rx in _PLATFORM_RES:
            m = rx.search(text)
            if m:
                return m.group(1).rstrip(".,:;\"'") if rx.groups else ""
    return None


async def _platform(api: Api, case: Case, pod: o.PodFull) -> None:
    f = case.facts
    texts = [str(m) for _, m in f.get("event_messages") or []] + [case.subject.message]
    platform = image_platform(texts)
    if platform is None:
        return
    f.update(image_platform_error=True, image_platform=platform or "this node's platform")
    ref = f.get("image")
    if not isinstance(ref, str) or not ref:
        return
    registry, repository, _tag = split_image(ref)
    ns = pod.metadata.namespace
    lst = await api.get(
        f"/api/v1/namespaces/{ns}/pods",
        _PeerList,
        what=phrase("object.namespace-pods", namespace=ns),
        params={"limit": "500"},
    )
    peers: list[tuple[str, str]] = []
    for p in lst.items if lst else []:
        if p.metadata.uid == pod.metadata.uid:
            continue
        specs = {c.name: c.image for c in p.spec.containers}
        for st in p.status.container_statuses or []:
            if st.image_id and split_image(specs.get(st.name, st.image))[:2] == (registry, repository):
                peers.append((f"{ns}/{p.metadata.name}", p.spec.node_name or "?"))
                break
    words: list[str] = []
    said: list[Phrase] = []
    for peer, node_name in peers[:MAX_PEER_NODES]:
        node = await api.get(
            f"/api/v1/nodes/{node_name}", o.NodeFull, what=phrase("object.node", name=node_name)
        )
        label = (node.metadata.labels or {}).get(ARCH_LABEL) if node else None
        said.append(
            phrase(
                "image.platform-peer", pod=peer, node=node_name, arch=label or phrase("image.arch-unknown")
            )
        )
        words.append(said[-1].render())
    if words:
        f["image_platform_peers"] = words
    shown = platform or phrase("image.platform-this-node")
    image, here, arch = f"{registry}/{repository}", f.get("node") or None, f.get("node_arch")
    pulled_by = phrase("image.platform-pulled-by", peers=said) if said else ""
    case.add(
        "api:image-platform",
        phrase("image.platform", platform=shown, image=image, node=here, arch=arch, peers=pulled_by)
        if arch
        else phrase("image.platform-unlabelled", platform=shown, image=image, node=here, peers=pulled_by),
        {"platform": platform, "peers": words},
    )


class _PeerStatus(o._Wire):
    name: str = ""
    image: str = ""
    image_id: str = msgspec.field(default="", name="imageID")


class _PeerSpec(o._Wire):
    node_name: str | None = None
    containers: list[o.ContainerSpec] = msgspec.field(default_factory=list)


class _PeerPodStatus(o._Wire):
    container_statuses: list[_PeerStatus] | None = None


class _PeerPod(o._Wire):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: _PeerSpec = msgspec.field(default_factory=_PeerSpec)
    status: _PeerPodStatus = msgspec.field(default_factory=_PeerPodStatus)


class _PeerList(o._Wire):
    items: list[_PeerPod] = msgspec.field(default_factory=list)


async def _node_zones(api: Api, case: Case) -> None:
    lst = await api.get("/api/v1/nodes", _NodeList, what=phrase("object.nodes"), params={"limit": "500"})
    if lst is None:
        return
    zones = sorted({z for n in lst.items for k in ZONE_LABELS if (z := (n.metadata.labels or {}).get(k))})
    if zones:
        case.add(
            "api:nodes",
            phrase("nodes.zones", count=len(lst.items), zones=zones),
            {"zones": zones},
            node_zones=zones,
        )


class _NodeList(o._Wire):
    items: list[o.NodeFull] = msgspec.field(default_factory=list)


async def _csi_limits(api: Api, case: Case, driver: str) -> None:
    lst = await api.get(
        "/apis/storage.k8s.io/v1/csinodes",
        _CsiNodeList,
        what=phrase("object.csinodes"),
        params={"limit": "500"},
    )
    counts = sorted(
        {
            d.allocatable.count
            for n in (lst.items if lst else [])
            for d in n.spec.drivers or []
            if d.name == driver and d.allocatable is not None and d.allocatable.count is not None
        }
    )
    if not counts:
        return
    text = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    case.add(
        "api:csinode",
        phrase("csinode.limit", count=text, driver=driver),
        {"driver": driver, "allocatable": counts},
        csi_allocatable=text,
    )


class _CsiNodeList(o._Wire):
    items: list[o.CsiNode] = msgspec.field(default_factory=list)


async def _config_users(api: Api, case: Case, pod: o.PodFull, kind: str, name: str) -> None:
    ns = str(case.facts.get("missing_namespace") or pod.metadata.namespace)
    lst = await api.get(
        f"/api/v1/namespaces/{ns}/pods",
        dict[str, Any],
        what=phrase("object.namespace-pods", namespace=ns),
        params={"limit": "500"},
    )
    running: list[str] = []
    for p in (lst or {}).get("items") or []:
        meta, status = p.get("metadata") or {}, p.get("status") or {}
        if meta.get("uid") == pod.metadata.uid or status.get("phase") != "Running":
            continue
        if references(p.get("spec"), kind, name):
            running.append(f"{ns}/{meta.get('name')}")
    if running:
        case.add(
            "api:config-users",
            phrase("config.users", count=len(running), kind=kind, name=name, pods=running[:5]),
            {"pods": running[:20]},
            config_users_running=running[:5],
        )
