"""One scan of the node: mount table + kubelet layout + timed probes + FUSE daemons + kernel log.

This is what ``node check`` prints, what ``node serve`` answers, and what the diagnoser asks
for: :func:`check_node` returns a :class:`NodeReport` whose findings each name the pod UID and
volume they break.  Every host path is a parameter so tests can point it at captured trees.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from podsleuth.errors import InputError
from podsleuth.node import bindtest, fuse, kmsg, layout, mountinfo, probe
from podsleuth.node.findings import Finding, make

log = logging.getLogger(__name__)

_ERRNO_KINDS = {
    errno.ENOTCONN: "mount-disconnected",
    errno.ESTALE: "mount-stale-handle",
    errno.EIO: "mount-io-error",
    errno.EACCES: "mount-access-denied",
    errno.EPERM: "mount-access-denied",
    errno.ENOENT: "mount-missing",
}


@dataclass(frozen=True, slots=True)
class CheckOptions:
    kubelet_dirs: tuple[str, ...] = (layout.DEFAULT_KUBELET_DIR,)
    proc: str = "/proc"
    sys: str = "/sys"
    mount_pid: str = "1"
    kernel_log: str | None = None  # None: /dev/kmsg, journal, dmesg; a file path
    kernel_lines: tuple[str, ...] | None = None  # already read (stdin, tests)
    read_kernel_log: bool = True
    since: float | None = None  # seconds back from now
    probe: bool = True
    probe_timeout: float = 2.0
    probe_workers: int | None = None
    bind_test: bool = False


@dataclass(slots=True)
class MountRecord:
    """A mount under a kubelet dir with everything learned about it (``/v1/pods/<uid>/mounts``)."""

    entry: mountinfo.MountEntry
    volume: layout.VolumePath | None
    layers: int = 1
    probe: probe.ProbeResult | None = None
    bind: bindtest.BindResult | None = None
    daemons: list[fuse.FuseDaemon] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        return {
            "path": e.mount_point, "source": e.source_display, "fs_type": e.fs_type, "root": e.root,
            "root_deleted": e.root_deleted, "device": f"{e.major}:{e.minor}", "mount_id": e.mount_id,
            "propagation": e.propagation, "layers": self.layers,
            "pod_uid": self.volume.pod_uid if self.volume else None,
            "volume": self.volume.to_dict() if self.volume else None,
            "probe": None if self.probe is None else {
                "status": self.probe.status, "errno": self.probe.errno_name, "error": self.probe.error,
                "elapsed": round(self.probe.elapsed, 4)},
            "bind_test": None if self.bind is None else {
                "status": self.bind.status, "errno": bindtest.errno_name(self.bind.errno),
                "error": self.bind.error},
            "fuse_connection": e.dev if e.is_fuse else None,
            "fuse_daemons": [d.to_dict() for d in self.daemons],
        }


@dataclass(slots=True)
class NodeReport:
    findings: list[Finding]
    mounts: list[MountRecord]
    kernel_events: list[kmsg.KernelEvent]
    summary: dict[str, Any]

    def for_pod(self, pod_uid: str) -> list[Finding]:
        return [f for f in self.findings if f.pod_uid == pod_uid]

    def pod_mounts(self, pod_uid: str) -> list[MountRecord]:
        return [m for m in self.mounts if m.volume is not None and m.volume.pod_uid == pod_uid]


def _mount_table(opts: CheckOptions) -> list[mountinfo.MountEntry]:
    try:
        return mountinfo.read_mountinfo(opts.proc, opts.mount_pid)
    except OSError as e:
        if opts.mount_pid == "self":
            raise InputError(f"cannot read mountinfo under {opts.proc}: {e.strerror}") from e
        log.warning("cannot read %s/%s/mountinfo (%s); using our own mount table",
                    opts.proc, opts.mount_pid, e.strerror)
        return mountinfo.read_mountinfo(opts.proc, "self")


def _where(rec: MountRecord) -> dict[str, Any]:
    v = rec.volume
    return {"path": rec.entry.mount_point, "pod_uid": v.pod_uid if v else None,
            "volume": v.volume if v else None}


def mount_findings(rec: MountRecord) -> list[Finding]:
    out: list[Finding] = []
    e, where = rec.entry, _where(rec)
    base = {"source": e.source_display, "fs_type": e.fs_type, "mount_id": e.mount_id,
            "role": rec.volume.role if rec.volume else None}
    if rec.volume and rec.volume.driver:
        base.update(driver=rec.volume.driver, volume_handle=rec.volume.volume_handle)
    if e.root_deleted:
        detail = (f"mount source {e.source_display} was deleted after the mount was made; new "
                  "containers cannot bind it (runc: 'no such file or directory')")
        zh = (f"挂载源 {e.source_display} 在挂载之后已被删除；新容器无法再 bind 它"
              "（runc：'no such file or directory'）")
        data = dict(base)
        if rec.bind is not None:
            data["bind_test"] = bindtest.errno_name(rec.bind.errno) or rec.bind.status
        out.append(make("mount-source-deleted", detail, zh=zh, data=data, **where))
    if rec.layers > 1:
        out.append(make("mount-stacked", f"{rec.layers} mounts stacked on this target (e.g. a daemon "
                        "re-mounted with -o nonempty over a stale mount); only the top one is visible",
                        zh=f"该目标上叠了 {rec.layers} 层挂载（例如守护进程带 -o nonempty 在失效的挂载上"
                        "重新挂载）；只有最上面一层可见",
                        data={**base, "layers": rec.layers}, **where))
    p = rec.probe
    if p is not None and p.status == "hung":
        out.append(make("mount-hung", f"probe got no answer: {p.error}", zh=f"探测没有应答：{p.error}",
                        data={**base, "elapsed": p.elapsed}, **where))
    elif p is not None and p.status == "error" and p.errno is not None:
        kind = _ERRNO_KINDS.get(p.errno, "mount-error")
        name = errno.errorcode.get(p.errno, p.errno)
        out.append(make(kind, f"{name}: {p.error}", zh=f"访问该挂载出错 {name}：{p.error}",
                        data={**base, "errno": errno.errorcode.get(p.errno)}, **where))
    b = rec.bind
    if b is not None and b.status in ("error", "hung"):
        out.append(make("mount-bind-failed", f"bind mount of this target fails: {b.error}",
                        zh=f"对该目标做 bind mount 失败：{b.error}",
                        data={**base, "errno": bindtest.errno_name(b.errno), "status": b.status}, **where))
    return out


def _fuse_findings(records: list[MountRecord], table: list[mountinfo.MountEntry],
                   opts: CheckOptions, events: list[kmsg.KernelEvent]) -> list[Finding]:
    fuse_recs = [r for r in records if r.entry.is_fuse]
    if not fuse_recs:
        return []
    inv = fuse.scan_daemons(opts.proc, opts.sys)
    points: dict[int, list[str]] = defaultdict(list)
    for e in table:
        if e.is_fuse:
            points[e.dev].append(e.mount_point)
    live: dict[tuple[str, str], list[tuple[mountinfo.MountEntry, fuse.FuseDaemon]]] = defaultdict(list)
    for e in table:
        if e.is_fuse:
            for d in fuse.daemons_for(inv, e.dev, points[e.dev]):
                live[(e.fs_type, e.source)].append((e, d))
    ooms = [ev for ev in events if ev.kind == "oom-kill"]
    out: list[Finding] = []
    for r in fuse_recs:
        e = r.entry
        r.daemons = fuse.daemons_for(inv, e.dev, points[e.dev])
        if r.daemons:
            continue
        dead = r.probe is not None and r.probe.errno == errno.ENOTCONN
        data: dict[str, Any] = {"connection": e.dev, "fs_type": e.fs_type, "source": e.source_display,
                                "waiting": inv.connections_waiting.get(e.dev)}
        others = [(oe, d) for oe, d in live[(e.fs_type, e.source)] if oe.dev != e.dev]
        victim = next((ev for ev in reversed(ooms) if str(ev.data.get("comm", "")) and (
            str(ev.data.get("comm")) in e.fs_type or str(ev.data.get("comm")) in e.source
            or any(str(ev.data.get("comm")) == d.comm for _, d in others))), None)
        if victim is not None:
            data["oom_kill"] = victim.to_dict()
        where = _where(r)
        if others:
            oe, d = others[0]
            data.update(new_connection=oe.dev, new_mount_point=oe.mount_point, daemon_start=d.start_time)
            out.append(make(
                "fuse-daemon-restarted",
                f"the {e.fs_type} daemon was restarted ({fuse.describe_start(d, inv.boot_time)}) and "
                f"re-mounted {oe.mount_point!r}; this mount still uses the dead connection {e.dev}: "
                "restart the pod",
                zh=f"{e.fs_type} 守护进程已重启（{fuse.describe_start(d, inv.boot_time, lang='zh')}）"
                f"并重新挂载了 {oe.mount_point!r}；这个挂载仍在使用已失效的连接 {e.dev}：请重启该 Pod",
                process=d.to_dict(), data=data, **where))
        else:
            detail = f"no process holds FUSE connection {e.dev}"
            zh = f"没有进程持有 FUSE 连接 {e.dev}"
            sev = "error" if dead or inv.daemons else "warning"
            if not dead and not inv.daemons:
                detail += " (no /dev/fuse holder visible at all: run with hostPID?)"
                zh += "（完全看不到持有 /dev/fuse 的进程：是否需要以 hostPID 运行？）"
            out.append(make("fuse-daemon-missing", detail, zh=zh, severity=sev, data=data, **where))
    return out


def kernel_events(opts: CheckOptions, now: float) -> tuple[list[kmsg.KernelEvent], str]:
    if opts.kernel_lines is not None:
        lines, source = list(opts.kernel_lines), "input"
    elif opts.kernel_log is not None:
        try:
            with open(opts.kernel_log, encoding="utf-8", errors="replace") as f:
                lines, source = f.read().splitlines(), opts.kernel_log
        except OSError as e:
            raise InputError(f"cannot read --kernel-log {opts.kernel_log}: {e.strerror}") from e
    elif opts.read_kernel_log:
        lines, source = kmsg.read_system_log()
    else:
        return [], "off"
    boot = (now - time.clock_gettime(time.CLOCK_MONOTONIC)) if opts.proc == "/proc" \
        else fuse.boot_time(opts.proc)
    events = kmsg.parse_lines(lines, boot_time=boot)
    if opts.since is not None:
        cutoff = now - opts.since
        events = [ev for ev in events if ev.time is None or ev.time >= cutoff]
    return events, source


def _kernel_findings(events: Iterable[kmsg.KernelEvent]) -> list[Finding]:
    out = []
    for ev in events:
        d = ev.data
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ev.time)) if ev.time else "?"
        data = {**d, "time": ev.time, "monotonic": ev.monotonic, "message": ev.message}
        if ev.kind == "oom-kill":
            cg = d.get("cgroup") or "unknown cgroup"
            scope = d.get("constraint") or d.get("scope") or ""
            out.append(make("oom-kill", f"kernel OOM killer killed pid {d.get('pid')} ({d.get('comm')}) "
                            f"in {cg} {scope} at {when}".replace("  ", " "),
                            zh=f"内核 OOM killer 于 {when} 在 {cg} {scope} 中杀死了 pid {d.get('pid')}"
                            f"（{d.get('comm')}）".replace("  ", " "),
                            pod_uid=d.get("pod_uid") if isinstance(d.get("pod_uid"), str) else None,
                            process={"pid": d.get("pid"), "comm": d.get("comm")}, data=data))
        elif ev.kind == "nfs-recovered":
            continue
        else:
            zh = f"内核日志：“{ev.message}”（{when}）"
            out.append(make(ev.kind, f"{ev.message} ({when})", zh=zh, data=data))
    return out


def check_node(opts: CheckOptions | None = None) -> NodeReport:
    """Scan the node once; never blocks longer than the work plus about one probe timeout."""
    opts = opts or CheckOptions()
    t0, now = time.monotonic(), time.time()
    findings: list[Finding] = []
    kdirs = [d.rstrip("/") or "/" for d in opts.kubelet_dirs]
    for d in kdirs:
        if not os.path.isdir(d):
            findings.append(make("kubelet-dir-missing", f"kubelet dir {d} does not exist on this node",
                                 zh=f"本节点上不存在 kubelet 目录 {d}", path=d))
    table = _mount_table(opts)
    by_target: dict[str, list[mountinfo.MountEntry]] = defaultdict(list)
    for e in table:
        if mountinfo.under(e.mount_point, kdirs):
            by_target[e.mount_point].append(e)
    records = []
    for target, entries in by_target.items():
        vp = layout.classify(target, kdirs)
        records.append(MountRecord(entries[-1], layout.enrich(target, vp) if vp else None,
                                   layers=len(entries)))
    if opts.probe and records:
        results = probe.probe_paths([r.entry.mount_point for r in records], timeout=opts.probe_timeout,
                                    workers=opts.probe_workers,
                                    devices={r.entry.mount_point: r.entry.dev for r in records})
        for r in records:
            r.probe = results.get(r.entry.mount_point)
    if opts.bind_test:
        todo = [r for r in records if r.probe is None or r.probe.status != "hung"]
        with ThreadPoolExecutor(max_workers=4) as pool:
            for r, b in zip(todo, pool.map(lambda r: bindtest.bind_test(
                    r.entry.mount_point, timeout=opts.probe_timeout), todo), strict=True):
                r.bind = b
    events, source = kernel_events(opts, now)
    if source == "none":
        findings.append(make("kernel-log-unavailable", "no kernel log: /dev/kmsg, journalctl and dmesg "
                             "all failed; OOM kills cannot be checked",
                             zh="读不到内核日志：/dev/kmsg、journalctl 和 dmesg 都失败了；无法检查 OOM kill"))
    for r in records:
        findings.extend(mount_findings(r))
    findings.extend(_fuse_findings(records, table, opts, events))
    findings.extend(_kernel_findings(events))
    summary = {
        "mounts": len(table), "kubelet_mounts": len(records),
        "hung": sum(1 for r in records if r.probe is not None and r.probe.status == "hung"),
        "kernel_log": source, "kernel_events": len(events), "elapsed_s": round(time.monotonic() - t0, 3),
    }
    return NodeReport(findings, records, events, summary)

