"""The store fails under a running ``podsleuth watch`` - its disk fills up (a small tmpfs, filled
by a file, then freed), or PostgreSQL is stopped and started again: incidents wait in memory,
/readyz and ``podsleuth_store_degraded`` say so, and once the store is back every incident is in
it and reaches the webhook once. A run that ends while the disk is still full exits 1 naming
what was not written."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.alert.helpers import http_receiver
from tests.fakes.net import free_port
from tests.ha.test_failover import broken_pod, until
from tests.store.postgres_server import PostgresServer, running_server, skip_reason

PODS = 5
CONFIG = """
alerts:
  group_wait: 0s
  receivers:
    - name: hook
      webhook: {{url: "{url}", timeout: 5s}}
  routes:
    - receivers: [hook]
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem is full; the file, to delete for room again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


async def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        url, timeout = f"http://127.0.0.1:{port}{path}", aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession() as s, s.get(url, timeout=timeout) as r:
            return r.status, await r.text()
    except (aiohttp.ClientError, TimeoutError):
        return 0, ""


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


async def _run(tmp_path: Path, disk: Path, *, free_again: bool) -> tuple[int, str, list[Any], Path]:
    db = disk / "podsleuth.db"
    filler: list[Path] = []
    code, err, bodies = await _watch_through_fault(
        tmp_path, f"sqlite:///{db}", lambda: filler.append(fill(disk)),
        (lambda: filler[0].unlink()) if free_again else None,
    )  # fmt: skip
    return code, err, bodies, db


async def _watch_through_fault(
    tmp_path: Path, store: str, fault: Callable[[], None], repair: Callable[[], None] | None
) -> tuple[int, str, list[Any]]:
    """Run ``watch`` on ``store``; once synced, ``fault()``, break PODS pods, check the degraded
    state, then ``repair()`` (None: end the run still broken); SIGTERM; exit code, stderr, bodies."""
    pods = [broken_pod(n) for n in range(PODS)]
    port = free_port()
    async with http_receiver() as rec, FakeApiServer(bookmark_interval=None) as api:
        config = tmp_path / "podsleuth.yaml"
        config.write_text(CONFIG.format(url=f"{rec.url}/hook"))
        out_path, err_path = tmp_path / "watch.out", tmp_path / "watch.err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            kubeconfig = api.kubeconfig_path(tmp_path)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "podsleuth", "watch", "--kubeconfig", str(kubeconfig),
                "--store", store, "--config", str(config), "-o", "json",
                "--metrics-port", str(port), "--metrics-host", "127.0.0.1",
                stdout=out, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        try:
            await until(lambda: _ready(port), within=60, what="watch to sync")
            fault()

            def printed() -> int:
                return out_path.read_text().count('"incident.opened"')

            for pod in pods:
                api.put("pods", pod)
            await until(lambda: printed() >= PODS, within=20, what="the incidents to be printed")

            async def degraded() -> bool:
                status, text = await http_get(port, "/readyz")
                _, metrics = await http_get(port, "/metrics")
                return status == 503 and "degraded: store" in text and metric(
                    metrics, "podsleuth_store_degraded") == 1.0  # fmt: skip

            await until(degraded, within=20, what=f"/readyz to show the store fault\n{err_path.read_text()}")
            assert rec.json_bodies == []  # nothing is sent that the store does not hold
            if repair is not None:
                repair()
                await until(lambda: len({b["incident"]["pod"] for b in rec.json_bodies}) == PODS, within=30,
                            what=f"every incident delivered\n{err_path.read_text()}")  # fmt: skip
                await until(lambda: _ready(port), within=20, what="/readyz to recover")
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), timeout=30)
    return code, err_path.read_text(), rec.json_bodies


async def _ready(port: int) -> bool:
    return (await http_get(port, "/readyz"))[0] == 200


async def test_a_full_disk_delays_incidents_but_loses_none(tmp_path: Path, small_disk: Path) -> None:
    code, err, bodies, db = await _run(tmp_path, small_disk, free_again=True)
    assert code == 0, err
    assert "store write failed" in err and "store writable again" in err and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        pods = {row[0] for row in conn.execute("SELECT json_extract(data, '$.pod') FROM incidents")}
    assert len(pods) == PODS
    _each_opened_once(bodies)


def _each_opened_once(bodies: list[dict[str, Any]]) -> None:
    """Every incident announced once; a repeat is allowed only if it says it may be one (a
    delivery the receiver took but the store could not record)."""
    opened = [b for b in bodies if b["event"] == "incident.opened"]
    first = [b["incident"]["id"] for b in opened if not b["delivery"]["possible_duplicate"]]
    assert sorted(first) == sorted(set(first)) and len(first) == PODS, first


async def test_a_run_that_ends_with_unwritten_incidents_exits_1(tmp_path: Path, small_disk: Path) -> None:
    code, err, bodies, _ = await _run(tmp_path, small_disk, free_again=False)
    assert code == 1, err
    assert "the store did not take" in err and "Traceback" not in err
    assert bodies == []


def _pg_ctl(server: PostgresServer, action: str) -> None:
    options = f"-h 127.0.0.1 -p {server.port} -k {server.dir} -c fsync=off -c synchronous_commit=off"
    args = ["-m", "fast"] if action == "stop" else ["-l", str(server.dir / "log"), "-o", options]
    subprocess.run(server._cmd(str(server.bindir / "pg_ctl"), "-D", str(server.data), "-w", "-t", "60",
                               *args, action), check=True, capture_output=True, timeout=90)  # fmt: skip


async def test_postgresql_restarting_delays_incidents_but_loses_none(tmp_path: Path) -> None:
    """Its own server (the session's is shared): stopped (fast: sessions cut, then shut down) while
    incidents happen, started again."""
    if (reason := skip_reason()) is not None:
        pytest.skip(reason)
    with running_server() as server:
        url = server.create_database()
        code, err, bodies = await _watch_through_fault(
            tmp_path, url, lambda: _pg_ctl(server, "stop"), lambda: _pg_ctl(server, "start")
        )
        assert code == 0, err
        assert "store write failed" in err and "Traceback" not in err
        with psycopg.connect(url) as conn:
            (count,) = conn.execute("SELECT count(*) FROM incidents").fetchone() or (0,)
    assert count == PODS
    _each_opened_once(bodies)
