"""Which process serves each FUSE mount, and when it started.

Method (verified on 6.x): the FUSE connection id is the superblock's dev_t, i.e. the mount's
``major:minor`` in mountinfo folded as ``major << 20 | minor``; it names
``/sys/fs/fuse/connections/<id>`` and appears as ``fuse_connection:`` in
``/proc/<pid>/fdinfo/<fd>`` of every fd a daemon holds on ``/dev/fuse``.  Older kernels lack
that fdinfo line; there we fall back to daemons whose command line names the mount point.
A connection with no holder is a mount whose daemon is gone: every request fails ENOTCONN.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FuseDaemon:
    pid: int
    comm: str
    cmdline: tuple[str, ...]
    start_time: float | None  # wall clock, seconds since the epoch
    connections: tuple[int, ...]

    def to_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "comm": self.comm, "cmdline": list(self.cmdline),
                "start_time": self.start_time, "connections": list(self.connections)}


@dataclass(slots=True)
class FuseInventory:
    daemons: list[FuseDaemon] = field(default_factory=list)
    by_connection: dict[int, list[FuseDaemon]] = field(default_factory=dict)
    unmapped: list[FuseDaemon] = field(default_factory=list)  # /dev/fuse holders without fdinfo id
    connections_waiting: dict[int, int] = field(default_factory=dict)
    boot_time: float | None = None


def boot_time(proc: str = "/proc") -> float | None:
    """``btime`` of /proc/stat: wall time of boot, to place jiffies and kmsg stamps."""
    try:
        with open(os.path.join(proc, "stat"), encoding="ascii") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def process_start(proc: str, pid: int, btime: float | None) -> float | None:
    try:
        with open(os.path.join(proc, str(pid), "stat"), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    rest = text[text.rfind(")") + 2:].split()
    if btime is None or len(rest) < 20:
        return None
    return btime + int(rest[19]) / os.sysconf("SC_CLK_TCK")


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError:
        return None


def _fuse_fds(proc: str, pid: str) -> list[str]:
    fd_dir = os.path.join(proc, pid, "fd")
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return []
    out = []
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(os.path.join(fd_dir, fd)) == "/dev/fuse":
                out.append(fd)
    return out


def read_connections(sys_dir: str = "/sys") -> dict[int, int]:
    """Connection id -> requests waiting (a growing count on a quiet node = a hung daemon)."""
    base = os.path.join(sys_dir, "fs", "fuse", "connections")
    out: dict[int, int] = {}
    try:
        names = os.listdir(base)
    except OSError:
        return out
    for name in names:
        if name.isdigit():
            w = _read(os.path.join(base, name, "waiting"))
            out[int(name)] = int(w.strip()) if w and w.strip().isdigit() else 0
    return out


def scan_daemons(proc: str = "/proc", sys_dir: str = "/sys") -> FuseInventory:
    """Every process with /dev/fuse open, keyed by the connections it serves."""
    inv = FuseInventory(boot_time=boot_time(proc), connections_waiting=read_connections(sys_dir))
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return inv
    for pid in pids:
        fds = _fuse_fds(proc, pid)
        if not fds:
            continue
        conns: list[int] = []
        for fd in fds:
            info = _read(os.path.join(proc, pid, "fdinfo", fd)) or ""
            for line in info.splitlines():
                if line.startswith("fuse_connection:"):
                    with contextlib.suppress(ValueError):
                        conns.append(int(line.split(":", 1)[1]))
        cmd = _read(os.path.join(proc, pid, "cmdline")) or ""
        comm = (_read(os.path.join(proc, pid, "comm")) or "").strip()
        d = FuseDaemon(int(pid), comm, tuple(a for a in cmd.split("\0") if a),
                       process_start(proc, int(pid), inv.boot_time), tuple(sorted(set(conns))))
        inv.daemons.append(d)
        if not conns:
            inv.unmapped.append(d)
        for c in d.connections:
            inv.by_connection.setdefault(c, []).append(d)
    return inv


def daemons_for(inv: FuseInventory, connection: int, mount_points: Iterable[str]) -> list[FuseDaemon]:
    """The daemons serving ``connection``; by fdinfo, else by a mount point on the command line."""
    found = inv.by_connection.get(connection)
    if found:
        return found
    points = set(mount_points)
    return [d for d in inv.unmapped if points.intersection(d.cmdline)]


def describe_start(d: FuseDaemon, boot: float | None, now: float | None = None, *, lang: str = "en") -> str:
    zh = lang == "zh"
    if d.start_time is None:
        return "启动时间未知" if zh else "start time unknown"
    now = time.time() if now is None else now
    ago = now - d.start_time
    txt = f"{ago:.0f} 秒前启动" if zh else f"started {ago:.0f}s ago"
    if boot is not None:
        after = d.start_time - boot
        txt += f"，开机后 {after:.0f} 秒" if zh else f" ({after:.0f}s after boot)"
    return txt
