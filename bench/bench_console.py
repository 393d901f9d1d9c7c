"""Console and ``incidents list`` speed with 10,000 incidents in the store.

Fills a SQLite store with N incidents shaped like the demo's (the real watcher's output, ids,
namespaces and severities varied), then measures, in this process through aiohttp's test
server: the list page (first page of 50, default filter; and a text search), an incident page,
and ``podsleuth incidents list -o json`` end to end as a subprocess. The reference is the floor
of any Python reader of this store: ``SELECT data FROM incidents`` plus ``json.loads`` of every
row, measured in the same run.

Targets (issue 12): list page < 300 ms server time, incident page < 100 ms, CLI < 0.5 s.

    python bench/bench_console.py [--incidents 10000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from podsleuth.console.app import ConsoleSettings, create_app
from podsleuth.lab.demo import record_demo
from podsleuth.store import open_store


async def fill(path: Path, templates: list[dict[str, Any]], count: int) -> None:
    store = await open_store(f"sqlite:///{path}")
    severities = ("critical", "error", "warning")
    try:
        for n in range(count):
            incident = dict(templates[n % len(templates)])
            incident.update(
                id=f"{n:012x}",
                fingerprint=f"fp{n}",
                namespace=f"team-{n % 40}",
                severity=severities[n % 3],
                pod=f"{incident.get('pod') or 'node'}-{n}",
            )
            event = "incident.resolved" if n % 4 == 0 else "incident.opened"
            await store.record_change({"event": event, "incident": incident}, at=time.time() - n)
    finally:
        await store.aclose()


async def timed_get(client: TestClient[Any, Any], url: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = await client.get(url)
        await response.read()
        assert response.status == 200, (url, response.status)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def reference(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        conn = sqlite3.connect(path)
        rows = [json.loads(r[0]) for r in conn.execute("SELECT data FROM incidents")]
        conn.close()
        assert rows
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(path: Path, repeat: int) -> dict[str, float]:
    store = await open_store(f"sqlite:///{path}")
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(ConsoleSettings(store=store))))
    await client.start_server()
    try:
        return {
            "list page (open, first 50)": await timed_get(client, "/", repeat),
            "list page (all, search 'cart')": await timed_get(client, "/?state=all&q=cart", repeat),
            "incident page": await timed_get(client, f"/incidents/{7:012x}", repeat),
        }
    finally:
        await client.close()
        await store.aclose()


def cli_time(path: Path, repeat: int) -> float:
    times = []
    for _ in range(max(3, repeat // 3)):
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "podsleuth",
                "incidents",
                "list",
                "--store",
                f"sqlite:///{path}",
                "-o",
                "json",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        store_path = workdir / "bench.db"
        asyncio.run(fill(store_path, record_demo(workdir / 'demo.db'), args.incidents))
        floor = reference(store_path, args.repeat)
        figures = asyncio.run(measure(store_path, args.repeat))
        figures["incidents list -o json (process)"] = cli_time(store_path, args.repeat)
    print(f"{args.incidents} incidents; reference (read + json.loads every row): {floor * 1000:.0f} ms")
    for name, seconds in figures.items():
        print(f"  {name:<36} {seconds * 1000:7.0f} ms   {seconds / floor:5.1f}x reference")


if __name__ == "__main__":
    main()
