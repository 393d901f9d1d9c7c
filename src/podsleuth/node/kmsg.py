"""Kernel log events that break pods: OOM kills, hung tasks, NFS timeouts, I/O errors.

Every OOM wording of the signature catalogue is understood: the legacy two-liner ``Kill process
N (comm) score S or sacrifice child`` / ``Killed process N (comm) ...`` (3.x/4.x), the modern
``Out of memory: Killed process N (comm) total-vm:...`` and its ``Memory cgroup out of memory``
variant, the one-line ``oom-kill:constraint=...,task_memcg=...,task=...,pid=...`` summary (4.19+),
and cgroup v1's ``Task in <cg> killed as a result of limit of <cg>``.  Lines about one kill are
merged by pid so each kill is one event with its cgroup and pod UID.

Inputs: ``/dev/kmsg`` records (``prio,seq,usec,flags;text``), ``dmesg`` lines
(``[  123.456789] text``), ``journalctl -k -o short-monotonic`` lines, or bare text.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

_KMSG = re.compile(r"^(\d+),(\d+),(\d+),[^;]*;(.*)$")
_BRACKET = re.compile(r"^(?:[^\[]*?)\[\s*(\d+)\.(\d+)\]\s?(.*)$")
_JOURNAL_HOST = re.compile(r"^\S+ kernel: ?(.*)$")

_LEGACY = re.compile(
    r"(?:Out of memory|Memory cgroup out of memory): Kill process (\d+) \((.*?)\) score (\d+)")
_KILLED = re.compile(
    r"(?:(Out of memory|Memory cgroup out of memory)(?: \(oom_kill_allocating_task\))?: )?"
    r"Killed process (\d+) \((.*?)\),?(?: UID:? ?(\d+),?)? total-vm:(\d+)kB, anon-rss:(\d+)kB")
_SUMMARY = re.compile(r"oom-kill:(.*)$")
_TASK_IN = re.compile(r"Task in (\S+) killed as a result of limit of (\S+)")
_INVOKED = re.compile(r"^(.*?) invoked oom-killer:")
_HUNG = re.compile(r"INFO: task (.+?):(\d+) blocked for more than (\d+) seconds")
_NFS = re.compile(r"nfs: server (\S+) not responding")
_NFS_OK = re.compile(r"nfs: server (\S+) OK")
_IOERR = re.compile(r"(?:I/O error, dev (\S+?),|Buffer I/O error on dev(?:ice)? (\S+?),|"
                    r"EXT4-fs error \(device (\S+?)\)|XFS \((\S+?)\): .*I/O error)")
_POD_UID = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")


@dataclass(frozen=True, slots=True)
class LogLine:
    text: str
    monotonic: float | None  # seconds since boot, when the source says


@dataclass(slots=True)
class KernelEvent:
    kind: str  # oom-kill | hung-task | nfs-not-responding | io-error
    message: str
    monotonic: float | None
    time: float | None = None  # wall clock; monotonic + boot time
    data: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "message": self.message, "monotonic": self.monotonic,
                "time": self.time, "data": self.data}


def pod_uid_from_cgroup(cgroup: str) -> str | None:
    """``pod<uid>`` (cgroupfs) or ``pod<uid_with_underscores>.slice`` (systemd) -> uid."""
    m = _POD_UID.search(cgroup)
    return m.group(1).replace("_", "-") if m else None


def split_line(raw: str) -> LogLine | None:
    """One input line in any supported format; kmsg continuation lines (`` KEY=v``) -> None."""
    line = raw.rstrip("\n")
    if not line or (line.startswith(" ") and "=" in line and _KMSG.match(line) is None):
        return None
    m = _KMSG.match(line)
    if m:
        return LogLine(m.group(4), int(m.group(3)) / 1e6)
    m = _BRACKET.match(line)
    if m:
        text = m.group(3)
        j = _JOURNAL_HOST.match(text)
        return LogLine(j.group(1) if j else text, float(f"{m.group(1)}.{m.group(2)}"))
    j = re.match(r"^\w{3} [ \d]\d [\d:]{8} \S+ kernel: ?(.*)$", line)
    return LogLine(j.group(1) if j else line.strip(), None)


def parse_lines(lines: Iterable[str], *, boot_time: float | None = None) -> list[KernelEvent]:
    """Kernel events in order; OOM lines about the same pid merged into one ``oom-kill``."""
    events: list[KernelEvent] = []
    ooms: dict[int, KernelEvent] = {}
    pending_cgroup: dict[str, object] = {}
    trigger: str | None = None

    def oom(pid: int, ll: LogLine) -> KernelEvent:
        ev = ooms.get(pid)
        if ev is None:
            ev = KernelEvent("oom-kill", ll.text, ll.monotonic, data={"pid": pid})
            ooms[pid] = ev
            events.append(ev)
        if pending_cgroup:
            ev.data.update(pending_cgroup)
            pending_cgroup.clear()
        if trigger and "trigger" not in ev.data:
            ev.data["trigger"] = trigger
        return ev

    for raw in lines:
        ll = split_line(raw)
        if ll is None:
            continue
        t = ll.text
        if m := _INVOKED.search(t):
            trigger = m.group(1).strip()
            ooms.clear()  # a new OOM episode: a pid seen before is another process now
        elif m := _TASK_IN.search(t):
            pending_cgroup.update({"cgroup": m.group(1), "limit_cgroup": m.group(2)})
        elif m := _SUMMARY.search(t):
            kv = dict(p.partition("=")[::2] for p in m.group(1).split(","))
            with contextlib.suppress(KeyError, ValueError):
                ev = oom(int(kv["pid"]), ll)
                ev.data.update({"comm": kv.get("task"), "constraint": kv.get("constraint"),
                                "cgroup": kv.get("task_memcg") or ev.data.get("cgroup"),
                                "limit_cgroup": kv.get("oom_memcg") or ev.data.get("limit_cgroup")})
                if kv.get("uid"):
                    ev.data["uid"] = int(kv["uid"])
        elif m := _LEGACY.search(t):
            ev = oom(int(m.group(1)), ll)
            ev.data.update({"comm": m.group(2), "score": int(m.group(3)), "format": "legacy"})
            ev.data.setdefault("scope", "memcg" if t.startswith("Memory cgroup") else "global")
        elif m := _KILLED.search(t):
            ev = oom(int(m.group(2)), ll)
            ev.message = t
            ev.data.update({"comm": m.group(3), "total_vm_kb": int(m.group(5)),
                            "anon_rss_kb": int(m.group(6))})
            if m.group(1):
                ev.data["scope"] = "memcg" if m.group(1).startswith("Memory") else "global"
            uid_m = m.group(4) or (u.group(1) if (u := re.search(r"UID:(\d+)", t)) else None)
            if uid_m:
                ev.data["uid"] = int(uid_m)
            ev.data.setdefault("format", "modern")
            trigger = None
        elif m := _HUNG.search(t):
            events.append(KernelEvent("hung-task", t, ll.monotonic, data={
                "comm": m.group(1), "pid": int(m.group(2)), "blocked_s": int(m.group(3))}))
        elif m := _NFS.search(t):
            events.append(KernelEvent("nfs-not-responding", t, ll.monotonic, data={"server": m.group(1)}))
        elif m := _NFS_OK.search(t):
            events.append(KernelEvent("nfs-recovered", t, ll.monotonic, data={"server": m.group(1)}))
        elif m := _IOERR.search(t):
            dev = next(g for g in m.groups() if g)
            events.append(KernelEvent("io-error", t, ll.monotonic, data={"device": dev}))
    for ev in events:
        cg = ev.data.get("cgroup")
        if isinstance(cg, str):
            uid = pod_uid_from_cgroup(cg)
            if uid:
                ev.data["pod_uid"] = uid
        if ev.monotonic is not None and boot_time is not None:
            ev.time = boot_time + ev.monotonic
    return events


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
