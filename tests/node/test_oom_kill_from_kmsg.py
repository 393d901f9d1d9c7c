"""A process OOM-killed by the kernel in a memory cgroup shows up as an ``oom-kill`` finding read
from /dev/kmsg, with its pid, comm, cgroup and the pod UID carried by the cgroup path."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podsleuth.node.check import CheckOptions, NodeReport, check_node
from podsleuth.node.findings import Finding
from tests.node.conftest import POD_UID, ROOT_ONLY
from tests.waiting import eventually_sync

MEMCG = Path("/sys/fs/cgroup/memory")
pytestmark = [ROOT_ONLY, pytest.mark.skipif(not (MEMCG / "cgroup.procs").exists(),
                                            reason="needs the cgroup v1 memory controller")]

HOG = """
import os, sys
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
chunks = []
while True:
    chunks.append(bytearray(8 << 20))
"""


@pytest.fixture
def pod_cgroup() -> Iterator[Path]:
    parent = MEMCG / f"podsleuth-test-{secrets.token_hex(4)}"
    child = parent / f"pod{POD_UID}"
    child.mkdir(parents=True)
    try:
        (child / "memory.limit_in_bytes").write_text(str(64 << 20))
        yield child
    finally:
        for cg in (child, parent):
            with contextlib.suppress(AssertionError):  # teardown: bounded, then move on
                eventually_sync(functools.partial(_emptied_and_removed, cg), within=5, what=f"removing {cg}")


def _emptied_and_removed(cg: Path) -> bool:
    """Kill what is left in the cgroup and remove it; False while the kernel still counts it busy."""
    pids = [int(p) for p in (cg / "cgroup.procs").read_text().split()] if cg.exists() else []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    try:
        if cg.exists():
            cg.rmdir()
    except OSError:
        return False
    return True


def test_memcg_oom_kill_is_found_in_kmsg(pod_cgroup: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", HOG, str(pod_cgroup / "cgroup.procs")],
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-500:]
    reports: list[NodeReport] = []

    def oom_findings() -> list[Finding]:
        report = check_node(CheckOptions(kubelet_dirs=("/nonexistent-kubelet",), mount_pid="self",
                                         since=120.0, probe=False))
        reports.append(report)
        return [f for f in report.findings if f.kind == "oom-kill" and f.pod_uid == POD_UID
                and str(pod_cgroup.name) in str(f.data.get("cgroup"))]

    found = eventually_sync(oom_findings, within=10, what="an oom-kill finding for the cgroup", every=0.1)
    report = reports[-1]
    f = found[-1]
    assert f.process is not None and f.process["comm"].startswith("python")
    assert isinstance(f.process["pid"], int)
    assert f.data.get("time") is not None and abs(f.data["time"] - time.time()) < 120
    assert report.summary["kernel_log"] == "/dev/kmsg"
