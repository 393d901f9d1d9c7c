"""FUSE daemons and mounts of the seeded incident, and their guaranteed teardown.

Teardown order matters: daemons die first (a live daemon that stopped answering would block
``umount``), stuck connections are aborted through fusectl, then mounts go deepest first with a
lazy unmount as last resort; the tree is removed only once nothing is mounted under it, because
``rmtree`` through a live bind mount would delete the bind's source.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from podsleuth.node import mountinfo

FUSECTL = "/sys/fs/fuse/connections"
HOG_FILE = ".podsleuth-memory-hog"
CONTROL_FILE = ".podsleuth-control"


def run(*argv: str, timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


def mounts_under(root: str) -> list[mountinfo.MountEntry]:
    return [e for e in mountinfo.read_mountinfo("/proc", "self") if mountinfo.under(e.mount_point, [root])]


def start_daemon(mount_point: str, *, fsname: str, subtype: str, extra_opts: str = "",
                 enter: Callable[[int], None] | None = None,
                 timeout: float = 15.0) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``podsleuth.lab.fusefs`` on ``mount_point``; returns the process and its FUSE connection.

    ``enter`` puts the pid into the plugin's cgroup before the daemon has mounted anything, so
    everything it allocates later is charged there.
    """
    before = {e.mount_id for e in mounts_under(mount_point)}
    opts = ",".join(o for o in (f"subtype={subtype}", extra_opts) if o)
    proc = subprocess.Popen([sys.executable, "-m", "podsleuth.lab.fusefs", mount_point, "--fsname", fsname,
                             "--memory-hog-file", HOG_FILE, "--control-file", CONTROL_FILE, "-o", opts],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if enter is not None:
            enter(proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = [e for e in mounts_under(mount_point)
                   if e.mount_id not in before and e.mount_point == mount_point and e.is_fuse]
            if new:
                return proc, new[-1].dev
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
                raise OSError(f"fusefs exited with {proc.returncode} before mounting: {err[-300:]}")
            time.sleep(0.02)
        raise OSError(f"fusefs did not mount {mount_point} within {timeout:.0f}s")
    except BaseException:
        kill(proc)
        raise


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    if proc.stderr is not None:
        proc.stderr.close()


def bind(source: str, target: str) -> None:
    cp = run("mount", "--bind", source, target)
    if cp.returncode != 0:
        raise OSError(f"mount --bind {source} {target}: {cp.stderr.strip()}")


def lazy_umount(path: str) -> None:
    cp = run("umount", "-l", path)
    if cp.returncode != 0:
        raise OSError(f"umount -l {path}: {cp.stderr.strip()}")


def stat_errno(path: str, timeout: float = 2.0) -> int | None:
    """``stat`` in a thread so a hung mount cannot hang us; None = it worked, -1 = no answer."""
    box: list[int | None] = []

    def worker() -> None:
        try:
            os.stat(path)
            box.append(None)
        except OSError as e:
            box.append(e.errno)

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else -1


def errno_name(code: int | None) -> str:
    return "ok" if code is None else "hung" if code == -1 else errno.errorcode.get(code, str(code))


def wait_errno(path: str, want: int, timeout: float = 5.0) -> str:
    """Until ``stat`` (what runc does first) fails with ``want``: FUSE answers from cached
    attributes and entries for about a second (libfuse's attr/entry timeouts)."""
    deadline = time.monotonic() + timeout
    got: int | None = None
    while time.monotonic() < deadline:
        got = stat_errno(path)
        if got == want:
            break
        time.sleep(0.1)
    return errno_name(got)


def _control(mount_point: str, command: str) -> None:
    fd = os.open(os.path.join(mount_point, CONTROL_FILE), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, command.encode())
    finally:
        os.close(fd)


def _root(mount_point: str) -> str:
    return next((e.root for e in mounts_under(mount_point) if e.mount_point == mount_point), "")


def replace_behind_kernel(mount_point: str, path: str, bound_at: str, timeout: float = 5.0) -> str:
    """The live daemon removes ``path`` without telling the kernel, lookups see it gone, then the
    daemon recreates it; returns the mountinfo root of the bind at ``bound_at`` afterwards.

    The kernel revalidates its cached dentry once libfuse's entry timeout (1 s) has passed; the
    daemon's ENOENT makes it drop the dentry (``d_invalidate``), and the bind mount rooted there
    keeps the unhashed dentry: mountinfo shows ``path//deleted``.  The daemon still answers
    ``getattr`` for the old node (libfuse maps it to the same path, which exists again), so
    ``stat`` works, while ``mount --bind`` of it fails with ENOENT.  A later lookup of the same
    name through the staging mount would splice the old dentry back (libfuse returns the same
    node id): nothing in the lab looks there afterwards.
    """
    _control(mount_point, f"remove {path}")
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not _root(bound_at).endswith("//deleted"):
            stat_errno(mount_point + path)  # ENOENT from getattr at once, the dentry drop after ~1 s
            time.sleep(0.05)
    finally:
        _control(mount_point, f"recreate {path}")
    return _root(bound_at)


def bind_errno(source: str, scratch: str) -> str:
    """Try the founding engineer's test, ``mount --bind source scratch``; its errno name."""
    os.makedirs(scratch, exist_ok=True)
    cp = run("mount", "--bind", source, scratch)
    if cp.returncode == 0:
        run("umount", scratch)
        return "ok"
    text = cp.stderr.lower()
    return "ENOENT" if "no such file or directory" in text else cp.stderr.strip()[-200:] or "error"


def abort_connection(dev: int) -> None:
    with contextlib.suppress(OSError), open(f"{FUSECTL}/{dev}/abort", "w", encoding="ascii") as f:
        f.write("1")


def teardown(base: str, daemons: list[subprocess.Popen[bytes]], connections: list[int]) -> list[str]:
    """Kill, abort, unmount, remove; returns what could not be cleaned (empty when all went)."""
    problems: list[str] = []
    for dev in connections:
        abort_connection(dev)
    for proc in daemons:
        kill(proc)
        if proc.poll() is None:
            problems.append(f"daemon pid {proc.pid} still alive")
    for _ in range(5):
        left = mounts_under(base)
        if not left:
            break
        for e in sorted(left, key=lambda e: -e.mount_point.count("/")):
            if e.is_fuse:
                abort_connection(e.dev)
            if run("umount", e.mount_point).returncode != 0:
                run("umount", "-l", e.mount_point)
    left = mounts_under(base)
    if left:
        problems.append(f"{len(left)} mounts left under {base}; not removing it")
    else:
        shutil.rmtree(base, ignore_errors=True)
    return problems
