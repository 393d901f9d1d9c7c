"""The soaked watcher's side of bench/soak.py: its config, its /metrics and /readyz, its
resident memory, the probe's samples, and the loopback webhook receiver it notifies."""

from __future__ import annotations

import json
import random
import time
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
