"""Every OOM wording of the signature catalogue, plus hung tasks, NFS and I/O errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from podsleuth.node import kmsg

FIXTURES = Path(__file__).parent / "fixtures"


def _events(name: str, boot: float | None = None) -> list[kmsg.KernelEvent]:
    return kmsg.parse_lines((FIXTURES / name).read_text().splitlines(), boot_time=boot)


def test_legacy_two_line_format_is_one_event_per_kill() -> None:
    ev = _events("oom-legacy-rhel7.txt")
    assert [(e.kind, e.data["pid"], e.data["comm"]) for e in ev] == [
        ("oom-kill", 18694, "perl"), ("oom-kill", 21945, "tidb-server")]
    assert ev[0].data["score"] == 246 and ev[0].data["anon_rss_kb"] == 1953348
    assert ev[1].data["uid"] == 1000  # RHEL7 ", UID 1000," backport
    assert ev[0].data["scope"] == "global"
    assert ev[0].data["trigger"] == "perl"


def test_modern_global_with_summary_line() -> None:
    (ev,) = _events("oom-modern-global.txt", boot=1_000_000.0)
    assert ev.data["pid"] == 1669 and ev.data["comm"] == "ceph-fuse"
    assert ev.data["constraint"] == "CONSTRAINT_NONE" and ev.data["scope"] == "global"
    assert ev.data["pod_uid"] == "6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    assert ev.data["uid"] == 0
    assert ev.time == pytest.approx(1_000_000.0 + 1171.795540)


def test_memcg_systemd_slice_pod_uid_from_journal_lines() -> None:
    (ev,) = _events("oom-memcg-systemd-journal.txt")
    assert ev.data["pod_uid"] == "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
    assert ev.data["scope"] == "memcg" and ev.data["comm"] == "order-worker"
    assert ev.data["total_vm_kb"] == 812044


def test_cgroup_v1_task_in_line_names_the_cgroup() -> None:
    (ev,) = _events("oom-memcg-v1-csi-plugin.txt")
    assert ev.data["comm"] == "ceph-fuse" and ev.data["pid"] == 30211
    assert ev.data["cgroup"] == "/kubepods/burstable/pod9d8c7b6a-5f4e-3d2c-1b0a-9f8e7d6c5b4a/feedfacecafe"
    assert ev.data["pod_uid"] == "9d8c7b6a-5f4e-3d2c-1b0a-9f8e7d6c5b4a"
    assert ev.data["scope"] == "memcg"


def test_real_kmsg_capture_from_this_kernel() -> None:
    (ev,) = _events("kmsg-memcg-oom-6.18.txt", boot=0.0)
    assert ev.data["pid"] == 11437 and ev.data["comm"] == "python"
    assert ev.data["pod_uid"] == "0b7e6a3c-1f2d-4c5e-9a8b-7c6d5e4f3a21"
    assert ev.monotonic == pytest.approx(467.481852)


def test_hung_task_nfs_and_io_errors() -> None:
    kinds = [(e.kind, e.data) for e in _events("kernel-misc.txt")]
    assert kinds[0] == ("nfs-not-responding", {"server": "10.36.3.5"})
    assert kinds[1] == ("hung-task", {"comm": "kubelet", "pid": 1234, "blocked_s": 120})
    assert kinds[2][0] == "io-error" and kinds[2][1]["device"] == "sdb"
    assert kinds[3][0] == "io-error" and kinds[3][1]["device"] == "sdb1"
    assert kinds[4] == ("nfs-recovered", {"server": "10.36.3.5"})


@pytest.mark.parametrize(("cgroup", "uid"), [
    ("/kubepods/besteffort/pod0b7e6a3c-1f2d-4c5e-9a8b-7c6d5e4f3a21/abc",
     "0b7e6a3c-1f2d-4c5e-9a8b-7c6d5e4f3a21"),
    ("/kubepods.slice/kubepods-pod0b7e6a3c_1f2d_4c5e_9a8b_7c6d5e4f3a21.slice/x.scope",
     "0b7e6a3c-1f2d-4c5e-9a8b-7c6d5e4f3a21"),
    ("/system.slice/ceph-fuse.service", None),
])
def test_pod_uid_from_cgroup(cgroup: str, uid: str | None) -> None:
    assert kmsg.pod_uid_from_cgroup(cgroup) == uid


def test_kmsg_continuation_lines_are_ignored() -> None:
    lines = ["3,10,5000000,-;Buffer I/O error on dev sdc, logical block 0",
             " SUBSYSTEM=block", " DEVICE=b8:32"]
    (ev,) = kmsg.parse_lines(lines)
    assert ev.kind == "io-error" and ev.monotonic == 5.0
