"""Kernel log events that break pods: OOM kills, hung tasks, soft lockups, NFS timeouts, I/O and
filesystem errors.

Inputs come in whatever form the operator has at hand, so each line's prefix is peeled off
before the message is read: ``/dev/kmsg`` records (``prio,seq,usec,flags;text``), ``dmesg``
(``[  123.456789] text``), ``dmesg -T`` (``[Thu Dec  7 00:05:15 2017] text``), ``dmesg
--time-format iso`` / ``journalctl -o short-iso`` (``2021-03-25T00:50:20,123456+0100``), journald
``short`` / syslog files (``Jan  5 02:12:02 host kernel: text``, other tags are not the kernel and
are dropped), ``short-monotonic`` (``[  147.358790] host kernel: text``), a ``<4>`` priority, or
bare text.  A wall-clock stamp, when the form has one with a year, is the event's time; otherwise
boot time + the monotonic stamp.

OOM lines are the job of :mod:`podsleuth.node.oom`; the victim's cgroup path is mapped to pod and
container by :mod:`podsleuth.node.cgroup`.  Repeats of one other event (the same hung task every
two minutes, a thousand ``Buffer I/O error`` lines of one disk) are counted, not multiplied.
"""

from __future__ import annotations

import calendar
import contextlib
import errno
import os
import re
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from podsleuth.node import cgroup, oom

_KMSG = re.compile(r"^(\d+),(\d+),(\d+),[^;]*;(.*)$")
_KMSG_DICT = re.compile(r"^ [A-Z][A-Z0-9_]*=")
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?\s+")
_SYSLOG = re.compile(r"^[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)?\s+")
_CTIME = re.compile(r"^\[((?:[A-Z][a-z]{2} )?[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4})\]\s?")
_JOURNAL_KERNEL = re.compile(r"^(?:\S+ )?kernel: ?")
_JOURNAL_OTHER = re.compile(r"^\S+ [\w.\-@/]+\[\d+\]: ")
_SYSLOG_OTHER = re.compile(r"^\S+ [^\s:\[]+(?:\[\d+\])?: ")
_PRIO = re.compile(r"^<\d{1,3}>")
#: dmesg --time-format delta ``[<    0.000011>]`` and reltime ``[Dec 3 06:57]`` / ``[  +0.000011]``
_DMESG_REL = re.compile(r"^\[(?:<\s*\d+\.\d+>|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}|\s*\+\d+\.\d+)\]\s?")
_MONO = re.compile(r"^\s*\[\s*(\d+)\.(\d+)\]\s?")
_MONO_ANYWHERE = re.compile(r"^[^\[]*?(?:<\d{1,3}>)?\[\s*(\d+)\.(\d+)\]\s?(.*)$")

_HUNG = re.compile(r"INFO: task (.+?):(\d+) blocked for more than (\d+) seconds")
_SOFT = re.compile(r"BUG: soft lockup - CPU#(\d+) stuck for (\d+)s! \[(.+):(\d+)\]")
_NFS = re.compile(r"nfs: server (\S+) not responding")
_NFS_OK = re.compile(r"nfs: server (\S+) OK")
_IOERR = re.compile(r"\b(?:I/O|critical medium|critical target|critical nexus|recoverable transport|timeout)"
                    r" error, dev (\S+?),|Buffer I/O error on dev(?:ice)? (\S+?),|"
                    r"EXT4-fs warning \(device (\S+?)\): .*I/O error|XFS \((\S+?)\): .*I/O [Ee]rror")
_FSERR = re.compile(r"EXT4-fs error \(device (\S+?)\)|XFS \((\S+?)\): .*(?:[Cc]orruption|Internal error|"
                    r"Shutting down filesystem)")
# fs/xfs/xfs_log.c ``xfs_warn(mp, "%s: error %d returned.", __func__, error)`` in xfs_log_force and
# xfs_log_force_lsn (3.x-4.x; positive errno before 3.17, negative after); fs/xfs/xfs_fsops.c
# ``xfs_notice(mp, "%s(0x%x) called from line %d of file %s. Return address = ...", __func__, flags,
# ...)`` in xfs_do_force_shutdown (until 5.16; later the flags are in the "Shutting down" alert).
_XFS_LOG_FORCE = re.compile(r"XFS \((\S+?)\): xfs_log_force(?:_lsn)?: error (-?\d+) returned")
_XFS_SHUTDOWN = re.compile(r"XFS \((\S+?)\): xfs_do_force_shutdown\((0x[0-9a-fA-F]+)\) called from line")
_XFS_IO_FLAGS = 0x1 | 0x2 | 0x20
"""xfs_mount.h SHUTDOWN_META_IO_ERROR, SHUTDOWN_LOG_IO_ERROR, SHUTDOWN_DEVICE_REQ (all device paths
lost): the device failed. The other flags (in-memory or on-disk corruption, a remote or user
request) shut a filesystem down that the device still serves."""
_FRAME_FS = re.compile(r"(fuse|nfs4?|rpc|xfs|ext4|jbd2|ceph)_\w*\+0x|"
                       r"\[(fuse|nfsv?4?|sunrpc|xfs|ext4|jbd2|ceph)\]\s*$")
