"""Idle cost of ``podsleuth watch``: 100,000 pods cached, then a quiet cluster's trickle of changes.

The fake API server runs in a child process with ``--pods`` pods (and 100 nodes). A real
``python -m podsleuth watch`` process lists them, then the server modifies random pods at each
rate of ``--rates`` (events/s, default 0 and 50) for ``--seconds`` each. For every rate it prints
the watcher's CPU as % of one core, from utime+stime in ``/proc/<pid>/stat`` (no sampling
profiler attached), and then, in a separate window with ``strace -c -f -e trace=epoll_wait``
attached (strace slows what it traces, so never during the CPU window), the event-loop
wake-ups per second: each ``epoll_wait`` return is one wake-up of a thread's loop.

Run: python bench/idle.py [--pods 100000] [--seconds 60] [--rates 0,50] [--no-strace]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _serve(port: int, pods: int, conn: Connection) -> None:
    from podsleuth.lab.fake_apiserver import FakeApiServer
    from podsleuth.lab.sample_pods import sample_pod

    async def main() -> None:
        api = FakeApiServer(port=port, window=10_000)
        names = []
        for n in range(100):
            api.put(
                "nodes",
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": f"node-{n}"},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                },
            )
        for i in range(pods):
            pod = api.store.put("pods", sample_pod(i, namespace=f"ns-{i % 20}", node=f"node-{i % 100}"))
            names.append((pod["metadata"]["namespace"], pod["metadata"]["name"]))
        rate = 0.0
        rng = random.Random(14)
        loop = asyncio.get_running_loop()

        async def commands() -> None:
            nonlocal rate
            while (msg := await loop.run_in_executor(None, conn.recv)) != "stop":
                rate = float(msg)

        async with api:
            conn.send("ready")
            control = asyncio.create_task(commands())
            n = 0
            while not control.done():
                await asyncio.sleep(0.02)
                due = rate * 0.02
                n += 1
                for _ in range(int(due) + (rng.random() < due % 1)):
                    ns, name = rng.choice(names)
                    entry = api.store.get("pods", ns, name)
                    if entry is not None:
                        pod = json.loads(entry.raw)
                        pod["metadata"]["annotations"]["idle/touched"] = str(n)
                        api.store.put("pods", pod)

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid`` (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wakeups(pid: int, seconds: float) -> int | None:
    """epoll_wait calls of all threads of ``pid`` during ``seconds`` (strace -c), None without strace."""
    if shutil.which("strace") is None:
        return None
    proc = subprocess.Popen(
        ["strace", "-c", "-f", "-e", "trace=epoll_wait,epoll_pwait", "-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(seconds)
    proc.send_signal(2)
    _, err = proc.communicate(timeout=30)
    return sum(
        int(line.split()[3])
        for line in err.splitlines()
        if line.strip().endswith(("epoll_wait", "epoll_pwait")) and len(line.split()) >= 5
    )


def _ready(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU window per rate")
    parser.add_argument("--strace-seconds", type=float, default=20.0)
    parser.add_argument("--rates", default="0,50", help="events/s, comma-separated")
    parser.add_argument("--no-strace", action="store_true")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(port, args.pods, child), daemon=True)
    server.start()
    tmp = Path(tempfile.mkdtemp(prefix="podsleuth-idle-"))
    watcher = None
    try:
        print(f"fake API server: generating {args.pods:,} pods ...", flush=True)
        if not parent.poll(900) or parent.recv() != "ready":
            raise SystemExit("fake API server did not start")
        from podsleuth.lab.fake_apiserver import FakeApiServer

        kubeconfig = FakeApiServer(port=port).kubeconfig_path(tmp)
        (tmp / "c.yaml").write_text('node_agents: {discovery: "off"}\n')
        t0 = time.monotonic()
        watcher = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "podsleuth",
                "watch",
                "--kubeconfig",
                str(kubeconfig),
                "--config",
                str(tmp / "c.yaml"),
                "--output",
                "json",
                "--store",
                f"sqlite:///{tmp / 's.db'}",
                "--metrics-port",
                str(metrics_port),
                "--metrics-host",
                "127.0.0.1",
                "--no-leader-elect",
            ],
            stdout=open(tmp / "out.jsonl", "wb"),  # noqa: SIM115
            stderr=open(tmp / "log.txt", "wb"),  # noqa: SIM115
        )
        while not _ready(metrics_port):
            if watcher.poll() is not None or time.monotonic() - t0 > 300:
                raise SystemExit(f"watcher did not get ready; see {tmp / 'log.txt'}")
            time.sleep(0.2)
        print(
            f"watcher synced {args.pods:,} pods in {time.monotonic() - t0:.1f} s "
            f"(process start to /readyz); RSS {rss_mib(watcher.pid):.0f} MiB",
            flush=True,
        )
        time.sleep(10)  # let the initial list's garbage and first timers settle
        for rate in (float(r) for r in args.rates.split(",")):
            parent.send(str(rate))
            time.sleep(3)
            c0, w0 = cpu_seconds(watcher.pid), time.monotonic()
            time.sleep(args.seconds)
            cpu = (cpu_seconds(watcher.pid) - c0) / (time.monotonic() - w0)
            line = f"{rate:>4.0f} events/s: watcher CPU {cpu:6.2%} of a core over {args.seconds:.0f} s"
            if not args.no_strace:
                calls = wakeups(watcher.pid, args.strace_seconds)
                if calls is not None:
                    line += f"; {calls / args.strace_seconds:.1f} epoll_wait wake-ups/s (strace)"
            print(f"{line}; RSS {rss_mib(watcher.pid):.0f} MiB", flush=True)
    finally:
        parent.send("stop")
        if watcher is not None:
            watcher.terminate()
            try:
                watcher.wait(30)
            except subprocess.TimeoutExpired:
                watcher.kill()
        server.join(timeout=30)
        if server.is_alive():
            server.kill()


if __name__ == "__main__":
    main()
