"""Timed probes of mount points in a small pool of long-lived worker processes.

A ``stat`` on a dead NFS or FUSE mount sleeps in the kernel and cannot be interrupted from
inside the process, so probes never run in the agent itself.  One child per probe would cost
~20 ms each (5,000 mounts = minutes); instead a few workers take batches of paths and answer
path by path.  When a worker stays silent on one path longer than the timeout, that path is
reported hung, the worker is SIGKILLed (FUSE and NFS waits are killable) and replaced, and the
rest of its batch goes back to the queue.  Other mounts on the same device as a hung one are
reported hung without another wait, so one dead server costs one timeout, not one per mount.

A killed worker whose request already reached a dead FUSE/NFS server stays in uninterruptible
sleep until the mount is aborted: it is parked (never waited for) in a :class:`Prober`, which
remembers its path and device.  Later calls report that device/path hung at once instead of
leaving one more stuck process per scan, and probe it again once the parked process has exited.

The worker protocol is JSON lines (``ensure_ascii``), so any byte of a path survives, newlines
included.  ``python -m podsleuth.node.probe`` is the worker.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import selectors
import stat
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

log = logging.getLogger(__name__)

BATCH = 64
MAX_STUCK = 256  # parked processes remembered per Prober; beyond it the oldest is forgotten
_KILL_WAIT = 0.05


@dataclass(frozen=True, slots=True)
class ProbeResult:
    path: str
    status: str  # "ok" | "error" | "hung"
    errno: int | None
    error: str | None
    elapsed: float

    @property
    def errno_name(self) -> str | None:
        return errno.errorcode.get(self.errno) if self.errno is not None else None


def probe_path(path: str) -> int:
    """stat, then open the directory (or file): a cached attr alone can hide a dead FUSE."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            with os.scandir(path) as it:
                next(it, None)
        elif stat.S_ISREG(st.st_mode):
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY))
    except OSError as e:
        return e.errno or errno.EIO
    return 0


def _worker_main() -> int:
    """Read JSON batches ``[[id, path], ...]`` on stdin, answer ``[id, errno, seconds]`` lines."""
    out = sys.stdout
    for line in sys.stdin:
        for item_id, path in json.loads(line):
            t0 = time.monotonic()
            code = probe_path(path)
            out.write(json.dumps([item_id, code, time.monotonic() - t0]) + "\n")
            out.flush()
    return 0


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "podsleuth.node.probe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buf = b""
        self.pending: deque[int] = deque()
        self.since = 0.0

    @property
    def stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def send(self, batch: list[tuple[int, str]]) -> None:
        assert self.proc.stdin is not None
        self.pending.extend(i for i, _ in batch)
        self.since = time.monotonic()
        self.proc.stdin.write((json.dumps(batch) + "\n").encode())
        self.proc.stdin.flush()

    def kill(self) -> bool:
        """SIGKILL; True if the process is stuck in the kernel and must be parked."""
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        return _kill(self.proc)


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """Kill ``proc`` and wait at most a moment; True if it is still alive (stuck in D state).

    A FUSE/NFS request already sent to a dead server waits uninterruptibly even after SIGKILL
    (fs/fuse/dev.c request_wait_answer), so never wait long: the caller parks it and moves on.
    """
    try:
        proc.kill()
        proc.wait(timeout=_KILL_WAIT)
    except subprocess.TimeoutExpired:
        log.info("child %d is stuck in the kernel (D state); leaving it", proc.pid)
        return True
    except OSError:
        pass
    return False


@dataclass(frozen=True, slots=True)
class StuckProcess:
    """A killed child that has not exited yet: what it was doing when it got stuck."""

    pid: int
    path: str | None
    device: int | None
    kind: str  # "probe" | "resolve" | "bind"
    since: float  # time.monotonic() when it was parked


