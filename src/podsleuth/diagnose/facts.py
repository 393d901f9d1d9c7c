"""Structured facts pulled out of failure messages, by extractors that signatures name.

The diagnoser needs the pieces of a message, not its prose: which kubelet root (often not
``/var/lib/kubelet``), pod UID, volume plugin and volume a path belongs to, which errno the
kernel returned, which runtime generation wrote the text (the wording differs, the cause does
not), which image and registry, which scheduler predicates failed on how many nodes.

Every extractor takes ``(text, lowered)`` and returns only the facts it found. Each one is
gated by a cheap substring test and uses linear regexes (no nested or overlapping
quantifiers) or plain string scanning, so hostile input costs linear time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from podsleuth.diagnose.literals import trie_pattern

Facts = dict[str, object]
Extractor = Callable[[str, str], Facts]

# A path token: stops at whitespace, quotes (ASCII, typographic, backtick), brackets and the
# separators that runtimes put around paths. One character class, so one linear scan.
_PATH_RE: Final = re.compile(r"/[^\s\"'`\\,\[\]():;<>{}\u2018\u2019\u201c\u201d]*")
_UUID_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _kubelet_path(path: str, facts: Facts) -> None:
    """Decode one path against the kubelet directory layout (see docs/signatures.md)."""
    i = path.find("/pods/")
    if i > 0:
        root, rest = path[:i], path[i + len("/pods/") :].split("/")
        if not rest[0]:
            return
        facts.setdefault("kubelet_root", root)
        facts.setdefault("pod_uid", rest[0])
        if len(rest) >= 3 and rest[1] == "volumes" and "~" in rest[2]:
            facts.setdefault("volume_plugin", rest[2])
            if len(rest) >= 4 and rest[3]:
                facts.setdefault("volume", rest[3])
                facts.setdefault("volume_path", "/".join([root, "pods", *rest[:4]]))
        elif len(rest) >= 3 and rest[1] == "volume-subpaths":
            facts.setdefault("volume", rest[2])
            if len(rest) >= 4:
                facts.setdefault("subpath_container", rest[3])
        return
    j = path.find("/plugins/kubernetes.io/csi/")
    if j > 0:
        facts.setdefault("kubelet_root", path[:j])
        rest = path[j + len("/plugins/kubernetes.io/csi/") :].split("/")
        if rest[0] == "pv" and len(rest) >= 2:
            facts.setdefault("volume", rest[1])
        elif rest[0] == "volumeDevices" and len(rest) >= 3:
            facts.setdefault("volume", rest[2])
        elif len(rest) >= 2 and rest[0]:
            facts.setdefault("csi_driver", rest[0])
        if "globalmount" in rest:
            facts.setdefault("staging_path", path[: path.find("/globalmount") + len("/globalmount")])


def kubelet_paths(text: str, lowered: str) -> Facts:
    facts: Facts = {}
    if "/pods/" not in text and "/plugins/kubernetes.io/csi/" not in text:
        return facts
    for m in _PATH_RE.finditer(text):
        _kubelet_path(m.group(0), facts)
    uid = facts.get("pod_uid")
    if isinstance(uid, str) and not _UUID_RE.fullmatch(uid) and not uid.startswith("<"):
        facts.pop("pod_uid")  # "/pods/" in some unrelated path: do not invent a UID
    return facts


_ERRNOS: Final[dict[str, str]] = {
    "no such file or directory": "ENOENT",
    "not a directory": "ENOTDIR",
    "is a directory": "EISDIR",
    "operation not permitted": "EPERM",
    "permission denied": "EACCES",
    "no such device or address": "ENXIO",
    "no such device": "ENODEV",
    "invalid argument": "EINVAL",
    "transport endpoint is not connected": "ENOTCONN",
    "socket not connected": "ENOTCONN",
    "stale nfs file handle": "ESTALE",
    "stale file handle": "ESTALE",
    "file exists": "EEXIST",
    "too many levels of symbolic links": "ELOOP",
    "input/output error": "EIO",
    "device or resource busy": "EBUSY",
    "read-only file system": "EROFS",
    "no space left on device": "ENOSPC",
    "disk quota exceeded": "EDQUOT",
    "cannot allocate memory": "ENOMEM",
    "too many open files": "EMFILE",
    "connection refused": "ECONNREFUSED",
    "connection reset by peer": "ECONNRESET",
    "connection timed out": "ETIMEDOUT",
    "no route to host": "EHOSTUNREACH",
    "network is unreachable": "ENETUNREACH",
    "operation not supported": "EOPNOTSUPP",
    "function not implemented": "ENOSYS",
    "exec format error": "ENOEXEC",
    "text file busy": "ETXTBSY",
    "bad file descriptor": "EBADF",
    "resource temporarily unavailable": "EAGAIN",
    "broken pipe": "EPIPE",
}
_ERRNO_RE: Final = re.compile(trie_pattern(_ERRNOS))


def errno(text: str, lowered: str) -> Facts:
    """The last errno text wins: runtimes wrap errors outside-in, the cause is at the end."""
    last = None
    for last in _ERRNO_RE.finditer(lowered):
        pass
    if last is None:
        return {}
    return {"errno": _ERRNOS[last.group(0)], "errno_text": last.group(0)}


_CONTAINERD_GEN: Final = (
    ("failed to create containerd task: failed to create shim task:", "containerd", "containerd-1.6+"),
    ("failed to create containerd task: failed to create shim:", "containerd", "containerd-1.5"),
    ("failed to create containerd task: oci runtime create failed", "containerd", "containerd-1.4"),
    ("failed to create shim task:", "containerd", "containerd-1.6+"),
    ("failed to create containerd task", "containerd", None),
    ("failed to generate container", "containerd", None),
    ("error response from daemon", "docker", None),
    ("networkplugin cni", "docker", "dockershim"),
    ("container create failed:", "cri-o", None),
)
_OLD_RUNC_RE: Final = re.compile(r'to rootfs \\*"')


def runtime(text: str, lowered: str) -> Facts:
    """Name the OCI runtime and container manager, and the wording generation of each."""
    facts: Facts = {}
    gen: str | None = None
    if "dstfd=/proc/" in lowered:
        gen = "runc-1.2.7+" if "flags=ms_" in lowered else "runc-1.2"
    elif "(via /proc/self/fd/" in lowered:
        gen = "runc-1.1"
    elif "mount through procfd" in lowered:
        gen = "runc-1.0"
    elif "rootfs_linux.go:" in lowered and _OLD_RUNC_RE.search(text):
        gen = "runc-1.0-rc"
    elif "runc create failed" in lowered or "runc run failed" in lowered or "unable to start container process" in lowered:
        gen = "runc-1.1+"
    elif "container_linux.go:" in lowered or "standard_init_linux.go:" in lowered:
        gen = "runc-1.0"
    if gen is not None:
        facts["runtime"] = "runc"
        facts["runtime_generation"] = gen
    elif "crun:" in lowered or "mount `" in lowered:
        facts["runtime"] = facts["runtime_generation"] = "crun"
    for needle, manager, manager_gen in _CONTAINERD_GEN:
        if needle in lowered:
            facts["container_manager"] = manager
            if manager_gen:
                facts["container_manager_generation"] = manager_gen
            break
    return facts


_IMAGE_RES: Final = (
    re.compile(r'(?:unpack image|resolve reference) \\*"(?P<image>[^"\\\s]{1,512})'),
    re.compile(r'(?i:pull(?:ing)? image|default image tag|parse image reference) \\*"(?P<image>[^"\\\s]{1,512})'),
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
    re.compile(r"(?i:couldn't find key) (?P<key>\S{1,253}) in (?P<kind>ConfigMap|Secret) (?P<ns>[^/\s]{1,253})/(?P<name>\S{1,253})"),
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


_NODES_RE: Final = re.compile(r"(?P<avail>\d+)/(?P<total>\d+) nodes are available: ")
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
    ends = [i for i in (body.find(". "), body.find(" preemption:"), body.find("; "), body.find("\n")) if i >= 0]
    body = body[: min(ends)] if ends else body
    body = body.rstrip(". ")
    reasons: dict[str, int] = {}
    for item in _SCHED_SPLIT_RE.split(body):
        im = _SCHED_ITEM_RE.fullmatch(item.strip())
        if im:
            reasons[im.group("reason").strip()] = reasons.get(im.group("reason").strip(), 0) + int(im.group("count"))
        elif item.strip():
            reasons[item.strip()] = int(m.group("total"))
    facts["scheduler_reasons"] = reasons
    return facts


_OOM_RES: Final = (
    re.compile(r"Kill(?:ed)? process (?P<oom_pid>\d+) \((?P<oom_comm>[^)\n]{0,64})\)"),
    re.compile(r"\btask=(?P<oom_comm>[^,\s]{1,64}),pid=(?P<oom_pid>\d+)"),
)
_OOM_CGROUP_RE: Final = re.compile(r"\btask_memcg=(?P<cg>[^,\s]{1,512})|Task in (?P<cg2>\S{1,512}) killed")
_OOM_CONSTRAINT_RE: Final = re.compile(r"constraint=(?P<c>CONSTRAINT_[A-Z_]{1,32})")
_POD_CGROUP_RE: Final = re.compile(r"pod(?P<uid>[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")


def oom(text: str, lowered: str) -> Facts:
    """Victim pid/comm and memory cgroup of a kernel OOM kill; the pod UID hides in the cgroup
    (``pod<uid>`` with cgroupfs, ``pod<uid_with_underscores>.slice`` with systemd)."""
    facts: Facts = {}
    for rx in _OOM_RES:
        m = rx.search(text)
        if m:
            facts["oom_pid"] = int(m.group("oom_pid"))
            facts["oom_comm"] = m.group("oom_comm")
            break
    m2 = _OOM_CGROUP_RE.search(text)
    if m2:
        cgroup = m2.group("cg") or m2.group("cg2")
        facts["oom_cgroup"] = cgroup
        pm = _POD_CGROUP_RE.search(cgroup)
        if pm:
            facts["pod_uid"] = pm.group("uid").replace("_", "-")
    m3 = _OOM_CONSTRAINT_RE.search(text)
    if m3:
        facts["oom_constraint"] = m3.group("c")
        facts["oom_scope"] = "cgroup" if m3.group("c") == "CONSTRAINT_MEMCG" else "node"
    elif "memory cgroup out of memory" in lowered or "killed as a result of limit of" in lowered:
        facts["oom_scope"] = "cgroup"
    elif "out of memory:" in lowered:
        facts["oom_scope"] = "node"
    return facts


_VOLUME_RE: Final = re.compile(r"for volume [\"\u201c\u201d](?P<volume>[^\"\u201c\u201d\s]{1,253})[\"\u201c\u201d]")
_EXIT_RE: Final = re.compile(r"(?i:exit ?code):\s*(?P<code>\d{1,3})\b")


def kubelet_volume(text: str, lowered: str) -> Facts:
    """The pod-level volume name in kubelet's ``... failed for volume "X"`` wording."""
    m = _VOLUME_RE.search(text)
    return {"volume": m.group("volume")} if m else {}


