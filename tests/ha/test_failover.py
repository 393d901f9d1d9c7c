"""Two ``podsleuth watch`` processes, one PostgreSQL, one fake API server, a real webhook
receiver: the leader is SIGKILLed, the standby takes over within the lease duration, and every
incident is alerted exactly once - including those that broke while nobody led. Then the new
leader is stopped with SIGTERM: it releases the Lease and a standby takes over at once."""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from podsleuth.lab.demo_cluster import demo_steps
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.alert.helpers import http_receiver
from tests.fakes.net import free_port
from tests.ha.conftest import LEASES
from tests.store.postgres_server import PostgresServer
from tests.waiting import eventually

LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 3.0, 2.0, 0.5
CONFIG = """
watch:
  thresholds: {{resolve_after: 1s}}
alerts:
  group_wait: 0s
  receivers:
    - name: hook
      webhook: {{url: "{url}", timeout: 5s}}
  routes:
    - receivers: [hook]
"""


def broken_pod(n: int) -> dict[str, Any]:
    """The demo's etl pod (CreateContainerConfigError), each copy owned by its own Job."""
    (etl,) = [s.obj for s in demo_steps(datetime.now(UTC)) if s.obj["metadata"]["name"].startswith("etl-")]
    pod = copy.deepcopy(etl)
    pod["metadata"]["name"] = f"etl{n}-28734950-x7d2k"
    pod["metadata"].pop("uid", None)
    for ref in pod["metadata"].get("ownerReferences", []):
        ref["name"], ref["uid"] = f"etl{n}-28734950", f"uid-etl{n}"
    return pod


class Watcher:
    def __init__(self, proc: asyncio.subprocess.Process, identity: str, metrics_port: int, log: Path) -> None:
        self.proc, self.identity, self.metrics_port, self.log = proc, identity, metrics_port, log

    @classmethod
    async def start(
        cls, identity: str, *, tmp_path: Path, kubeconfig: Path, store: str, config: Path
    ) -> Watcher:
        port = free_port()
        log = tmp_path / f"{identity}.log"
        with log.open("wb") as err, (tmp_path / f"{identity}.out").open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "podsleuth", "watch", "--kubeconfig", str(kubeconfig), "--store", store,
                "--config", str(config), "-o", "json", "--metrics-port", str(port),
                "--metrics-host", "127.0.0.1", "--leader-elect", "--lease-namespace", "podsleuth",
                "--identity", identity, "--lease-duration", str(LEASE_DURATION),
                "--renew-deadline", str(RENEW_DEADLINE), "--retry-period", str(RETRY_PERIOD),
                stdout=out, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        return cls(proc, identity, port, log)

    async def metric(self, name: str, *, total: bool = False) -> float | None:
        """The sample named ``name`` (``total``: the sum of the series starting with it)."""
        try:
            async with (
                aiohttp.ClientSession() as s,
                s.get(
                    f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=aiohttp.ClientTimeout(total=2)
                ) as r,
            ):
                text = await r.text()
        except (aiohttp.ClientError, TimeoutError):
            return None
        values = [
            float(line.rsplit(maxsplit=1)[1])
            for line in text.splitlines()
            if line.startswith(name if total else name + " ")
        ]
        return sum(values) if total and values else (values[0] if values else None)

    async def open_incidents(self) -> float:
        """Incidents open in this process's detector (leader or standby): what it has seen."""
        return await self.metric("podsleuth_incidents_open{", total=True) or 0.0

    async def ready(self) -> bool:
        try:
            async with (
                aiohttp.ClientSession() as s,
                s.get(
                    f"http://127.0.0.1:{self.metrics_port}/readyz", timeout=aiohttp.ClientTimeout(total=2)
                ) as r,
            ):
                return r.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False


async def until(predicate: Any, *, within: float, what: str) -> float:
    """Seconds until ``predicate`` held (the takeover timings are measured with it)."""
    start = time.monotonic()
    await eventually(predicate, within=within, what=what, every=0.05)
    return time.monotonic() - start


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    async with http_receiver() as rec:
        yield f"{rec.url}/hook", rec.json_bodies


