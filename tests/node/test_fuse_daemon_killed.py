"""A FUSE daemon serving a pod volume dies, then is restarted the way ceph-csi's recovery does.

Staging mount (the daemon) -> bind into the pod volume path.  SIGKILL the daemon: both are
ENOTCONN and no process serves the connection.  Then lazily unmount the dead staging mount and
start a new daemon there: staging works again, the pod's old bind still points at the dead
connection — the founding incident's "daemon restarted, old pods broken" state.
"""

from __future__ import annotations

import os
import sys

from podsleuth.node.check import CheckOptions, check_node
from tests.node.conftest import POD_UID, ROOT_ONLY, KubeletTree, run

pytestmark = [ROOT_ONLY]


def _opts(tree: KubeletTree) -> CheckOptions:
    return CheckOptions(kubelet_dirs=(str(tree.kubelet),), mount_pid="self", read_kernel_log=False,
                        probe_timeout=2.0)


def _kinds(report_findings: list[object], path: str) -> set[str]:
    return {f.kind for f in report_findings if getattr(f, "path", None) == path}  # type: ignore[attr-defined]


def test_killed_then_restarted_daemon(tree: KubeletTree, fusectl: str) -> None:
    staging = tree.staging()
    daemon = tree.start_fuse(staging)
    target = tree.volume("pvc-fuse")
    assert run("mount", "--bind", str(staging), str(target)).returncode == 0

    healthy = check_node(_opts(tree))
    pod_mounts = healthy.pod_mounts(POD_UID)
    assert len(pod_mounts) == 1 and pod_mounts[0].daemons
    served = pod_mounts[0].daemons[0]
    assert served.pid == daemon.proc.pid
    assert "podsleuth.lab.fusefs" in " ".join(served.cmdline)
    assert served.start_time is not None
    assert not [f for f in healthy.findings if f.kind.startswith(("mount-", "fuse-"))]

    daemon.kill()
    broken = check_node(_opts(tree))
    kinds = _kinds(broken.findings, str(target))
    assert {"mount-disconnected", "fuse-daemon-missing"} <= kinds, broken.findings
    missing = next(f for f in broken.findings if f.kind == "fuse-daemon-missing" and f.path == str(target))
    assert missing.pod_uid == POD_UID and missing.volume == "pvc-fuse"
    assert missing.data["connection"] == daemon.dev

    # ceph-csi style recovery: lazy-unmount the dead staging mount, mount a new daemon there
    assert run("umount", "-l", str(staging)).returncode == 0
    new = tree.start_fuse(staging, "-o", "nonempty")
    assert new.dev != daemon.dev
    assert os.stat(staging) is not None  # the new staging mount works
    after = check_node(_opts(tree))
    kinds = _kinds(after.findings, str(target))
    assert {"mount-disconnected", "fuse-daemon-restarted"} <= kinds, after.findings
    assert "fuse-daemon-missing" not in kinds
    restarted = next(f for f in after.findings if f.kind == "fuse-daemon-restarted")
    assert restarted.process is not None and restarted.process["pid"] == new.proc.pid
    assert restarted.data["new_mount_point"] == str(staging)
    assert restarted.data["connection"] == daemon.dev
    assert not _kinds(after.findings, str(staging)) & {"mount-disconnected", "fuse-daemon-missing"}
    assert sys.platform.startswith("linux")
