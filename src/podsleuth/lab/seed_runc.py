"""Start a real container with Debian's ``runc`` bind-mounting a pod volume path, for its genuine error.

The signature catalogue is only as good as the strings in it; the runtime's wording changes
between runc generations, so the lab asks the runc on this machine instead of quoting one.  The
bundle needs no image: its rootfs borrows the host's ``/usr`` read-only (merged-/usr systems make
``/bin``, ``/lib`` symlinks into it), so nothing has to be installed or downloaded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
from dataclasses import dataclass

_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')
TIMEOUT = 20.0


@dataclass(frozen=True)
class RuncResult:
    ok: bool
    error: str  # runc's msg="..." unquoted, or the raw stderr when it has no such field
    stderr: str


def version(runc: str = "runc") -> str:
    """First line of ``runc --version`` (``runc version 1.1.5+ds1``)."""
    cp = subprocess.run([runc, "--version"], capture_output=True, text=True, timeout=10, check=False)
    return (cp.stdout.splitlines() or ["unknown"])[0].removeprefix("runc version ").strip()


def error_text(stderr: str) -> str:
    """The ``msg`` of runc's logrus line, i.e. what containerd embeds in the pod's status message."""
    found = _MSG.findall(stderr)
    if not found:
        return stderr.strip()
    return str(json.loads(f'"{found[-1]}"'))


def make_bundle(bundle: str, volume_source: str, destination: str = "/data", runc: str = "runc") -> None:
    """``runc spec`` adjusted: not a terminal, /usr bound from the host, the pod volume at ``destination``.

    The volume gets the options kubelet/containerd give a CSI volume (``rbind``: flags 0x5000
    in runc's message), so the failure is the one a real pod start hits.
    """
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(os.path.join(rootfs, "usr"), exist_ok=True)
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}") and not os.path.lexists(os.path.join(rootfs, link)):
            os.symlink(os.readlink(f"/{link}"), os.path.join(rootfs, link))
    cp = subprocess.run([runc, "spec", "--bundle", bundle], capture_output=True, text=True, timeout=10,
                        check=False)
    if cp.returncode != 0:
        raise OSError(f"runc spec failed: {cp.stderr.strip()}")
    path = os.path.join(bundle, "config.json")
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/usr/bin/true"]
    spec["mounts"].append({"destination": "/usr", "type": "bind", "source": "/usr",
                           "options": ["rbind", "ro"]})
    spec["mounts"].append({"destination": destination, "type": "bind", "source": volume_source,
                           "options": ["rbind", "rprivate", "rw"]})
    with open(path, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)


def create(bundle: str, state_root: str, runc: str = "runc") -> RuncResult:
    """``runc create`` (the step containerd's shim runs), then always ``runc delete -f``.

    ``create`` rather than ``run``: its error reads ``runc create failed: ...``, the wording the
    kubelet shows; a container that did get created is deleted at once, leaving no cgroup behind.
    """
    cid = f"podsleuth-seed-{secrets.token_hex(4)}"
    log_path = os.path.join(bundle, f"{cid}.stderr")
    try:
        # a file, not a pipe: the created container's init inherits stdio and would hold a pipe open
        with open(log_path, "w+", encoding="utf-8") as err:
            try:
                cp = subprocess.run([runc, "--root", state_root, "create", "--bundle", bundle, cid],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    timeout=TIMEOUT, check=False)
                ok, note = cp.returncode == 0, ""
            except subprocess.TimeoutExpired:
                ok, note = False, f"\n(runc create did not finish within {TIMEOUT:.0f}s)"
            err.seek(0)
            stderr = err.read() + note
    finally:
        delete(cid, state_root, runc)
        with contextlib.suppress(OSError):
            os.unlink(log_path)
    return RuncResult(ok, error_text(stderr) if not ok else "", stderr)


def delete(cid: str, state_root: str, runc: str = "runc") -> None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run([runc, "--root", state_root, "delete", "-f", cid], capture_output=True,
                       timeout=TIMEOUT, check=False)
