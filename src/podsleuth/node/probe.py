"""Timed probes of mount points in a small pool of long-lived worker processes.

A ``stat`` on a dead NFS or FUSE mount sleeps in the kernel and cannot be interrupted from
inside the process, so probes never run in the agent itself.  One child per probe would cost
~20 ms each (5,000 mounts = minutes); instead a few workers take batches of paths and answer
path by path.  When a worker stays silent on one path longer than the timeout, that path is
reported hung, the worker is SIGKILLed (FUSE and NFS waits are killable) and replaced, and the
rest of its batch goes back to the queue.  Other mounts on the same device as a hung one are
reported hung without another wait, so one dead server costs one timeout, not one per mount.

The worker protocol is JSON lines (``ensure_ascii``), so any byte of a path survives, newlines
included.  ``python -m podsleuth.node.probe`` is the worker.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import selectors
import stat
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import IO

log = logging.getLogger(__name__)

BATCH = 64
_reaped_later: list[subprocess.Popen[bytes]] = []


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

    def kill(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        # A FUSE/NFS request already sent to a dead server waits uninterruptibly even after
        # SIGKILL (fs/fuse/dev.c request_wait_answer), so never wait long: park it and move on.
        try:
            self.proc.kill()
            self.proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            log.info("probe worker %d is stuck in the kernel (D state); leaving it", self.proc.pid)
            _reaped_later.append(self.proc)
        except OSError:
            pass


def _reap() -> None:
    for p in list(_reaped_later):
        if p.poll() is not None:
            _reaped_later.remove(p)


def probe_paths(
    paths: list[str],
    *,
    timeout: float = 2.0,
    workers: int | None = None,
    devices: dict[str, int] | None = None,
) -> dict[str, ProbeResult]:
    """Probe every path; no call takes much longer than the work plus one ``timeout``
    per distinct hung device and worker.  ``devices`` (path -> dev) lets mounts of a
    device already seen hung be reported hung without another wait."""
    _reap()
    unique = list(dict.fromkeys(paths))
    results: dict[str, ProbeResult] = {}
    if not unique:
        return results
    n = workers or min(4, max(2, (os.cpu_count() or 2)))
    n = max(1, min(n, (len(unique) + BATCH - 1) // BATCH))
    queue: deque[int] = deque(range(len(unique)))
    hung_devs: set[int] = set()
    devices = devices or {}
    pool = [_Worker() for _ in range(n)]
    sel = selectors.DefaultSelector()
    try:
        for w in pool:
            sel.register(w.stdout, selectors.EVENT_READ, w)

        def feed(w: _Worker) -> None:
            batch: list[tuple[int, str]] = []
            while queue and len(batch) < BATCH:
                i = queue.popleft()
                dev = devices.get(unique[i])
                if dev is not None and dev in hung_devs:
                    results[unique[i]] = ProbeResult(unique[i], "hung", None,
                                                     "same device as a hung mount", 0.0)
                    continue
                batch.append((i, unique[i]))
            if batch:
                w.send(batch)

        for w in pool:
            feed(w)
        while len(results) < len(unique):
            busy = [w for w in pool if w.pending]
            if not busy:
                break
            now = time.monotonic()
            wait = max(0.0, min(w.since + timeout - now for w in busy))
            for key, _ in sel.select(wait):
                w = key.data
                if w not in pool:
                    continue
                try:
                    chunk = os.read(w.stdout.fileno(), 1 << 16)
                except BlockingIOError:
                    continue
                w.buf += chunk
                *lines, w.buf = w.buf.split(b"\n")
                for line in lines:
                    i, code, elapsed = json.loads(line)
                    w.pending.remove(i)
                    w.since = time.monotonic()
                    results[unique[i]] = ProbeResult(
                        unique[i], "ok" if code == 0 else "error", code or None,
                        os.strerror(code) if code else None, float(elapsed))
                if not chunk:  # worker died: requeue what it held
                    queue.extendleft(w.pending)
                    w.pending.clear()
                    pool, w = _replace(pool, w, sel)
                if not w.pending:
                    feed(w)
            now = time.monotonic()
            for w in list(pool):
                if w.pending and now - w.since >= timeout:
                    i = w.pending.popleft()
                    results[unique[i]] = ProbeResult(unique[i], "hung", None,
                                                     f"no answer within {timeout:g}s", now - w.since)
                    dev = devices.get(unique[i])
                    if dev is not None:
                        hung_devs.add(dev)
                    queue.extendleft(reversed(w.pending))
                    w.pending.clear()
                    pool, nw = _replace(pool, w, sel)
                    feed(nw)
            for w in pool:
                if not w.pending and queue:
                    feed(w)
    finally:
        sel.close()
        for w in pool:
            w.kill()
    return results


def _replace(pool: list[_Worker], old: _Worker, sel: selectors.BaseSelector) -> tuple[list[_Worker], _Worker]:
    sel.unregister(old.stdout)
    old.kill()
    new = _Worker()
    sel.register(new.stdout, selectors.EVENT_READ, new)
    return [new if w is old else w for w in pool], new


def resolve_path(path: str, *, timeout: float = 2.0) -> str | None:
    """``realpath`` in a child, since resolving a path under a hung mount blocks; None if hung."""
    try:
        cp = subprocess.run([sys.executable, "-m", "podsleuth.node.probe", "--realpath"],
                            input=json.dumps(path).encode(), capture_output=True, timeout=timeout,
                            check=False)
    except subprocess.TimeoutExpired:
        return None
    if cp.returncode != 0:
        return None
    resolved = json.loads(cp.stdout)
    return resolved if isinstance(resolved, str) else None


if __name__ == "__main__":
    if sys.argv[1:] == ["--realpath"]:
        print(json.dumps(os.path.realpath(json.loads(sys.stdin.read()))))
        sys.exit(0)
    sys.exit(_worker_main())
