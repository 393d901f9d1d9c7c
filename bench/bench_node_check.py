"""Benchmark: ``node check`` on a node with 5,000 pod volume mounts, then with one hung mount.

Target (PRODUCT.md): under 1 s of wall time for 5,000 mounts, and a hung mount adds no more
than its probe timeout.  Run as root on Linux: ``python bench/bench_node_check.py``.

The mounts live in a private mount namespace (the script re-runs itself under ``unshare --mount
--propagation private``), so they vanish with it; the parent removes the directories afterwards.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

MS_BIND = 4096
INNER = "PODSLEUTH_BENCH_INNER"


def _mount_binds(kubelet: str, src: str, n: int) -> list[str]:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    targets = []
    pods = max(1, n // 4)
    for i in range(n):
        uid = str(uuid.UUID(int=i // 4 + 1))
        vdir = os.path.join(kubelet, "pods", uid, "volumes", "kubernetes.io~csi", f"pvc-{i:05d}")
        target = os.path.join(vdir, "mount")
        os.makedirs(target)
        if libc.mount(src.encode(), target.encode(), None, MS_BIND, None) != 0:
            raise OSError(ctypes.get_errno(), f"mount --bind {src} {target}")
        targets.append(target)
    assert pods
    return targets


def _timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, timeout=60)
    return time.perf_counter() - t0


def inner(base: str, n: int, timeout: float, hung: bool) -> None:
    from podsleuth.node.check import CheckOptions, check_node

    kubelet = os.path.join(base, "kubelet")
    src = os.path.join(base, "src")
    os.makedirs(src)
    t0 = time.perf_counter()
    _mount_binds(kubelet, src, n)
    print(f"created {n} bind mounts in {time.perf_counter() - t0:.2f}s")
    opts = CheckOptions(kubelet_dirs=(kubelet,), mount_pid="self", probe_timeout=timeout)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        report = check_node(opts)
        runs.append(time.perf_counter() - t0)
    print(f"check_node(): {report.summary['kubelet_mounts']} kubelet mounts of {report.summary['mounts']}, "
          f"best {min(runs):.3f}s, runs {', '.join(f'{r:.3f}' for r in runs)}")
    cli = [sys.executable, "-m", "podsleuth", "node", "check", "--mount-pid", "self",
           "--kubelet-dir", kubelet, "--probe-timeout", str(timeout), "-o", "json"]
    wall = min(_timed(cli) for _ in range(3))
    print(f"`podsleuth node check` wall time (process start to exit): {wall:.3f}s")
    if not hung:
        return
    mp = os.path.join(kubelet, "pods", str(uuid.UUID(int=999_999)), "volumes", "kubernetes.io~csi",
                      "pvc-hung", "mount")
    os.makedirs(mp)
    daemon = subprocess.Popen([sys.executable, "-m", "podsleuth.lab.fusefs", mp, "--hang-getattr"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
                if "pvc-hung" in f.read():
                    break
            time.sleep(0.05)
        t0 = time.perf_counter()
        report = check_node(opts)
        took = time.perf_counter() - t0
        print(f"with one hung FUSE mount: {took:.3f}s (timeout {timeout}s, hung={report.summary['hung']}, "
              f"extra {took - min(runs):.3f}s)")
        wall = _timed(cli)
        print(f"`podsleuth node check` with the hung mount: {wall:.3f}s")
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mounts", type=int, default=5000)
    ap.add_argument("--probe-timeout", type=float, default=1.0)
    ap.add_argument("--no-hung", action="store_true", help="skip the hung FUSE mount (needs fusepy)")
    ap.add_argument("--base", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (mounts in a private mount namespace)", file=sys.stderr)
        return 2
    if os.environ.get(INNER):
        inner(args.base, args.mounts, args.probe_timeout, not args.no_hung)
        return 0
    base = tempfile.mkdtemp(prefix="podsleuth-bench-")
    try:
        argv = ["unshare", "--mount", "--propagation", "private", sys.executable, os.path.abspath(__file__),
                "--mounts", str(args.mounts), "--probe-timeout", str(args.probe_timeout), "--base", base]
        if args.no_hung:
            argv.append("--no-hung")
        return subprocess.run(argv, env={**os.environ, INNER: "1"}, check=False).returncode
    finally:
        shutil.rmtree(base, ignore_errors=True)  # the namespace and its mounts are gone by now


if __name__ == "__main__":
    sys.exit(main())