class Prober:
    """Runs probes in worker processes and owns the ones that got stuck in the kernel.

    The stuck (parked) processes double as the memory of hung devices: while one is alive,
    its device and path (and paths below it) are reported hung without starting another
    process that would only get stuck as well.  Nothing here ever blocks on a child.
    Thread-safe: the server probes from several threads at once.
    """

    def __init__(self, max_stuck: int = MAX_STUCK) -> None:
        self._lock = threading.Lock()
        self._stuck: list[tuple[subprocess.Popen[bytes], StuckProcess]] = []
        self._max_stuck = max_stuck

    def park(self, proc: subprocess.Popen[bytes], *, path: str | None = None, device: int | None = None,
             kind: str = "probe") -> None:
        """Keep a killed-but-alive child for later reaping (and remember what it blocks on)."""
        with self._lock:
            self._stuck.append((proc, StuckProcess(proc.pid, path, device, kind, time.monotonic())))
            if len(self._stuck) > self._max_stuck:
                # Forgetting it is safe: subprocess reaps a dropped, still-running Popen itself.
                _, info = self._stuck.pop(0)
                log.warning("more than %d stuck probe processes; forgetting pid %d (%s)",
                            self._max_stuck, info.pid, info.path)

    def reap(self) -> None:
        """Forget parked processes that have exited (poll: never blocks)."""
        with self._lock:
            self._stuck = [(p, i) for p, i in self._stuck if p.poll() is None]

    def stuck(self) -> list[StuckProcess]:
        """Parked processes still alive (reaps the others first)."""
        self.reap()
        with self._lock:
            return [i for _, i in self._stuck]

    def blocker(self, path: str, device: int | None = None, *,
                kinds: Sequence[str] = ("probe", "resolve", "bind")) -> StuckProcess | None:
        """A live parked process that says probing ``path`` would block too, or None."""
        return _blocking(self.stuck(), path, device, kinds)

    def run(self, argv: list[str], *, input: bytes | None = None, timeout: float, path: str | None = None,
            kind: str) -> subprocess.CompletedProcess[bytes] | None:
        """Run a child to completion within ``timeout``; None (and the child parked if it will
        not die) when it does not finish.  Unlike ``subprocess.run(timeout=)``, which waits
        without limit for a killed child, this never blocks much longer than ``timeout``."""
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except BaseException as e:
            for f in (proc.stdin, proc.stdout, proc.stderr):
                with contextlib.suppress(OSError):
                    if f is not None:
                        f.close()
            if _kill(proc):
                self.park(proc, path=path, kind=kind)
            if isinstance(e, subprocess.TimeoutExpired):
                return None
            raise
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    def probe_paths(
        self,
        paths: list[str],
        *,
        timeout: float = 2.0,
        workers: int | None = None,
        devices: dict[str, int] | None = None,
    ) -> dict[str, ProbeResult]:
        """See :func:`probe_paths`."""
        return _probe_paths(self, paths, timeout=timeout, workers=workers, devices=devices)

    def resolve_path(self, path: str, *, timeout: float = 2.0) -> str | None:
        """See :func:`resolve_path`."""
        if self.blocker(path) is not None:
            return None
        cp = self.run([sys.executable, "-m", "podsleuth.node.probe", "--realpath"],
                      input=json.dumps(path).encode(), timeout=timeout, path=path, kind="resolve")
        if cp is None or cp.returncode != 0:
            return None
        try:
            resolved = json.loads(cp.stdout)
        except ValueError:
            return None
        return resolved if isinstance(resolved, str) else None


def _blocking(stuck: list[StuckProcess], path: str, device: int | None,
              kinds: Sequence[str]) -> StuckProcess | None:
    """The stuck process blocking ``path``: one stuck on the same device, on ``path`` itself
    (unless both devices are known and differ: the mount was replaced), or on a directory
    above ``path`` (reaching ``path`` needs a lookup there)."""
    for s in stuck:
        if s.kind not in kinds:
            continue
        if device is not None and s.device == device:
            return s
        if s.path is None:
            continue
        if s.path == path and (device is None or s.device is None or s.device == device):
            return s
        if path.startswith(s.path.rstrip("/") + "/"):
            return s
    return None


default_prober = Prober()


def stuck_processes() -> list[StuckProcess]:
    """Children of this process that were killed but are still stuck in the kernel."""
    return default_prober.stuck()


def probe_paths(
    paths: list[str],
    *,
    timeout: float = 2.0,
    workers: int | None = None,
    devices: dict[str, int] | None = None,
) -> dict[str, ProbeResult]:
    """Probe every path; no call takes much longer than the work plus one ``timeout``
    per distinct hung device and worker.  ``devices`` (path -> dev) lets mounts of a
    device already seen hung be reported hung without another wait.  A device or path whose
    earlier probe (in any call) is still stuck in the kernel is reported hung at once."""
    return default_prober.probe_paths(paths, timeout=timeout, workers=workers, devices=devices)


def resolve_path(path: str, *, timeout: float = 2.0) -> str | None:
    """``realpath`` in a child, since resolving a path under a hung mount blocks; None if hung
    (also at once while an earlier probe of the path or a directory above it is still stuck)."""
    return default_prober.resolve_path(path, timeout=timeout)


