"""Hung tasks (and the filesystem they wait in), soft lockups, NFS, I/O and filesystem errors:
one event per task/server/device however often the kernel repeats it. Lines as quoted in the
threads cited by tests/corpus/kernel/{hung_tasks,soft_lockups,io_errors,nfs}.yaml."""

from __future__ import annotations

import pytest

from podsleuth.node import kmsg


def events(text: str) -> list[kmsg.KernelEvent]:
    return kmsg.parse_lines(text.splitlines())


@pytest.mark.parametrize(("frames", "fs"), [
    (["request_wait_answer+0x12b/0x210 [fuse]", "__fuse_request_send+0x64/0x90 [fuse]"], "fuse"),
    (["[<ffffffffa038853d>] __fuse_request_send+0x13d/0x2c0 [fuse]"], "fuse"),
    (["(filemap_write_and_wait_range) from [<803db1c4>] (nfs_file_fsync+0x30/0x280)"], "nfs"),
    (["[<ffffffffc037a289>] xfs_file_fsync+0x199/0x1c0 [xfs]"], "xfs"),
    (["[<ffffffff817203fd>] io_schedule+0x9d/0x140"], None),
])
def test_hung_task_names_the_filesystem_it_waits_in(frames: list[str], fs: str | None) -> None:
    log = "\n".join([
        "[157683.970659] INFO: task ruby2.5:22867 blocked for more than 120 seconds.",
        '[157683.970667] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
        "[157683.970672] Call Trace:", *(f"[157683.970690]  {f}" for f in frames)])
    (ev,) = events(log)
    got = (ev.kind, ev.data["comm"], ev.data["pid"], ev.data.get("fs"))
    assert got == ("hung-task", "ruby2.5", 22867, fs)


def test_comm_with_colons_and_slashes() -> None:
    (a,) = events("INFO: task kworker/u8:102:403349 blocked for more than 1228 seconds.")
    assert (a.data["comm"], a.data["pid"], a.data["blocked_s"]) == ("kworker/u8:102", 403349, 1228)
    (b,) = events("NMI watchdog: BUG: soft lockup - CPU#34 stuck for 22s! [runc:[1:CHILD]:185318]")
    assert (b.kind, b.data["comm"], b.data["pid"], b.data["cpu"], b.data["stuck_s"]) == (
        "soft-lockup", "runc:[1:CHILD]", 185318, 34, 22)


def test_repeats_are_counted_not_multiplied() -> None:
    log = "\n".join([
        "[ 3837.406095] Buffer I/O error on dev sda1, logical block 244, lost async page write",
        "[ 3837.406122] Buffer I/O error on dev sda1, logical block 245, lost async page write",
        "[ 3837.406143] Buffer I/O error on dev sda1, logical block 246, lost async page write",
        "[1576939.453001] nfs: server 100.73.159.36 not responding, still trying",
        "[1576939.453004] nfs: server 100.73.159.36 not responding, still trying",
    ])
    evs = events(log)
    assert [(e.kind, e.data.get("count")) for e in evs] == [("io-error", 3), ("nfs-not-responding", 2)]
    assert evs[0].data["last_monotonic"] == pytest.approx(3837.406143)


@pytest.mark.parametrize(("line", "kind", "device"), [
    ("blk_update_request: I/O error, dev sda, sector 6192120 op 0x1:(WRITE) flags 0x100000 phys_seg 3",
     "io-error", "sda"),
    ("Buffer I/O error on device dm-1, logical block 14403801", "io-error", "dm-1"),
    ("EXT4-fs warning (device dm-1): ext4_end_bio:316: I/O error -5 writing to inode 10223621",
     "io-error", "dm-1"),
    ('XFS (dm-7): metadata I/O error: block 0x280000010 ("xlog_bread_noalign") error 5 numblks 8',
     "io-error", "dm-7"),
    ("EXT4-fs error (device mmcblk0p2): ext4_evict_inode:292: comm rm: couldn't truncate inode 11376",
     "fs-error", "mmcblk0p2"),
    ("XFS (nbd0): Metadata corruption detected at xfs_dinode_verify.part.0+0x172/0x640 [xfs]",
     "fs-error", "nbd0"),
])
def test_io_and_filesystem_errors_name_the_device(line: str, kind: str, device: str) -> None:
    (ev,) = events(line)
    assert (ev.kind, ev.data["device"]) == (kind, device)


