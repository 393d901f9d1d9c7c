"""Notifier overhead from ``submit`` to the sink call, under load, with a slow sink.

1,000 incidents/min (default) are submitted at an even pace to a webhook receiver on 127.0.0.1
that takes 1 s to answer each request; group_wait is 0. The latency measured is from the start
of ``submit`` to the request arriving at the receiver, so it includes the SQLite commit, the
batching step and the HTTP client, and excludes the sink's own 1 s. Target: p99 < 100 ms.

    python bench/bench_notifier.py [--rate 1000] [--duration 60] [--sink-delay 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.config import AlertSettings, Receiver, WebhookReceiver
from podsleuth.store.sqlite import SqliteStore


def incident(n: int) -> dict[str, object]:
    return {
        "event": "incident.opened",
        "incident": {
            "id": f"inc-{n}",
            "fingerprint": f"fp-{n}",
            "category": "container-start",
            "reason": "RunContainerError",
            "signature": "runc-1.1-via-procfd-enoent",
            "severity": "error",
            "namespace": f"ns-{n % 40}",
            "pod": f"web-{n}",
            "node": f"node-{n % 7}",
            "container": "app",
            "owner": {"kind": "Deployment", "name": f"web-{n % 40}"},
            "message": "error mounting ... (via /proc/self/fd/6): no such file or directory",
            "count": 1,
            "first_seen": "2026-01-15T10:00:00Z",
            "last_seen": "2026-01-15T10:00:00Z",
            "diagnosis": {
                "root_cause": "ceph-fuse restarted; the bind mount source is //deleted",
                "summary": "stale FUSE mount",
                "confidence": 0.9,
                "evidence": [{"source": "mountinfo", "fact": "root //deleted", "data": {}}],
                "remediation": ["restart the pod after the CSI plugin recovers"],
            },
        },
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(rate: float, duration: float, sink_delay: float) -> None:
    submitted: dict[str, float] = {}
    latencies: list[float] = []
    all_arrived = asyncio.Event()
    total = int(rate * duration / 60)

    async def handle(request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        body = json.loads(await request.read())
        latencies.append(arrived - submitted[body["incident"]["id"]])
        if len(latencies) >= total:
            all_arrived.set()
        await asyncio.sleep(sink_delay)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    with tempfile.TemporaryDirectory() as tmp:
        store = await SqliteStore.open(Path(tmp) / "bench.db")
        settings = AlertSettings(
            receivers=[Receiver(name="hook", webhook=WebhookReceiver(url=f"http://127.0.0.1:{port}/hook"))]
        )
        options = replace(AlertOptions.from_settings(settings), group_wait=0.0)
        notifier = Notifier(settings, store, options=options)
        worker = asyncio.create_task(notifier.run())
        interval = 60.0 / rate
        submit_times: list[float] = []
        start = time.perf_counter()
        for n in range(total):
            delay = start + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t0 = time.perf_counter()
            submitted[f"inc-{n}"] = t0
            await notifier.submit(incident(n))
            submit_times.append(time.perf_counter() - t0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_arrived.wait(), timeout=sink_delay + 30)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await notifier.aclose()
        await store.aclose()
    await runner.cleanup()

    ms = [x * 1000 for x in latencies]
    print(f"incidents: {total} at {rate:g}/min, sink {sink_delay:g}s per call, group_wait 0")
    print(f"delivered: {len(ms)}/{total}")
    sub = [x * 1000 for x in submit_times]
    print(f"submit() itself: p50 {statistics.median(sub):.2f} ms  p99 {pct(sub, 0.99):.2f} ms")
    print(
        f"submit -> sink call: p50 {statistics.median(ms):.2f} ms  p99 {pct(ms, 0.99):.2f} ms"
        f"  max {max(ms):.2f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="incidents per minute")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--sink-delay", type=float, default=1.0, help="seconds the receiver takes per call")
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.duration, args.sink_delay))
