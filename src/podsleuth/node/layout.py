"""Where kubelet puts pod volumes, so a mount point can be named by pod UID and volume.

Paths are decoded from strings only; nothing here stats a mount point, because a stat on a
dead NFS or FUSE mount can block forever (probing is :mod:`podsleuth.node.probe`'s job, with a
timeout).  Reading ``vol_data.json`` is safe: it sits in a plain directory *next to* the CSI
``mount`` directory, never inside it.

Layouts (kubelet ``--root-dir``, default ``/var/lib/kubelet``)::

    pods/<uid>/volumes/<plugin with / as ~>/<volume>/mount      CSI (vol_data.json beside it)
    pods/<uid>/volumes/<plugin with / as ~>/<volume>            every other plugin
    pods/<uid>/volume-subpaths/<volume>/<container>/<index>     subPath bind mounts
    plugins/kubernetes.io/csi/<driver>/<sha256(handle)>/globalmount   staging, k8s >= 1.24
    plugins/kubernetes.io/csi/pv/<pv>/globalmount                     staging, older
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, replace
from typing import Literal

log = logging.getLogger(__name__)

DEFAULT_KUBELET_DIR = "/var/lib/kubelet"
VOL_DATA = "vol_data.json"

Role = Literal["volume", "subpath", "staging"]


@dataclass(frozen=True, slots=True)
class VolumePath:
    """What a path under a kubelet dir means: which pod, which volume, which role."""

    kubelet_dir: str
    role: Role
    pod_uid: str | None
    volume: str | None
    plugin: str | None = None
    container: str | None = None
    driver: str | None = None
    volume_handle: str | None = None
    vol_data_mtime: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if getattr(self, k) is not None}


def unescape_plugin(name: str) -> str:
    """kubelet's EscapeQualifiedName in reverse: ``kubernetes.io~csi`` -> ``kubernetes.io/csi``."""
    return name.replace("~", "/")


def classify(path: str, kubelet_dirs: list[str]) -> VolumePath | None:
    """Decode a mount point under one of ``kubelet_dirs``; None if it is not a volume path."""
    for kdir in kubelet_dirs:
        root = kdir.rstrip("/")
        if not path.startswith(root + "/"):
            continue
        parts = path[len(root) + 1:].split("/")
        if len(parts) >= 5 and parts[0] == "pods" and parts[2] == "volumes":
            plugin = unescape_plugin(parts[3])
            if plugin == "kubernetes.io/csi" and len(parts) >= 6 and parts[5] != "mount":
                continue
            return VolumePath(root, "volume", parts[1], parts[4], plugin=plugin)
        if len(parts) >= 6 and parts[0] == "pods" and parts[2] == "volume-subpaths":
            return VolumePath(root, "subpath", parts[1], parts[3], container=parts[4])
        if (len(parts) >= 6 and parts[:3] == ["plugins", "kubernetes.io", "csi"]
                and parts[5] == "globalmount"):
            if parts[3] == "pv":
                return VolumePath(root, "staging", None, parts[4], plugin="kubernetes.io/csi")
            return VolumePath(root, "staging", None, None, plugin="kubernetes.io/csi", driver=parts[3],
                              volume_handle=None)
    return None


def read_vol_data(directory: str) -> dict[str, str] | None:
    """``vol_data.json`` of a CSI volume dir, or None when absent or unreadable."""
    path = os.path.join(directory, VOL_DATA)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


def enrich(path: str, vp: VolumePath) -> VolumePath:
    """Add driver, volume handle and publish time from ``vol_data.json`` beside the mount."""
    if vp.plugin != "kubernetes.io/csi":
        return vp
    directory = os.path.dirname(path.rstrip("/"))
    data = read_vol_data(directory)
    if data is None:
        return vp
    try:
        mtime: float | None = os.stat(os.path.join(directory, VOL_DATA)).st_mtime
    except OSError:
        mtime = None
    return replace(
        vp,
        driver=data.get("driverName") or vp.driver,
        volume_handle=data.get("volumeHandle") or vp.volume_handle,
        volume=vp.volume or data.get("specVolID"),
        vol_data_mtime=mtime,
    )


def staging_paths(kubelet_dir: str, driver: str, volume_handle: str, pv: str | None) -> list[str]:
    """Both staging layouts for a CSI volume: the diagnoser computes them from the PV."""
    base = os.path.join(kubelet_dir, "plugins", "kubernetes.io", "csi")
    digest = hashlib.sha256(volume_handle.encode()).hexdigest()
    out = [os.path.join(base, driver, digest, "globalmount")]
    if pv:
        out.append(os.path.join(base, "pv", pv, "globalmount"))
    return out


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def scan_pod_volumes(kubelet_dir: str) -> list[tuple[str, VolumePath]]:
    """Every pod volume directory kubelet created, mounted or not.

    Lists parent directories only (listing a directory does not touch the mount points in
    it), so a hung mount cannot block the scan.
    """
    root = kubelet_dir.rstrip("/")
    out: list[tuple[str, VolumePath]] = []
    pods = os.path.join(root, "pods")
    for uid in _listdir(pods):
        vdir = os.path.join(pods, uid, "volumes")
        for plugin_dir in _listdir(vdir):
            plugin = unescape_plugin(plugin_dir)
            for name in _listdir(os.path.join(vdir, plugin_dir)):
                path = os.path.join(vdir, plugin_dir, name)
                if plugin == "kubernetes.io/csi":
                    path = os.path.join(path, "mount")
                vp = VolumePath(root, "volume", uid, name, plugin=plugin)
                out.append((path, enrich(path, vp)))
    return out
