"""A FUSE daemon that never answers: the probe reports mount-hung within its timeout and the
scan of the other mounts still finishes."""

from __future__ import annotations

import time

from podsleuth.node.check import CheckOptions, check_node
from tests.node.conftest import POD_UID, ROOT_ONLY, KubeletTree, run

pytestmark = [ROOT_ONLY]


def test_hung_mount_reported_within_timeout(tree: KubeletTree, fusectl: str) -> None:
    hung = tree.volume("pvc-hung")
    tree.start_fuse(hung, "--hang-getattr")
    healthy = tree.volume("cache", plugin="kubernetes.io~empty-dir")
    assert run("mount", "-t", "tmpfs", "podsleuth-test", str(healthy)).returncode == 0
    timeout = 1.0
    t0 = time.monotonic()
    report = check_node(CheckOptions(kubelet_dirs=(str(tree.kubelet),), mount_pid="self",
                                     read_kernel_log=False, probe_timeout=timeout))
    elapsed = time.monotonic() - t0
    assert elapsed < timeout + 2.5, elapsed
    hung_findings = [f for f in report.findings if f.kind == "mount-hung"]
    assert [(f.path, f.pod_uid, f.volume) for f in hung_findings] == [(str(hung), POD_UID, "pvc-hung")]
    assert hung_findings[0].severity == "critical"
    by_path = {m.entry.mount_point: m for m in report.mounts}
    probe = by_path[str(healthy)].probe
    assert probe is not None and probe.status == "ok"
    # the daemon is alive and holds the connection: not reported missing
    assert not [f for f in report.findings if f.kind == "fuse-daemon-missing"]
    assert report.summary["hung"] == 1
