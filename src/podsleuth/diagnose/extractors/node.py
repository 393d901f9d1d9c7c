"""Facts from node-side wording: kubelet paths, errno, runtime generation, mounts, OOM kills.

Each extractor is gated by a cheap substring test and uses linear regexes (bounded, no nested
or overlapping quantifiers) or plain string scanning, so hostile input costs linear time.
"""

from __future__ import annotations

import re
from typing import Final

from podsleuth.diagnose.extractors.base import Facts
from podsleuth.diagnose.literals import trie_pattern

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
_ERRNO_TAIL: Final = 256


def errno(text: str, lowered: str) -> Facts:
    """The last errno text wins: runtimes wrap errors outside-in, the cause is at the end."""
    # Most messages end with their errno: look at the tail first, the whole text only if the
    # tail has none (no errno text contains another one's tail, so a cut match cannot mislead).
    found = _ERRNO_RE.findall(lowered, max(0, len(lowered) - _ERRNO_TAIL)) or _ERRNO_RE.findall(lowered)
    if not found:
        return {}
    return {"errno": _ERRNOS[found[-1]], "errno_text": found[-1]}


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
    elif (
        "runc create failed" in lowered
        or "runc run failed" in lowered
        or "unable to start container process" in lowered
    ):
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


_OOM_RES: Final = (
    re.compile(r"Kill(?:ed)? process (?P<oom_pid>\d+) \((?P<oom_comm>[^)\n]{0,64})\)"),
    re.compile(r"\btask=(?P<oom_comm>[^,\s]{1,64}),pid=(?P<oom_pid>\d+)"),
)
_OOM_CGROUP_RE: Final = re.compile(r"\btask_memcg=(?P<cg>[^,\s]{1,512})|Task in (?P<cg2>\S{1,512}) killed")
_OOM_CONSTRAINT_RE: Final = re.compile(r"constraint=(?P<c>CONSTRAINT_[A-Z_]{1,32})")
_POD_CGROUP_RE: Final = re.compile(
    r"pod(?P<uid>[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})"
)


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


_MOUNT_RES: Final = (
    # runc >= rc93: error mounting %q to rootfs at %q (rc <= rc10 also names the rootfs)
    re.compile(
        r'mounting \\*"(?P<source>[^"\\]{1,4096})\\*" to rootfs (?:\\*"[^"\\]{0,4096}\\*" )?'
        r'at \\*"(?P<target>[^"\\]{1,4096})\\*"'
    ),
    # crun: mount `SRC` to `DST`
    re.compile(r"mount `(?P<source>[^`]{1,4096})` to [`'](?P<target>[^`']{1,4096})[`']"),
    # runc 1.1: mount SRC:DST (via /proc/self/fd/N)
    re.compile(r"mount (?P<source>[^\s:]{1,4096}):(?P<target>\S{1,4096}) \(via /proc/"),
    # runc 1.2+: mount src=SRC, ..., dst=DST, dstFd=...
    re.compile(
        r"mount src=(?P<source>[^,\s]{1,4096}), (?:[a-zA-Z]{1,16}=[^,\s]{0,4096}, ){0,4}"
        r"dst=(?P<target>[^,\s]{1,4096}),"
    ),
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
