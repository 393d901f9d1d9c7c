"""Reproduce the founding incident on this machine with real kernel objects, then tear it all down.

Why real: the diagnoser's claims (an OOM-killed FUSE daemon, a restart over the stale mount, the
pod's bind left on a dead connection, runc's exact wording) are only trustworthy if they were
checked against the kernel and runtime they describe.  :func:`seeded_incident` builds the chain
the way a node gets there -- ceph-fuse style staging mount in a memory-limited plugin cgroup, a
kubelet pod volume bound from a subvolume of it, a kernel OOM kill, ceph-csi's fuse recovery
(lazy unmount + a new daemon mounted ``-o nonempty`` at the same place), and a container start
with ``runc`` -- and hands back every fact the rest of the pipeline needs.  ``variant="deleted"``
(the default) then re-publishes the pod path from the new daemon and has that live daemon
replace the subvolume directory behind the kernel, leaving the write-up's literal state (stat
works, root ``//deleted``, binds ENOENT, runc's ``via /proc/self/fd`` error); ``"restart"`` leaves
the pod's bind on the dead connection (ENOTCONN).  docs/lab.md has the kernel details.  Leaving the block
(normally, by exception, Ctrl-C or SIGTERM) removes every process, mount and cgroup it made.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Literal

from podsleuth.errors import PodsleuthError, UsageError
from podsleuth.lab import seed_mounts as sm
from podsleuth.lab import seed_runc
from podsleuth.lab.seed_cgroup import MEMCG_ROOT, MemoryCgroup
from podsleuth.node import kmsg

log = logging.getLogger(__name__)

CSI_DRIVER = "cephfs.csi.ceph.com"
MEMORY_LIMIT = 64 << 20
Variant = Literal["restart", "deleted"]


class LabPrerequisiteError(UsageError):
    """This machine cannot run the lab; the message names what to install or enable."""


class LabError(PodsleuthError):
    """The kernel or runtime did not behave as the reproduction needs (e.g. no OOM kill happened)."""


@dataclass(frozen=True)
class SeededIncident:
    workdir: str
    kubelet_dir: str
    pod_uid: str
    namespace: str
    pod_name: str
    pv_name: str
    csi_driver: str
    pod_mount_path: str
    staging_path: str
    runtime_error: str  # runc's genuine message (the msg="..." of its stderr)
    runc_version: str
    oom_kill: dict[str, Any]  # what the kernel logged about the daemon's death
    old_daemon_pid: int
    new_daemon_pid: int
    timeline: list[tuple[str, str]]  # (RFC3339, what happened), in order
    variant: str = "restart"
    runtime_stderr: str = ""
    volume_handle: str = ""
    subvolume_path: str = ""
    node_name: str = ""
    plugin_pod_uid: str = ""
    cgroup: str = ""
    pod_mount_errno: str = ""
    started: float = 0.0  # epoch seconds when seeding began (for `--since`)
    extra: dict[str, Any] = field(default_factory=dict)


def _rfc3339(t: float | None = None) -> str:
    dt = datetime.fromtimestamp(time.time() if t is None else t, UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_prerequisites(*, runc: str = "runc", dev_fuse: str = "/dev/fuse", memcg: str = MEMCG_ROOT) -> None:
    """Fail fast with one line naming the missing piece, before anything is mounted."""
    if not sys.platform.startswith("linux"):
        raise LabPrerequisiteError("lab seed-incident needs Linux (real mounts, FUSE and cgroups)")
    if shutil.which(runc) is None:
        raise LabPrerequisiteError(f"runc not found ({runc}): install it (Debian: apt install runc)")
    for tool in ("mount", "umount"):
        if shutil.which(tool) is None:
            raise LabPrerequisiteError(f"{tool} not found: install util-linux (Debian: apt install mount)")
    try:
        import fuse  # noqa: F401  (fusepy loads libfuse.so.2 at import)
    except (ImportError, OSError) as e:
        raise LabPrerequisiteError(f"fusepy unusable ({e}): pip install fusepy, apt install libfuse2") from e
    if not os.path.exists(dev_fuse):
        raise LabPrerequisiteError(f"no {dev_fuse}: load the FUSE module (modprobe fuse)")
    if not os.path.exists(os.path.join(memcg, "memory.limit_in_bytes")):
        raise LabPrerequisiteError(f"no cgroup v1 memory controller at {memcg}: boot with "
                                   "systemd.unified_cgroup_hierarchy=0 (cgroup v2 is not supported yet)")
    if not os.path.exists("/usr/bin/true"):
        raise LabPrerequisiteError("/usr/bin/true missing: the lab container borrows the host's /usr")
    if os.geteuid() != 0:
        raise LabPrerequisiteError("lab seed-incident needs root (it makes mounts, FUSE daemons and "
                                   "cgroups): run it with sudo")


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM/SIGHUP become KeyboardInterrupt so the ``finally`` teardown runs for them too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


Step = Callable[..., None]
"""``step(english, chinese)``: one step of the seeding, said in the run's language."""


