"""Real-kernel fixtures: a kubelet-like tree in a temp dir, FUSE daemons, fusectl.

Everything a test mounts is unmounted at teardown even when the test fails (lazy unmount as
the last resort), daemons are killed first so nothing blocks, and the tree is only removed once
no mount is left under it (rmtree through a live bind would delete the bind's source).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from podsleuth.node import mountinfo
from tests.waiting import eventually_sync

ROOT_ONLY = pytest.mark.root
"""Creates real mounts, FUSE daemons and cgroups (skipped unless root on Linux: tests/conftest.py)."""
POD_UID = "0b7e6a3c-1f2d-4c5e-9a8b-7c6d5e4f3a21"
FUSECTL = "/sys/fs/fuse/connections"


def mounts_under(root: str) -> list[mountinfo.MountEntry]:
    return [e for e in mountinfo.read_mountinfo("/proc", "self") if mountinfo.under(e.mount_point, [root])]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)


@dataclass
class FuseDaemon:
    proc: subprocess.Popen[bytes]
    mount_point: str
    dev: int = 0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@dataclass
class KubeletTree:
    """A throwaway kubelet root dir with helpers to build pod volume paths."""

    base: Path
    kubelet: Path
    daemons: list[FuseDaemon] = field(default_factory=list)

    def volume(self, name: str, plugin: str = "kubernetes.io~csi", uid: str = POD_UID,
               vol_data: dict[str, str] | None = None) -> Path:
        vdir = self.kubelet / "pods" / uid / "volumes" / plugin / name
        path = vdir / "mount" if plugin == "kubernetes.io~csi" else vdir
        path.mkdir(parents=True, exist_ok=True)
        if vol_data is not None:
            import json

            (vdir / "vol_data.json").write_text(json.dumps(vol_data))
        return path

    def staging(self, driver: str = "podsleuth.test.csi", digest: str = "ab" * 32) -> Path:
        path = self.kubelet / "plugins" / "kubernetes.io" / "csi" / driver / digest / "globalmount"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start_fuse(self, mount_point: Path, *args: str) -> FuseDaemon:
        before = {e.mount_id for e in mounts_under(str(mount_point))}
        proc = subprocess.Popen([sys.executable, "-m", "podsleuth.lab.fusefs", str(mount_point), *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        d = FuseDaemon(proc, str(mount_point))
        self.daemons.append(d)

        def mounted() -> list[mountinfo.MountEntry]:
            if proc.poll() is not None:
                raise RuntimeError(f"fusefs exited with {proc.returncode}")
            return [e for e in mounts_under(str(mount_point))
                    if e.mount_id not in before and e.mount_point == str(mount_point) and e.is_fuse]

        d.dev = eventually_sync(mounted, within=15, what="the fusefs mount")[-1].dev
        return d

    def cleanup(self) -> None:
        for d in self.daemons:  # first: a live hung daemon would block umount
            if d.dev and os.path.isdir(f"{FUSECTL}/{d.dev}"):
                try:
                    with open(f"{FUSECTL}/{d.dev}/abort", "w") as f:
                        f.write("1")
                except OSError:
                    pass
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                d.kill()
        for _ in range(5):
            left = mounts_under(str(self.base))
            if not left:
                break
            for e in sorted(left, key=lambda e: -e.mount_point.count("/")):
                if run("umount", e.mount_point).returncode != 0:
                    run("umount", "-l", e.mount_point)
        if mounts_under(str(self.base)):
            raise RuntimeError(f"mounts left under {self.base}; not removing it")
        import shutil

        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def fusectl() -> Iterator[str]:
    """/sys/fs/fuse/connections mounted (abort files unblock stuck probes); undone if we did it."""
    mounted_here = False
    if not any(e.fs_type == "fusectl" for e in mountinfo.read_mountinfo("/proc", "self")):
        mounted_here = run("mount", "-t", "fusectl", "none", FUSECTL).returncode == 0
    yield FUSECTL
    if mounted_here:
        run("umount", FUSECTL)


@pytest.fixture
def tree() -> Iterator[KubeletTree]:
    base = Path(tempfile.mkdtemp(prefix="podsleuth-node-test-"))
    t = KubeletTree(base, base / "kubelet")
    t.kubelet.mkdir()
    try:
        yield t
    finally:
        t.cleanup()
