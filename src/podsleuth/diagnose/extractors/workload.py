"""Facts from Kubernetes-side wording: images and registries, ConfigMaps and Secrets, the
scheduler's per-filter counts, volumes, exit codes, evictions and probes.
"""

from __future__ import annotations

import re
from typing import Any, Final

from podsleuth.diagnose.extractors.base import Facts

_IMAGE_RES: Final = (
    re.compile(r'(?:unpack image|resolve reference) \\*"(?P<image>[^"\\\s]{1,512})'),
    re.compile(
        r'(?i:pull(?:ing)? image|default image tag|parse image reference) \\*"(?P<image>[^"\\\s]{1,512})'
    ),
    re.compile(r"pull access denied for (?P<image>[^,\s]{1,512})"),
    re.compile(r'\bimage=\\*"(?P<image>[^"\\\s]{1,512})'),
)
_HOST_RES: Final = (
    re.compile(r"pulling from host (?P<host>[^\s/]{1,256})"),
    re.compile(r"https?://\[?(?P<host>[^\s/\]\"]{1,256})\]?/v2/"),
)
_HTTP_STATUS_RE: Final = re.compile(
    r"\b(?P<code>40[0-9]|429|50[0-9])\b(?= (?:Unauthorized|Forbidden|Not Found|Too Many Requests)| ?\"| ?$)"
)


def registry_of(image: str) -> str | None:
    """Docker's rule: the first path component is a registry when it looks like a host."""
    if not image or image.startswith("/"):
        return None
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def image(text: str, lowered: str) -> Facts:
    facts: Facts = {}
    for rx in _IMAGE_RES:
        m = rx.search(text)
        if m:
            facts["image"] = m.group("image")
            break
    ref = facts.get("image")
    registry = registry_of(ref) if isinstance(ref, str) else None
    if registry is None:
        for rx in _HOST_RES:
            m = rx.search(text)
            if m:
                registry = m.group("host")
                break
    if registry is not None:
        facts["registry"] = registry
    m = _HTTP_STATUS_RE.search(text)
    if m:
        facts["http_status"] = int(m.group("code"))
    return facts


_CONFIG_RES: Final = (
    re.compile(
        r"(?i:couldn't find key) (?P<key>\S{1,253}) in (?P<kind>ConfigMap|Secret) "
        r"(?P<ns>[^/\s]{1,253})/(?P<name>\S{1,253})"
    ),
    re.compile(r'(?P<kind>configmap|secret) \\*"(?P<name>[^"\\]{1,253})\\*" not found', re.IGNORECASE),
)


def config_ref(text: str, lowered: str) -> Facts:
    """The missing ConfigMap/Secret (and key) behind a FailedMount or CreateContainerConfigError."""
    for rx in _CONFIG_RES:
        m = rx.search(text)
        if m:
            g = m.groupdict()
            facts: Facts = {"missing_kind": g["kind"].lower(), "missing_name": g["name"]}
            if g.get("key"):
                facts["missing_key"] = g["key"]
                facts["missing_namespace"] = g["ns"]
            return facts
    return {}


_NODES_RE: Final = re.compile(r"(?P<avail>\d{1,6})/(?P<total>\d{1,6}) nodes are available: ")
_SCHED_ITEM_RE: Final = re.compile(r"(?P<count>\d+) (?P<reason>.+)", re.DOTALL)
_SCHED_SPLIT_RE: Final = re.compile(r", (?=\d+ )")


def scheduler(text: str, lowered: str) -> Facts:
    """``0/6 nodes are available: 1 Insufficient cpu, 5 node(s) had taint {...}, that...``:
    split on ``, <digit>`` (taint items contain commas) and end at the first sentence break."""
    m = _NODES_RE.search(text)
    if m is None:
        return {}
    facts: Facts = {"nodes_available": int(m.group("avail")), "nodes_total": int(m.group("total"))}
    body = text[m.end() :]
    ends = [
        i for i in (body.find(". "), body.find(" preemption:"), body.find("; "), body.find("\n")) if i >= 0
    ]
    body = body[: min(ends)] if ends else body
    body = body.rstrip(". ")
    reasons: dict[str, int] = {}
    for item in _SCHED_SPLIT_RE.split(body):
        im = _SCHED_ITEM_RE.fullmatch(item.strip())
        if im:
            reasons[im.group("reason").strip()] = reasons.get(im.group("reason").strip(), 0) + int(
                im.group("count")
            )
        elif item.strip():
            reasons[item.strip()] = int(m.group("total"))
    facts["scheduler_reasons"] = reasons
    return facts