_FS_NAMES = {"nfs4": "nfs", "nfsv4": "nfs", "rpc": "nfs", "sunrpc": "nfs", "jbd2": "ext4"}
_STACK_LINES = 40  # frames looked at after a hung-task line for the filesystem it waits on


@dataclass(frozen=True, slots=True)
class LogLine:
    text: str
    monotonic: float | None  # seconds since boot, when the source says
    wall: float | None = None  # epoch seconds, when the source has a full date


@dataclass(slots=True)
class KernelEvent:
    kind: str  # oom-kill | hung-task | soft-lockup | nfs-not-responding | nfs-recovered | io-error | fs-error
    message: str
    monotonic: float | None
    time: float | None = None  # wall clock; the line's own date, else monotonic + boot time
    data: dict[str, object] = field(default_factory=dict)
    wall: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "message": self.message, "monotonic": self.monotonic,
                "time": self.time, "data": self.data}


def pod_uid_from_cgroup(path: str) -> str | None:
    """``pod<uid>`` (cgroupfs) or ``pod<uid_with_underscores>.slice`` (systemd) -> uid."""
    return cgroup.pod_uid(path)


def _iso_epoch(stamp: str, frac: str | None, tz: str | None) -> float | None:
    tz = "+00:00" if tz in (None, "Z") else tz
    if len(tz) == 5:
        tz = tz[:3] + ":" + tz[3:]
    try:
        dt = datetime.fromisoformat(f"{stamp}{tz}")
    except ValueError:
        return None
    return dt.timestamp() + (float(f"0.{frac}") if frac else 0.0)


def _ctime_epoch(stamp: str) -> float | None:
    fmt = "%a %b %d %H:%M:%S %Y" if stamp[3] == " " and stamp[4].isalpha() else "%b %d %H:%M:%S %Y"
    try:
        return float(calendar.timegm(time.strptime(" ".join(stamp.split()), fmt)))
    except ValueError:
        return None


def split_line(raw: str) -> LogLine | None:
    """One input line in any supported form; None for kmsg dictionary lines (`` KEY=v``) and for
    syslog/journal lines another program wrote."""
    line = raw.rstrip("\r\n")
    if not line.strip() or _KMSG_DICT.match(line):
        return None
    if m := _KMSG.match(line):
        return LogLine(m.group(4).rstrip(), int(m.group(3)) / 1e6)
    wall: float | None = None
    mono: float | None = None
    rest, syslog = line, False
    if m := _ISO.match(rest):
        wall, rest = _iso_epoch(m.group(1), m.group(2), m.group(3)), rest[m.end():]
    elif m := _SYSLOG.match(rest):
        rest, syslog = rest[m.end():], True
    elif m := _CTIME.match(rest):
        wall, rest = _ctime_epoch(m.group(1)), rest[m.end():]
    elif m := _DMESG_REL.match(rest):
        rest = rest[m.end():]
    rest = _PRIO.sub("", rest, count=1)
    if m := _MONO.match(rest):
        mono, rest = float(f"{m.group(1)}.{m.group(2)}"), rest[m.end():]
    if m := _JOURNAL_KERNEL.match(rest.lstrip()):
        rest = rest.lstrip()[m.end():]
    elif _JOURNAL_OTHER.match(rest) or (syslog and _SYSLOG_OTHER.match(rest)):
        return None
    rest = _PRIO.sub("", rest, count=1)
    if mono is None and (m := _MONO_ANYWHERE.match(rest)):
        mono, rest = float(f"{m.group(1)}.{m.group(2)}"), m.group(3)
    return LogLine(rest.rstrip(), mono, wall)


def _event(kind: str, ll: oom.Line, data: dict[str, object]) -> KernelEvent:
    return KernelEvent(kind, ll.text.strip(), ll.monotonic, data=data, wall=ll.wall)


def _other(t: str) -> tuple[str, dict[str, object], tuple[object, ...]] | None:
    """kind, data and the key that makes two lines the same event, for the non-OOM kinds."""
    if m := _HUNG.search(t):
        return "hung-task", {"comm": m.group(1), "pid": int(m.group(2)), "blocked_s": int(m.group(3))}, \
            (m.group(1), m.group(2))
    if m := _SOFT.search(t):
        return "soft-lockup", {"comm": m.group(3), "pid": int(m.group(4)), "cpu": int(m.group(1)),
                               "stuck_s": int(m.group(2))}, (m.group(3), m.group(4))
    if m := _NFS.search(t):
        return "nfs-not-responding", {"server": m.group(1)}, (m.group(1),)
    if m := _NFS_OK.search(t):
        return "nfs-recovered", {"server": m.group(1)}, (m.group(1),)
    if (xfs := _xfs(t)) is not None:
        return xfs
    if m := _IOERR.search(t):
        dev = next(g for g in m.groups() if g)
        return "io-error", {"device": dev}, (dev,)
    if m := _FSERR.search(t):
        dev = next(g for g in m.groups() if g)
        return "fs-error", {"device": dev}, (dev,)
    return None