def exit_code(text: str, lowered: str) -> Facts:
    m = _EXIT_RE.search(text)
    return {"exit_code": int(m.group("code"))} if m else {}


_MOUNT_RES: Final = (
    # runc >= rc93: error mounting %q to rootfs at %q (rc <= rc10 also names the rootfs)
    re.compile(r'mounting \\*"(?P<source>[^"\\]{1,4096})\\*" to rootfs (?:\\*"[^"\\]{0,4096}\\*" )?at \\*"(?P<target>[^"\\]{1,4096})\\*"'),
    # crun: mount `SRC` to `DST`
    re.compile(r"mount `(?P<source>[^`]{1,4096})` to [`'](?P<target>[^`']{1,4096})[`']"),
    # runc 1.1: mount SRC:DST (via /proc/self/fd/N)
    re.compile(r"mount (?P<source>[^\s:]{1,4096}):(?P<target>\S{1,4096}) \(via /proc/"),
    # runc 1.2+: mount src=SRC, ..., dst=DST, dstFd=...
    re.compile(r"mount src=(?P<source>[^,\s]{1,4096}), (?:[a-zA-Z]{1,16}=[^,\s]{0,4096}, ){0,4}dst=(?P<target>[^,\s]{1,4096}),"),
    re.compile(r"error while creating mount source path '(?P<source>[^']{1,4096})'"),
    re.compile(r'failed to (?:stat|mkdir) \\*"(?P<source>[^"\\]{1,4096})\\*"'),
)
_FLAGS_RE: Final = re.compile(r"flags(?:: |=)(?P<flags>0x[0-9a-fA-F]{1,8}|MS_[A-Z_|]{1,200})")


