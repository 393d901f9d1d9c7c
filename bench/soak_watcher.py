"""The soaked watchers' side of bench/soak.py: their processes, config, /metrics and /readyz,
resident memory, the probe's samples, and the loopback webhook receiver they notify."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web


class Receiver:
    """Loopback webhook: 30 % of POSTs answered 500 (not recorded), the rest recorded and 200."""

    def __init__(self, fail: float, seed: int) -> None:
        self.fail, self.rng = fail, random.Random(seed)
        self.accepted: list[dict[str, Any]] = []
        self.failed = 0
        self.last = time.monotonic()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.last = time.monotonic()
        if self.rng.random() < self.fail:
            self.failed += 1
            return web.Response(status=500, text="receiver failing on purpose")
        self.accepted.append({"body": body.decode(), **json.loads(body)})
        return web.Response(status=200)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def probe_last(path: Path) -> dict[str, Any]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return {}
    return json.loads(lines[-1]) if lines else {}


def config(tmp: Path, hook: str, quick: bool) -> Path:
    th = "4s" if quick else "10s"
    text = f"""
watch:
  thresholds: {{node_not_ready: {th}, resolve_after: {th}, stuck_creating: 60s, pending: 60s}}
  read_timeout: 15s
  watch_timeout: 120s
  backoff_max: 5s
alerts:
  group_wait: 1s
  repeat_interval: 24h
  backoff_max: 4s
  max_attempts: 40
  receivers:
    - {{name: hook, webhook: {{url: "{hook}", timeout: 5s}}}}
node_agents: {{discovery: "off"}}
"""
    path = tmp / "podsleuth.yaml"
    path.write_text(text)
    return path


async def metric(session: aiohttp.ClientSession, port: int, name: str) -> float | None:
    """Sum of a metric's samples over its labels (0 when it has none yet); None: no answer."""
    try:
        async with session.get(
            f"http://127.0.0.1:{port}/metrics", timeout=aiohttp.ClientTimeout(total=5)
        ) as r:
            text = await r.text()
    except (aiohttp.ClientError, TimeoutError):
        return None
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((name + " ", name + "{"))
    )


async def ready(session: aiohttp.ClientSession, port: int) -> bool:
    try:
        async with session.get(
            f"http://127.0.0.1:{port}/readyz", timeout=aiohttp.ClientTimeout(total=5)
        ) as r:
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


PROBE_DIR = Path(__file__).resolve().parent / "soak_probe"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    """One ``podsleuth watch`` process under its identity. Killed and started again it keeps
    the identity, as a container restarted in its pod keeps ``POD_NAME``: the Lease then names
    the dead process, and the new one must still fence and adopt like a stranger would."""

    def __init__(self, identity: str, *, args: Sequence[str], tmp: Path, sample: float) -> None:
        self.identity, self.args, self.tmp = identity, list(args), tmp
        self.metrics_port = free_port()
        self.probe = tmp / f"probe-{identity}.jsonl"
        self.sample = sample
        self.incarnation = 0
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.incarnation += 1
        self.probe.unlink(missing_ok=True)  # the probe's samples are per process
        env = {
            **os.environ,
            "PYTHONPATH": f"{PROBE_DIR}{os.pathsep}"
            f"{os.environ.get('PYTHONPATH', '')}",
            "PODSLEUTH_SOAK_PROBE": str(self.probe),
            "PODSLEUTH_SOAK_PROBE_INTERVAL": str(self.sample),
        }
        name = f"{self.identity}.{self.incarnation}"
        out, err = self.tmp / f"{name}.jsonl", self.tmp / f"{name}.log"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "podsleuth", "watch", *self.args,
                "--metrics-port", str(self.metrics_port), "--metrics-host", "127.0.0.1",
                "--identity", self.identity,
                stdout=stdout, stderr=stderr, env=env,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def log(self) -> Path:
        return self.tmp / f"{self.identity}.{self.incarnation}.log"

    async def kill(self) -> None:
        """SIGKILL: no lease release, no outbox flush; the standby must take over on expiry."""
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            await self.proc.wait()

    async def stop(self) -> None:
        if not self.alive:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
