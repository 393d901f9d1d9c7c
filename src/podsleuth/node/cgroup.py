"""Which pod and container a cgroup path belongs to, for every layout the kubelet creates.

The kernel names an OOM victim only by pid, comm and cgroup path; the path is the one link to a
pod.  The kubelet writes it differently per cgroup driver and runtime:

* cgroupfs (v1 and v2): ``/kubepods[/burstable|/besteffort]/pod<uid>/<container-id>``, where
  CRI-O's leaf may be ``crio-<id>``;
* systemd: ``/kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid_with_underscores>.slice/
  <runtime>-<id>.scope`` with ``cri-containerd-``, ``docker-``, ``crio-`` (and ``crio-conmon-``,
  CRI-O's monitor process, which is not the container) as the runtime prefix.

Either may sit below a prefix (kind/k3d nodes in containers: ``/docker/<id>/kubepods/...``,
LXC: ``/lxc.payload.x/kubepods.slice/...``).  Static pods have a 32-hex-digit uid (an md5 of the
manifest) instead of an RFC 4122 one.  Paths are hostile text from the kernel log: only exact
shapes are accepted and anything else maps to "no pod".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UUID = r"[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}"
_STATIC = r"[0-9a-f]{32}"
#: one path component naming a pod: ``pod<uid>`` or ``kubepods[-qos]-pod<uid>.slice``
_POD = re.compile(rf"^(?:kubepods(?:-(burstable|besteffort))?-)?pod({_UUID}|{_STATIC})(\.slice)?$")
_QOS = re.compile(r"^kubepods(?:-(burstable|besteffort|guaranteed))?(?:\.slice)?$|^(burstable|besteffort)$")
_SCOPE = re.compile(r"^(cri-containerd|docker|crio-conmon|crio|containerd|libpod)-([0-9a-f]{64})\.scope$")
_CRIO_CGROUPFS = re.compile(r"^(crio-conmon|crio)-([0-9a-f]{64})$")
_BARE_ID = re.compile(r"^[0-9a-f]{64}$")
_RUNTIMES = {"cri-containerd": "containerd", "containerd": "containerd", "docker": "docker",
             "crio": "cri-o", "crio-conmon": "cri-o", "libpod": "podman"}


@dataclass(frozen=True, slots=True)
class PodCgroup:
    """What a cgroup path says about the pod it belongs to (None = the path does not say)."""

    pod_uid: str
    qos: str | None  # guaranteed | burstable | besteffort
    driver: str  # cgroupfs | systemd
    container_id: str | None = None
    runtime: str | None = None  # containerd | docker | cri-o | podman, when the leaf names it
    conmon: bool = False  # CRI-O's conmon scope: the pod's monitor process, not its container

    def to_dict(self) -> dict[str, object]:
        return {"pod_uid": self.pod_uid, "qos": self.qos, "cgroup_driver": self.driver,
                "container_id": self.container_id, "runtime": self.runtime, "conmon": self.conmon}


def _uid(raw: str) -> str:
    return raw.replace("_", "-")


def parse(path: str) -> PodCgroup | None:
    """The pod (and container, when the path goes that deep) a cgroup path belongs to."""
    parts = [p for p in path.strip().split("/") if p]
    for i, part in enumerate(parts):
        m = _POD.match(part)
        if m is None:
            continue
        systemd = bool(m.group(3))
        qos = m.group(1) or _qos_above(parts[:i])
        pod = PodCgroup(_uid(m.group(2)), qos, "systemd" if systemd else "cgroupfs")
        if i + 1 >= len(parts):
            return pod
        return _with_container(pod, parts[i + 1])
    return None


def _qos_above(parts: list[str]) -> str | None:
    """The QoS class from the components above the pod; None outside a kubepods tree."""
    for p in reversed(parts):
        m = _QOS.match(p)
        if m:
            return m.group(1) or m.group(2) or "guaranteed"
    return None


def _with_container(pod: PodCgroup, leaf: str) -> PodCgroup:
    m = _SCOPE.match(leaf) or _CRIO_CGROUPFS.match(leaf)
    if m:
        return PodCgroup(pod.pod_uid, pod.qos, pod.driver, m.group(2), _RUNTIMES[m.group(1)],
                         conmon=m.group(1) == "crio-conmon")
    if _BARE_ID.match(leaf):
        return PodCgroup(pod.pod_uid, pod.qos, pod.driver, leaf)
    return pod


def pod_uid(path: str) -> str | None:
    """Just the pod UID (dashed form) of a cgroup path, or None."""
    pc = parse(path)
    return pc.pod_uid if pc else None