def mount_spec(text: str, lowered: str) -> Facts:
    """Source, target and flags of the failed mount, in whichever runtime's wording."""
    facts: Facts = {}
    if "mount" not in lowered:
        return facts
    for rx in _MOUNT_RES:
        m = rx.search(text)
        if m:
            facts["mount_source"] = m.group("source")
            if "target" in m.groupdict() and m.group("target"):
                facts["mount_target"] = m.group("target")
            break
    fm = _FLAGS_RE.search(text)
    if fm:
        facts["mount_flags"] = fm.group("flags")
    return facts


_DELETED_STOP: Final = frozenset(" \t\n[\"'")


def deleted_root(text: str, lowered: str) -> Facts:
    """The mount root that the kernel reports as ``<path>//deleted`` in mountinfo/findmnt, and
    the SOURCE in front of it (``ceph-fuse[/volumes/...//deleted]``). Scanned by hand: a regex
    ending in a literal after an unbounded path class would backtrack quadratically."""
    end = text.find("//deleted")
    if end < 0:
        return {}
    start = end
    while start > 0 and text[start - 1] not in _DELETED_STOP:
        start -= 1
    facts: Facts = {"mount_root": text[start : end + len("//deleted")]}
    if start > 0 and text[start - 1] == "[":
        s = start - 1
        while s > 0 and not text[s - 1].isspace():
            s -= 1
        if s < start - 1:
            facts["mount_source"] = text[s : start - 1]
    return facts


_EVICT_RES: Final = (
    re.compile(r"low on resource: (?P<resource>[\w.-]{1,64})"),
    re.compile(r"Container (?P<container>[^\s,]{1,253}) was using (?P<usage>[^\s,]{1,64}),"),
    re.compile(r"(?:exceeds its request of|request is) (?P<request>[^\s,]{1,64}?)[.,]"),
)


def eviction(text: str, lowered: str) -> Facts:
    facts: Facts = {}
    for rx in _EVICT_RES:
        m = rx.search(text)
        if m:
            facts.update({f"evicted_{k}" if k != "resource" else "eviction_resource": v for k, v in m.groupdict().items()})
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


EXTRACTORS: Final[dict[str, Extractor]] = {
    "kubelet_paths": kubelet_paths,
    "errno": errno,
    "runtime": runtime,
    "image": image,
    "config_ref": config_ref,
    "scheduler": scheduler,
    "oom": oom,
    "kubelet_volume": kubelet_volume,
    "exit_code": exit_code,
    "mount_spec": mount_spec,
    "deleted_root": deleted_root,
    "eviction": eviction,
    "probe": probe,
}