# from the kernel's format strings: fs/xfs/xfs_log.c xfs_log_force ("%s: error %d returned.", errno
# positive before 3.17, negative after) and fs/xfs/xfs_fsops.c xfs_do_force_shutdown ("%s(0x%x) called
# from line %d of file %s. Return address = ...", flags from xfs_mount.h SHUTDOWN_*)
@pytest.mark.parametrize(("line", "kind", "device"), [
    ("[39648.163360] XFS (dm-0): xfs_log_force: error -5 returned.", "io-error", "dm-0"),
    ("XFS (dm-2): xfs_log_force: error 5 returned.", "io-error", "dm-2"),
    ("XFS (sdb1): xfs_log_force_lsn: error -5 returned.", "io-error", "sdb1"),
    ("XFS (sdb1): xfs_log_force: error -117 returned.", "fs-error", "sdb1"),
    ("XFS (dm-0): xfs_do_force_shutdown(0x2) called from line 1203 of file fs/xfs/xfs_log.c.  "
     "Return address = 0xffffffffa027a590", "io-error", "dm-0"),
    ("XFS (sdc): xfs_do_force_shutdown(0x1) called from line 1138 of file fs/xfs/xfs_buf.c. "
     "Return address = xfs_buf_ioend+0x1a8/0x1c0 [xfs]", "io-error", "sdc"),
    ("XFS (dm-3): xfs_do_force_shutdown(0x8) called from line 1926 of file fs/xfs/xfs_trans.c.  "
     "Return address = 0xffffffffa034c7ce", "fs-error", "dm-3"),
    ('XFS (sdb1): metadata I/O error in "xfs_trans_read_buf_map" at daddr 0x2 len 1 error 5',
     "io-error", "sdb1"),
    ("XFS (sdb1): Log I/O error (0x2) detected at xlog_ioend_work+0x6e/0x70 [xfs] (fs/xfs/xfs_log.c:1264)."
     " Shutting down filesystem", "io-error", "sdb1"),
    ("XFS (sdb1): Corruption of in-memory data (0x8) detected at xfs_trans_cancel+0x118/0x130 [xfs] "
     "(fs/xfs/xfs_trans.c:1097).  Shutting down filesystem", "fs-error", "sdb1"),
])
def test_xfs_log_force_and_shutdown_lines(line: str, kind: str, device: str) -> None:
    (ev,) = events(line)
    assert (ev.kind, ev.data["device"]) == (kind, device)


def test_an_xfs_shutdown_sequence_is_one_io_error_counted() -> None:
    log = "\n".join([
        "[505412.988952] XFS (dm-0): xfs_do_force_shutdown(0x2) called from line 1203 of file "
        "fs/xfs/xfs_log.c.  Return address = 0xffffffffa027a590",
        "[505412.988971] XFS (dm-0): Log I/O Error Detected.  Shutting down filesystem",
        "[505412.989365] XFS (dm-0): xfs_log_force: error -5 returned.",
        "[505412.989428] XFS (dm-0): Please umount the filesystem and rectify the problem(s)",
        "[505413.038058] XFS (dm-0): xfs_log_force: error -5 returned.",
    ])
    evs = events(log)
    assert [(e.kind, e.data["device"], e.data.get("count")) for e in evs] == [("io-error", "dm-0", 4)]


@pytest.mark.parametrize("line", [
    "XFS (dm-1): Mounting V5 Filesystem",
    "EXT4-fs (vdb): mounted filesystem 933e404a-e526-4c34-8194-89f4bb855681 r/w with ordered data mode.",
    "fuse init (API version 7.22)",
    "NFSD: starting 90-second grace period (net f0000233)",
    "NMI watchdog: Watchdog detected hard LOCKUP on cpu 3",
])
def test_benign_lines_are_not_events(line: str) -> None:
    assert events(line) == []
