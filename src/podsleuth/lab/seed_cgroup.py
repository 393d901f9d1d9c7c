"""A throwaway cgroup v1 memory cgroup, shaped like a CSI plugin pod's, for a real kernel OOM kill.

The founding incident's ceph-fuse died to the OOM killer; the lab reproduces that by putting the
FUSE daemon in a small memory cgroup so the kernel itself picks and kills it (and logs it in
``/dev/kmsg`` exactly as on a node).  The leaf is named ``pod<uid>`` so the kernel log line
carries a pod UID the way kubelet's cgroupfs layout does.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time

MEMCG_ROOT = "/sys/fs/cgroup/memory"


class MemoryCgroup:
    """``<root>/podsleuth-lab-<hex>/pod<uid>`` with a memory limit; :meth:`remove` empties and rmdirs."""

    def __init__(self, pod_uid: str, limit_bytes: int, root: str = MEMCG_ROOT) -> None:
        self.parent = os.path.join(root, f"podsleuth-lab-{secrets.token_hex(4)}")
        self.path = os.path.join(self.parent, f"pod{pod_uid}")
        os.mkdir(self.parent)
        try:
            os.mkdir(self.path)
            self._write("memory.limit_in_bytes", str(limit_bytes))
        except BaseException:
            self.remove()
            raise

    @property
    def name(self) -> str:
        """The path the kernel prints (``task_memcg=``), relative to the hierarchy root."""
        return "/" + os.path.relpath(self.path, os.path.dirname(self.parent))

    def _write(self, leaf: str, value: str) -> None:
        with open(os.path.join(self.path, leaf), "w", encoding="ascii") as f:
            f.write(value)

    def add(self, pid: int) -> None:
        self._write("cgroup.procs", str(pid))

    def oom_kills(self) -> int:
        """The ``oom_kill`` counter of memory.oom_control: a kernel-side proof when kmsg is unreadable."""
        try:
            with open(os.path.join(self.path, "memory.oom_control"), encoding="ascii") as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def pids(self, path: str | None = None) -> list[int]:
        try:
            with open(os.path.join(path or self.path, "cgroup.procs"), encoding="ascii") as f:
                return [int(p) for p in f.read().split()]
        except (OSError, ValueError):
            return []

    def remove(self, timeout: float = 10.0) -> None:
        """Kill what is left inside, then rmdir leaf and parent; rmdir fails while a task lingers."""
        deadline = time.monotonic() + timeout
        for cg in (self.path, self.parent):
            while os.path.isdir(cg):
                for pid in self.pids(cg):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                try:
                    os.rmdir(cg)
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