def _find_oom(pid: int, cgroup: MemoryCgroup, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        boot = time.time() - time.clock_gettime(time.CLOCK_MONOTONIC)
        with contextlib.suppress(OSError):
            for ev in reversed(kmsg.parse_lines(kmsg.read_kmsg(), boot_time=boot)):
                if ev.kind == "oom-kill" and ev.data.get("pid") == pid:
                    return {**ev.data, "time": _rfc3339(ev.time) if ev.time else None, "epoch": ev.time,
                            "monotonic": ev.monotonic, "message": ev.message, "source": "/dev/kmsg"}
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if cgroup.oom_kills() > 0:
        return {"pid": pid, "cgroup": cgroup.name, "time": _rfc3339(), "source": "memory.oom_control"}
    raise LabError(f"daemon pid {pid} died but the kernel logged no OOM kill for it")


def _deleted_root(staging: str, subvolume: str, target: str, base: str, conn: int,
                  step: Step) -> tuple[str, str]:
    """The founding write-up's literal state on the live new daemon (docs/lab.md): re-publish the
    pod path from the new mount, then the daemon replaces the subvolume directory under it."""
    with open(os.path.join(staging + subvolume, "home.json"), "w", encoding="utf-8") as f:
        f.write('{"title": "home"}\n')
    sm.lazy_umount(target)
    sm.bind(staging + subvolume, target)
    step(f"kubelet retry: NodePublish bound globalmount{subvolume} of the new daemon onto the pod path again",
         f"kubelet 重试：NodePublish 把新守护进程的 globalmount{subvolume} 再次 bind 到 Pod 路径上")
    root = sm.replace_behind_kernel(staging, subvolume, target)
    if not root.endswith("//deleted"):
        raise LabError(f"the kernel kept the pod mount's root ({root!r}): no //deleted")
    step(f"the new daemon replaced {subvolume} (removed, looked up: ENOENT, recreated) behind the kernel: "
         f"pod mount root is {root} on live connection {conn}",
         f"新守护进程在内核背后替换了 {subvolume}（删除、lookup 得到 ENOENT、重建）：Pod 挂载的 root 变成"
         f" {root}，位于仍存活的连接 {conn} 上")
    err_name = sm.errno_name(sm.stat_errno(target))
    bind_err = sm.bind_errno(target, os.path.join(base, "bind-test"))
    step(f"pod volume path: stat {err_name}; mount --bind of it: {bind_err}",
         f"Pod 卷路径：stat 结果 {err_name}；对它 mount --bind：{bind_err}")
    return err_name, bind_err


@contextlib.contextmanager
def seeded_incident(*, workdir: str | None = None, variant: Variant = "deleted",
                    progress: Callable[[str], None] = lambda _msg: None,
                    runc: str = "runc", lang: str = "en") -> Iterator[SeededIncident]:
    """Everything exists inside the ``with`` block; all of it is gone after it (see module doc).
    ``progress`` hears each step in ``lang`` (en, zh); the timeline keeps the English."""
    if variant not in ("restart", "deleted"):
        raise UsageError(f"unknown variant {variant!r}: restart or deleted")
    check_prerequisites(runc=runc)
    started = time.time()
    base = tempfile.mkdtemp(prefix="podsleuth-seed-", dir=workdir)
    timeline: list[tuple[str, str]] = []

    def say(en: str, zh: str | None = None) -> None:
        progress(zh if lang == "zh" and zh else en)

    def step(msg: str, zh: str | None = None) -> None:
        timeline.append((_rfc3339(), msg))
        say(msg, zh)

    daemons: list[subprocess.Popen[bytes]] = []
    conns: list[int] = []
    cgroup: MemoryCgroup | None = None
    try:
        with _signals_raise():
            kubelet = os.path.join(base, "kubelet")
            pod_uid, plugin_uid = str(uuid.uuid4()), str(uuid.uuid4())
            pv = "dashboard-folder"
            handle = f"0001-0009-rook-ceph-0000000000000001-{uuid.uuid4()}"
            subvolume = f"/volumes/csi/csi-vol-{uuid.uuid4()}/{uuid.uuid4()}"
            digest = hashlib.sha256(handle.encode()).hexdigest()
            staging = os.path.join(kubelet, "plugins", "kubernetes.io", "csi", CSI_DRIVER, digest,
                                   "globalmount")
            vdir = os.path.join(kubelet, "pods", pod_uid, "volumes", "kubernetes.io~csi", pv)
            target = os.path.join(vdir, "mount")
            os.makedirs(staging)
            os.makedirs(target)
            node = os.uname().nodename
            with open(os.path.join(vdir, "vol_data.json"), "w", encoding="utf-8") as f:
                json.dump({"attachmentID": "csi-" + hashlib.sha256(f"{handle}{CSI_DRIVER}{node}".encode())
                           .hexdigest(), "driverName": CSI_DRIVER, "nodeName": node, "specVolID": pv,
                           "volumeHandle": handle, "volumeLifecycleMode": "Persistent"}, f)
            step(f"kubelet tree at {kubelet}: pod {pod_uid}, CSI volume {pv}",
                 f"kubelet 目录树 {kubelet}：Pod {pod_uid}，CSI 卷 {pv}")
            cgroup = MemoryCgroup(plugin_uid, MEMORY_LIMIT)
            step(f"memory cgroup {cgroup.name} (limit {MEMORY_LIMIT >> 20} MiB) for the CSI plugin's daemon",
                 f"为 CSI 插件的守护进程建立 memory cgroup {cgroup.name}（上限 {MEMORY_LIMIT >> 20} MiB）")
            old, dev = sm.start_daemon(staging, fsname="ceph-fuse", subtype="ceph-fuse", enter=cgroup.add)
            daemons.append(old)
            conns.append(dev)
            step(f"FUSE daemon pid {old.pid} mounted the staging path (connection {dev})",
                 f"FUSE 守护进程 pid {old.pid} 挂载了 staging 路径（连接 {dev}）")
            os.makedirs(staging + subvolume)
            with open(os.path.join(staging + subvolume, "home.json"), "w", encoding="utf-8") as f:
                f.write('{"title": "home"}\n')
            sm.bind(staging + subvolume, target)
            step(f"NodePublish: bind-mounted globalmount{subvolume} onto the pod volume path",
                 f"NodePublish：把 globalmount{subvolume} bind 到 Pod 卷路径上")
            bundle = os.path.join(base, "bundle")
            state = os.path.join(base, "runc-state")
            seed_runc.make_bundle(bundle, target, runc=runc)
            healthy = seed_runc.create(bundle, state, runc)
            if not healthy.ok:
                raise LabError(f"runc fails even with a healthy volume (bundle problem): {healthy.error}")
            step("runc creates a container with the healthy volume bound at /data",
                 "卷正常时 runc 能创建容器（卷 bind 在 /data）")
            with contextlib.suppress(OSError), open(os.path.join(staging, sm.HOG_FILE), "wb") as hog:
                hog.write(b"go")
            step(f"daemon pid {old.pid} starts allocating memory inside its cgroup",
                 f"守护进程 pid {old.pid} 开始在它的 cgroup 里分配内存")
            try:
                old.wait(timeout=20)
            except subprocess.TimeoutExpired as e:
                raise LabError(f"the kernel did not OOM-kill daemon pid {old.pid} within 20s") from e
            oom = _find_oom(old.pid, cgroup)
            timeline.append((oom.get("time") or _rfc3339(), f"kernel OOM killer killed pid {old.pid} "
                             f"({oom.get('comm')}) in {oom.get('cgroup')}"))
            say(timeline[-1][1],
                f"内核 OOM killer 在 {oom.get('cgroup')} 中杀死了 pid {old.pid}（{oom.get('comm')}）")
            sm.lazy_umount(staging)
            step("CSI fuse recovery: dead staging mount lazily unmounted (umount -l)",
                 "CSI 的 fuse 恢复：已失效的 staging 挂载被延迟卸载（umount -l）")
            new, dev2 = sm.start_daemon(staging, fsname="ceph-fuse", subtype="ceph-fuse",
                                        extra_opts="nonempty", enter=cgroup.add)
            daemons.append(new)
            conns.append(dev2)
            os.makedirs(staging + subvolume, exist_ok=True)
            step(f"new FUSE daemon pid {new.pid} mounted -o nonempty at the same staging path "
                 f"(connection {dev2}); {subvolume} exists again",
                 f"新的 FUSE 守护进程 pid {new.pid} 带 -o nonempty 挂载在同一个 staging 路径上"
                 f"（连接 {dev2}）；{subvolume} 重新出现")
            bind_err = ""
            if variant == "restart":
                err_name = sm.wait_errno(target, errno.ENOTCONN)
                step(f"pod volume path: {err_name} (still on dead connection {dev})",
                     f"Pod 卷路径：{err_name}（仍在已失效的连接 {dev} 上）")
            else:
                err_name, bind_err = _deleted_root(staging, subvolume, target, base, dev2, step)
            result = seed_runc.create(bundle, state, runc)
            if result.ok:
                raise LabError("runc started the container although the pod volume is broken")
            # runc's own error already starts "runc create failed: ..." (1.1+): never say it twice
            step(result.error if result.error.startswith("runc ") else f"runc create failed: {result.error}")
            seeded = SeededIncident(
                workdir=base, kubelet_dir=kubelet, pod_uid=pod_uid, namespace="monitoring",
                pod_name=f"dashboard-7c9f8d6b5-{secrets.token_hex(3)[:5]}", pv_name=pv, csi_driver=CSI_DRIVER,
                pod_mount_path=target, staging_path=staging, runtime_error=result.error,
                runc_version=seed_runc.version(runc), oom_kill=oom, old_daemon_pid=old.pid,
                new_daemon_pid=new.pid, timeline=timeline, variant=variant, runtime_stderr=result.stderr,
                volume_handle=handle, subvolume_path=subvolume, node_name=node, plugin_pod_uid=plugin_uid,
                cgroup=cgroup.name, pod_mount_errno=err_name, started=started,
                extra={"seed_seconds": round(time.time() - started, 2), "old_connection": dev,
                       "mount_bind_error": bind_err,
                       "new_connection": dev2, "memory_limit_bytes": MEMORY_LIMIT})
            yield seeded
    finally:
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
        try:
            problems = sm.teardown(base, daemons, conns)
            if cgroup is not None:
                try:
                    cgroup.remove()
                except OSError as e:
                    problems.append(f"cgroup {cgroup.path} not removed: {e}")
            say("cleaned up: daemons killed, mounts and cgroup removed",
                "已清理：守护进程已杀掉，挂载和 cgroup 已删除")
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        if problems:
            log.warning("lab cleanup incomplete: %s", "; ".join(problems))
            if sys.exc_info()[0] is None:
                raise LabError("lab cleanup incomplete: " + "; ".join(problems))
