"""The founding incident's last link: a pod volume bound from a directory that was then removed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from podsleuth.cli import cli
from podsleuth.node.check import CheckOptions, check_node
from tests.node.conftest import POD_UID, ROOT_ONLY, KubeletTree, run

pytestmark = [ROOT_ONLY]


def _deleted_bind(tree: KubeletTree) -> str:
    src = tree.base / "ceph-volume"
    src.mkdir()
    target = tree.volume("pvc-deleted", vol_data={"driverName": "cephfs.csi.ceph.com",
                                                  "volumeHandle": "vol-1", "specVolID": "pvc-deleted"})
    assert run("mount", "--bind", str(src), str(target)).returncode == 0
    src.rmdir()
    return str(target)


def test_deleted_bind_source_is_reported(tree: KubeletTree) -> None:
    target = _deleted_bind(tree)
    report = check_node(CheckOptions(kubelet_dirs=(str(tree.kubelet),), mount_pid="self",
                                     read_kernel_log=False))
    deleted = [f for f in report.findings if f.kind == "mount-source-deleted"]
    assert len(deleted) == 1
    f = deleted[0]
    assert (f.path, f.pod_uid, f.volume, f.severity) == (target, POD_UID, "pvc-deleted", "error")
    assert f.data["source"].endswith("//deleted]")
    assert f.data["driver"] == "cephfs.csi.ceph.com"
    # stat still works on such a mount: it is not disconnected, only unbindable
    assert not [f for f in report.findings if f.kind == "mount-disconnected"]


def test_bind_test_reproduces_enoent_and_leaves_nothing(tree: KubeletTree) -> None:
    target = _deleted_bind(tree)
    before = Path("/proc/self/mountinfo").read_text().count("\n")
    result = CliRunner().invoke(cli, ["node", "check", "--kubelet-dir", str(tree.kubelet), "--mount-pid",
                                      "self", "--kernel-log", "/dev/null", "--bind-test", "-o", "json",
                                      "--fail-on", "error"])
    assert result.exit_code == 1, result.output
    found = [json.loads(line) for line in result.stdout.splitlines()]
    failed = [f for f in found if f["kind"] == "mount-bind-failed"]
    assert failed and failed[0]["path"] == target and failed[0]["data"]["errno"] == "ENOENT"
    deleted = next(f for f in found if f["kind"] == "mount-source-deleted")
    assert deleted["data"]["bind_test"] == "ENOENT"
    assert Path("/proc/self/mountinfo").read_text().count("\n") == before