def _probe_paths(
    prober: Prober,
    paths: list[str],
    *,
    timeout: float,
    workers: int | None,
    devices: dict[str, int] | None,
) -> dict[str, ProbeResult]:
    run = _ProbeRun(prober, list(dict.fromkeys(paths)), devices or {}, timeout)
    todo = run.skip_blocked()
    if not todo:
        return run.results
    n = workers or min(4, max(2, (os.cpu_count() or 2)))
    n = max(1, min(n, (len(todo) + BATCH - 1) // BATCH))
    run.queue.extend(todo)
    try:
        run.start(n)
        run.loop()
    finally:
        run.close()
    return run.results


class _ProbeRun:
    """One call of ``probe_paths``: a pool of worker processes fed batches of paths, a deadline
    per answer, and a worker replaced (its process parked) as soon as it is stuck on one."""

    def __init__(self, prober: Prober, unique: list[str], devices: dict[str, int], timeout: float) -> None:
        self.prober, self.unique, self.devices, self.timeout = prober, unique, devices, timeout
        self.results: dict[str, ProbeResult] = {}
        self.queue: deque[int] = deque()
        self.hung_devs: set[int] = set()
        self.pool: list[_Worker] = []
        self.sel = selectors.DefaultSelector()

    def skip_blocked(self) -> list[int]:
        """Answer at once for paths (or devices) an earlier, still-blocked probe is stuck on;
        the indexes of the others."""
        todo: list[int] = []
        stuck = self.prober.stuck()  # reaps exited ones: their devices get probed again
        for i, path in enumerate(self.unique):
            b = _blocking(stuck, path, self.devices.get(path), ("probe", "resolve")) if stuck else None
            if b is None:
                todo.append(i)
                continue
            what = "device" if b.device is not None and b.device == self.devices.get(path) else "path"
            self.results[path] = ProbeResult(
                path, "hung", None,
                f"an earlier probe of this {what} (pid {b.pid}, {b.path}) is still blocked in the kernel "
                f"for {time.monotonic() - b.since:.0f}s; not probed again until it exits", 0.0)  # fmt: skip
        return todo

    def start(self, n: int) -> None:
        for _ in range(n):
            w = _Worker()
            self.pool.append(w)
            self.sel.register(w.stdout, selectors.EVENT_READ, w)
        for w in self.pool:
            self.feed(w)

    def loop(self) -> None:
        while len(self.results) < len(self.unique):
            busy = [w for w in self.pool if w.pending]
            if not busy:
                break
            wait = max(0.0, min(w.since + self.timeout - time.monotonic() for w in busy))
            for key, _ in self.sel.select(wait):
                if key.data in self.pool:
                    self.read(key.data)
            self.expire(time.monotonic())
            for w in self.pool:
                if not w.pending and self.queue:
                    self.feed(w)

    def feed(self, w: _Worker) -> None:
        batch: list[tuple[int, str]] = []
        while self.queue and len(batch) < BATCH:
            i = self.queue.popleft()
            path = self.unique[i]
            dev = self.devices.get(path)
            if dev is not None and dev in self.hung_devs:
                self.results[path] = ProbeResult(path, "hung", None, "same device as a hung mount", 0.0)
                continue
            batch.append((i, path))
        if batch:
            w.send(batch)

    def read(self, w: _Worker) -> None:
        """Take a worker's answers; a worker that died has its paths requeued and is replaced."""
        try:
            chunk = os.read(w.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return
        w.buf += chunk
        *lines, w.buf = w.buf.split(b"\n")
        for line in lines:
            i, code, elapsed = json.loads(line)
            w.pending.remove(i)
            w.since = time.monotonic()
            self.results[self.unique[i]] = ProbeResult(
                self.unique[i], "ok" if code == 0 else "error", code or None,
                os.strerror(code) if code else None, float(elapsed))  # fmt: skip
        if not chunk:  # worker died: requeue what it held
            self.queue.extendleft(w.pending)
            w.pending.clear()
            w = self.replace(w, None)
        if not w.pending:
            self.feed(w)

    def expire(self, now: float) -> None:
        """A worker past the deadline is stuck on its first pending path: that one is hung (and
        its device with it), the rest go back to the queue, the worker is replaced."""
        for w in list(self.pool):
            if w.pending and now - w.since >= self.timeout:
                i = w.pending.popleft()
                self.results[self.unique[i]] = ProbeResult(
                    self.unique[i], "hung", None, f"no answer within {self.timeout:g}s", now - w.since)
                dev = self.devices.get(self.unique[i])
                if dev is not None:
                    self.hung_devs.add(dev)
                self.queue.extendleft(reversed(w.pending))
                w.pending.clear()
                self.feed(self.replace(w, i))

    def replace(self, old: _Worker, stuck_on: int | None) -> _Worker:
        self.sel.unregister(old.stdout)
        self.retire(old, stuck_on)
        new = _Worker()
        self.pool = [new if w is old else w for w in self.pool]
        self.sel.register(new.stdout, selectors.EVENT_READ, new)
        return new

    def retire(self, w: _Worker, stuck_on: int | None) -> None:
        if w.kill():
            path = self.unique[stuck_on] if stuck_on is not None else None
            self.prober.park(w.proc, path=path, device=self.devices.get(path) if path is not None else None)

    def close(self) -> None:
        self.sel.close()
        for w in self.pool:
            self.retire(w, w.pending[0] if w.pending else None)


if __name__ == "__main__":
    if sys.argv[1:] == ["--realpath"]:
        print(json.dumps(os.path.realpath(json.loads(sys.stdin.read()))))
        sys.exit(0)
    sys.exit(_worker_main())