def _xfs(t: str) -> tuple[str, dict[str, object], tuple[object, ...]] | None:
    """The XFS lines that say what failed by a number: an errno (5 = EIO, a device error; any
    other, like 117 EFSCORRUPTED, the filesystem) or the shutdown flags."""
    if m := _XFS_LOG_FORCE.search(t):
        dev, err = m.group(1), abs(int(m.group(2)))
        kind = "io-error" if err == errno.EIO else "fs-error"
        return kind, {"device": dev, "errno": err}, (dev,)
    if m := _XFS_SHUTDOWN.search(t):
        dev, flags = m.group(1), int(m.group(2), 16)
        kind = "io-error" if flags & _XFS_IO_FLAGS else "fs-error"
        return kind, {"device": dev, "shutdown_flags": m.group(2)}, (dev,)
    return None


def parse_lines(lines: Iterable[str], *, boot_time: float | None = None) -> list[KernelEvent]:
    """Kernel events in order of first appearance; the lines of one OOM kill are one ``oom-kill``."""
    events: list[KernelEvent] = []
    tracker: oom.OomTracker[KernelEvent] = oom.OomTracker(events, _event)
    seen: dict[tuple[object, ...], KernelEvent] = {}
    hung: KernelEvent | None = None
    frames_left = 0
    for raw in lines:
        ll = split_line(raw)
        if ll is None:
            continue
        if tracker.feed(ll):
            continue
        found = _other(ll.text)
        if found is None:
            if hung is not None and frames_left > 0:
                frames_left -= 1
                if (f := _FRAME_FS.search(ll.text)) and "fs" not in hung.data:
                    name = f.group(1) or f.group(2)
                    hung.data["fs"] = _FS_NAMES.get(name, name)
            continue
        kind, data, key = found
        hung, frames_left = None, 0
        prev = seen.get((kind, *key))
        if prev is not None:
            prev.data["count"] = int(str(prev.data.get("count", 1))) + 1
            prev.data["last_monotonic"] = ll.monotonic
            continue
        ev = _event(kind, ll, data)
        seen[(kind, *key)] = ev
        events.append(ev)
        if kind == "hung-task":
            hung, frames_left = ev, _STACK_LINES
    tracker.flush()
    for ev in events:
        _locate(ev)
        if ev.wall is not None:
            ev.time = ev.wall
        elif ev.monotonic is not None and boot_time is not None:
            ev.time = boot_time + ev.monotonic
    return events


def _locate(ev: KernelEvent) -> None:
    """pod_uid / container_id of an OOM victim from its own cgroup, else from the memcg whose
    limit was hit (the victim lives inside it, so the pod -- and a container-level limit -- hold)."""
    for key in ("cgroup", "limit_cgroup"):
        path = ev.data.get(key)
        pc = cgroup.parse(path) if isinstance(path, str) else None
        if pc is None:
            continue
        ev.data["pod_uid"] = pc.pod_uid
        if pc.container_id and not pc.conmon:
            ev.data["container_id"] = pc.container_id
            if pc.runtime:
                ev.data["runtime"] = pc.runtime
        ev.data["cgroup_driver"] = pc.driver
        if pc.qos:
            ev.data["qos"] = pc.qos
        return


def read_kmsg(path: str = "/dev/kmsg") -> Iterator[str]:
    """All records the ring buffer still holds, without blocking (EAGAIN ends the read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            try:
                rec = os.read(fd, 8192)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno == errno.EPIPE:  # overwritten while reading: skip ahead
                    continue
                raise
            if not rec:
                return
            yield from rec.decode("utf-8", errors="replace").splitlines()
    finally:
        os.close(fd)


def read_system_log() -> tuple[list[str], str]:
    """/dev/kmsg, else ``journalctl -k``, else ``dmesg``; returns lines and the source used."""
    with contextlib.suppress(OSError):
        return list(read_kmsg()), "/dev/kmsg"
    for argv in (["journalctl", "-k", "-b", "-o", "short-monotonic", "--no-pager", "-q"], ["dmesg"]):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            cp = subprocess.run(argv, capture_output=True, timeout=10, check=False)
            if cp.returncode == 0:
                return cp.stdout.decode("utf-8", errors="replace").splitlines(), argv[0]
    return [], "none"