_VOLUME_RE: Final = re.compile(
    r"for volume [\"\u201c\u201d](?P<volume>[^\"\u201c\u201d\s]{1,253})[\"\u201c\u201d]"
)
_EXIT_RE: Final = re.compile(r"(?i:exit ?code):\s*(?P<code>\d{1,3})\b")


def kubelet_volume(text: str, lowered: str) -> Facts:
    """The pod-level volume name in kubelet's ``... failed for volume "X"`` wording."""
    m = _VOLUME_RE.search(text)
    return {"volume": m.group("volume")} if m else {}


def exit_code(text: str, lowered: str) -> Facts:
    m = _EXIT_RE.search(text)
    return {"exit_code": int(m.group("code"))} if m else {}


_EVICT_RES: Final = (
    re.compile(r"low on resource: (?P<resource>[\w.-]{1,64})"),
    re.compile(r"Container (?P<container>[^\s,]{1,253}) was using (?P<usage>[^\s,]{1,64}),"),
    re.compile(r"(?:exceeds its request of|request is) (?P<request>[^\s,]{1,64}?)[.,]"),
)


_QUANTITY_RE: Final = re.compile(r"(?P<num>\d{1,18}(?:\.\d{1,9})?)(?P<unit>[KMGTPE]i?|[kmun])?")
_UNITS: Final = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
                 "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
                 "m": 1e-3, "u": 1e-6, "n": 1e-9}


def quantity(text: str) -> float | None:
    """A Kubernetes quantity (``7499Mi``, ``776Ki``, ``250m``) as a number; None if it is not one."""
    m = _QUANTITY_RE.fullmatch(text)
    return float(m.group("num")) * _UNITS[m.group("unit") or ""] if m else None


def eviction(text: str, lowered: str) -> Facts:
    """The resource and the container that used most of it: kubelet lists every container over
    its request in message order, not by usage."""
    facts: Facts = {}
    for rx in (_EVICT_RES[0], _EVICT_RES[2]):
        m = rx.search(text)
        if m:
            facts.update({f"evicted_{k}" if k != "resource" else "eviction_resource": v.rstrip(".")
                          for k, v in m.groupdict().items()})
    users = [(m.group("container"), m.group("usage")) for m in _EVICT_RES[1].finditer(text)][:32]
    if users:
        top = max(users, key=lambda u: quantity(u[1]) or 0.0)
        facts.update(evicted_container=top[0], evicted_usage=top[1],
                     evicted_containers=[f"{c} ({u})" for c, u in users])
    return facts


_PROBE_URL_RE: Final = re.compile(r'Get \\*"(?P<url>[^"\\\s]{1,2048})\\*"')
_PROBE_STATUS_RE: Final = re.compile(r"statuscode: (?P<code>\d{3})")


def probe(text: str, lowered: str) -> Facts:
    facts: Facts = {}
    m = _PROBE_URL_RE.search(text)
    if m:
        facts["probe_url"] = m.group("url")
    sm = _PROBE_STATUS_RE.search(text)
    if sm:
        facts["probe_status_code"] = int(sm.group("code"))
    return facts


_REF_KEYS = {
    "configmap": ("configMapKeyRef", "configMapRef", "configMap"),
    "secret": ("secretKeyRef", "secretRef", "secret"),
}


def references(spec: Any, kind: str, name: str) -> bool:
    """Does a pod spec (raw JSON) use ``kind`` ``name`` (env, envFrom, volumes, projected)?"""
    keys = _REF_KEYS.get(kind, ())
    stack, seen = [spec], 0
    while stack and seen < 5000:
        node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            for k, v in node.items():
                if k in keys and isinstance(v, dict) and name in (v.get("name"), v.get("secretName")):
                    return True
                stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
    return False