async def test_failover_alerts_every_incident_exactly_once(
    tmp_path: Path, postgres_server: PostgresServer, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    store = postgres_server.create_database()
    config = tmp_path / "podsleuth.yaml"
    config.write_text(CONFIG.format(url=url))
    watchers: list[Watcher] = []

    async def start(identity: str) -> Watcher:
        w = await Watcher.start(
            identity, tmp_path=tmp_path, kubeconfig=kubeconfig, store=store, config=config
        )
        watchers.append(w)
        return w

    def holder() -> str | None:
        entry = api.store.get(LEASES, "podsleuth", "podsleuth-watcher")
        return None if entry is None else msgspec.json.decode(entry.raw)["spec"].get("holderIdentity")

    def alerted_pods() -> set[str]:
        return {r["incident"]["pod"] for r in received}

    def dump() -> str:
        return "\n".join(f"--- {w.identity}\n{w.log.read_text(errors='replace')[-3000:]}" for w in watchers)

    timings: dict[str, float] = {}
    try:
        async with FakeApiServer(bookmark_interval=None) as api:
            kubeconfig = api.kubeconfig_path(tmp_path)
            pods = [broken_pod(n) for n in range(8)]  # the last one is the closing marker
            names = [p["metadata"]["name"] for p in pods]
            for pod in pods[:2]:
                api.put("pods", pod)

            a = await start("a")
            await until(lambda: holder() == "a", within=20, what="a to lead")
            b = await start("b")
            await until(b.ready, within=20, what="b to sync")
            await until(lambda: alerted_pods() >= set(names[:2]), within=15, what="the first alerts")
            assert await a.metric("podsleuth_leader") == 1.0
            assert await b.metric("podsleuth_leader") == 0.0
            for pod in pods[2:4]:
                api.put("pods", pod)
            await until(lambda: alerted_pods() >= set(names[:4]), within=15, what="alerts from a")
            await until(lambda: _at_least(b.open_incidents(), 4), within=15, what="b to detect them too")

            a.proc.kill()  # SIGKILL: no release, the lease must expire
            killed = time.monotonic()
            for pod in pods[4:6]:  # broken while nobody leads
                api.put("pods", pod)
            await until(lambda: holder() == "b", within=LEASE_DURATION + 5, what=f"b to take over\n{dump()}")
            timings["takeover_after_sigkill"] = time.monotonic() - killed
            await until(
                lambda: alerted_pods() >= set(names[:6]), within=15, what=f"the gap's alerts\n{dump()}"
            )
            timings["gap_alerts_after_sigkill"] = time.monotonic() - killed
            assert await b.metric("podsleuth_leader") == 1.0

            c = await start("c")
            await until(c.ready, within=20, what="c to sync")
            await until(lambda: _at_least(c.open_incidents(), 6), within=15, what="c to detect them")
            assert (tmp_path / "c.out").read_text() == "", "a standby printed incident changes"
            b.proc.send_signal(signal.SIGTERM)  # releases the lease on the way out
            stopped = time.monotonic()
            await until(lambda: holder() == "c", within=LEASE_DURATION, what=f"c to take over\n{dump()}")
            timings["takeover_after_sigterm"] = time.monotonic() - stopped
            assert await asyncio.wait_for(b.proc.wait(), timeout=15) == 0, dump()
            api.put("pods", pods[6])
            await until(lambda: alerted_pods() >= set(names[:7]), within=15, what=f"c's alerts\n{dump()}")
            # a closing marker: c delivers in order, so once its alert is in, a duplicate of an
            # earlier incident (queued at takeover) would have been delivered before it
            api.put("pods", pods[7])
            await until(lambda: alerted_pods() == set(names), within=15, what=f"the marker's alert\n{dump()}")
    finally:
        for w in watchers:
            if w.proc.returncode is None:
                w.proc.kill()
            await w.proc.wait()
    print("failover timings (s):", {k: round(v, 2) for k, v in timings.items()})

    ids_by_pod: dict[str, set[str]] = {}
    for r in received:
        ids_by_pod.setdefault(r["incident"]["pod"], set()).add(r["incident"]["id"])
    assert all(len(ids) == 1 for ids in ids_by_pod.values()), ids_by_pod  # no incident opened twice
    opened = Counter(r["incident"]["id"] for r in received if r["event"] == "incident.opened")
    assert len(opened) == 8 and all(n == 1 for n in opened.values()), opened  # each exactly once
    first_events = {}
    for r in received:
        first_events.setdefault(r["incident"]["id"], r["event"])
    assert set(first_events.values()) == {"incident.opened"}, received  # and announced as opened
    assert timings["takeover_after_sigkill"] < LEASE_DURATION + 2 * RETRY_PERIOD + 1.0
    assert timings["takeover_after_sigterm"] < 2 * RETRY_PERIOD + 0.5


async def test_a_leader_that_cannot_renew_stops_notifying_and_catches_up_later(
    tmp_path: Path, postgres_server: PostgresServer, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    store = postgres_server.create_database()
    config = tmp_path / "podsleuth.yaml"
    config.write_text(CONFIG.format(url=url))
    pods = [broken_pod(n) for n in range(3)]
    names = [p["metadata"]["name"] for p in pods]
    async with FakeApiServer(bookmark_interval=None) as api:
        kubeconfig = api.kubeconfig_path(tmp_path)
        api.put("pods", pods[0])
        a = await Watcher.start("a", tmp_path=tmp_path, kubeconfig=kubeconfig, store=store, config=config)
        try:
            await until(lambda: {r["incident"]["pod"] for r in received} == {names[0]}, within=20,
                        what="the first alert")  # fmt: skip
            api.deny("update", LEASES)
            denied = time.monotonic()

            async def standing_down() -> bool:
                return await a.metric("podsleuth_leader") == 0.0

            await until(standing_down, within=RENEW_DEADLINE + 2, what="a to step down")
            stepped_down = time.monotonic() - denied
            lines = (tmp_path / "a.out").read_text().count("\n")
            api.put("pods", pods[1])  # a sees it but must not tell anybody
            await until(lambda: _at_least(a.open_incidents(), 2), within=10, what="a to see it")
            assert {r["incident"]["pod"] for r in received} == {names[0]}
            assert (tmp_path / "a.out").read_text().count("\n") == lines, "a printed while not leading"
            api.allow("update", LEASES)  # the lease still names a: it leads again and catches up
            await until(lambda: {r["incident"]["pod"] for r in received} == set(names[:2]), within=10,
                        what="the catch-up alert")  # fmt: skip
            api.put("pods", pods[2])
            await until(lambda: {r["incident"]["pod"] for r in received} == set(names), within=10,
                        what="a live alert again")  # fmt: skip
        finally:
            a.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(a.proc.wait(), timeout=15) == 0
    assert stepped_down <= RENEW_DEADLINE + RETRY_PERIOD + 1.0  # metric scraped every 50 ms
    opened = Counter(r["incident"]["id"] for r in received if r["event"] == "incident.opened")
    assert all(n == 1 for n in opened.values()), opened


async def _at_least(value: Awaitable[float], n: float) -> bool:
    return await value >= n
