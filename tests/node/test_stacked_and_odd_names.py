"""Mount targets whose names need the kernel's octal escapes, and targets mounted twice."""

from __future__ import annotations

from podsleuth.node.check import CheckOptions, check_node
from tests.node.conftest import POD_UID, ROOT_ONLY, KubeletTree, run

pytestmark = [ROOT_ONLY]

ODD = ["with space", "with\ttab", "with\nnewline", "back\\slash", "all \t\n\\ of them"]


def _opts(tree: KubeletTree) -> CheckOptions:
    return CheckOptions(kubelet_dirs=(str(tree.kubelet),), mount_pid="self", read_kernel_log=False)


def test_odd_names_are_decoded_and_probed(tree: KubeletTree) -> None:
    targets = []
    for name in ODD:
        t = tree.volume(name, plugin="kubernetes.io~empty-dir")
        assert run("mount", "-t", "tmpfs", "podsleuth-test", str(t)).returncode == 0
        targets.append(str(t))
    src = tree.base / "gone src"
    src.mkdir()
    deleted = tree.volume("vol\nwith newline")
    assert run("mount", "--bind", str(src), str(deleted)).returncode == 0
    src.rmdir()
    report = check_node(_opts(tree))
    by_path = {m.entry.mount_point: m for m in report.mounts}
    for t, name in zip(targets, ODD, strict=True):
        rec = by_path[t]
        assert rec.volume is not None and rec.volume.volume == name and rec.volume.pod_uid == POD_UID
        assert rec.probe is not None and rec.probe.status == "ok"
    f = next(f for f in report.findings if f.kind == "mount-source-deleted")
    assert f.path == str(deleted) and f.volume == "vol\nwith newline"
    assert f.data["source"].endswith(f"[{src}//deleted]")


def test_same_target_mounted_twice_is_stacked(tree: KubeletTree) -> None:
    t = tree.volume("pvc-stacked")
    assert run("mount", "-t", "tmpfs", "first", str(t)).returncode == 0
    assert run("mount", "-t", "tmpfs", "second", str(t)).returncode == 0
    report = check_node(_opts(tree))
    stacked = [f for f in report.findings if f.kind == "mount-stacked"]
    assert len(stacked) == 1 and stacked[0].path == str(t) and stacked[0].data["layers"] == 2
    assert report.pod_mounts(POD_UID)[0].entry.source == "second"
