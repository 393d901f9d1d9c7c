"""The leadership unit alone, no CLI: two replicas' ``Leadership`` over one fake API server's
Lease and one real PostgreSQL take over from each other (fence, adopt the deliveries left in
flight, replay the warm shadow); without election, a restart over a real SQLite store adopts
what it re-detects silently and resolves what it no longer sees. The receiver is a real HTTP
server, the notifier the real one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web
from prometheus_client import CollectorRegistry

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.cli.election import Election, Term
from podsleuth.cli.leadership import Leadership, LeadershipOptions, leader_gauge
from podsleuth.config import AlertSettings, Receiver, WebhookReceiver
from podsleuth.detect import Incident, IncidentChange
from podsleuth.detect.owner import Owner
from podsleuth.kube import KubeClient
from podsleuth.kube.leader import LeaseApi
from podsleuth.store import open_store
from podsleuth.store.base import Store
from tests.fakes.net import free_port
from tests.store.postgres_server import PostgresServer
from tests.waiting import eventually

FAST = {"lease_duration": 1.5, "renew_deadline": 1.0, "retry_period": 0.2}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def change(pod: str, kind: str = "incident.opened", *, count: int = 1, by: str = "a") -> IncidentChange:
    """What the detector of replica ``by`` emits for ``pod``: each detector names incidents
    with ids of its own; the fingerprint is the same everywhere."""
    incident = Incident(
        id=f"{pod}@{by}", fingerprint=f"fp-{pod}", category="container-start",
        reason="RunContainerError", signature=None, severity="error", namespace="shop", pod=pod,
        node="node-3", container="app", owner=Owner(kind="Deployment", name="web"),
        message="failed to create containerd task", count=count, first_seen=T0, last_seen=T0,
    )  # fmt: skip
    return IncidentChange(kind=kind, incident=incident)  # type: ignore[arg-type]


async def until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    await eventually(predicate, within=within)


class Cuttable:
    """This replica's way to the API server; ``cut``: its Lease writes hang (a partition)."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.cut = False

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> bytes:
        return await self.client.get(path, params)

    async def post(self, path: str, body: bytes | Mapping[str, Any]) -> bytes:
        return await self.client.post(path, body)

    async def put(self, path: str, body: bytes | Mapping[str, Any]) -> bytes:
        if self.cut:
            await asyncio.Event().wait()
        return await self.client.put(path, body)


class Holding:
    """A webhook receiver (real HTTP) that holds its first request until the sender hangs up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.json_bodies: list[Any] = []
        self.arrived, self.hung_up = asyncio.Event(), asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.json_bodies.append(json.loads(await request.read()))
        if not self.arrived.is_set():
            self.arrived.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:  # aiohttp cancels the handler when the client hangs up
                self.hung_up.set()
                raise
        return web.Response(text="ok")


@contextlib.asynccontextmanager
async def holding_receiver() -> AsyncIterator[Holding]:
    rec = Holding()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", rec.port).start()
    try:
        yield rec
    finally:
        await runner.cleanup()


class Replica:
    """One replica as the CLI composes it, its publish step recording what it would print."""

    def __init__(self, store: Store, *, url: str | None = None, api: LeaseApi | None = None,
                 identity: str = "a") -> None:  # fmt: skip
        election = Election(namespace="podsleuth", name="podsleuth-watcher", identity=identity, **FAST)
        elector = None if api is None else election.elector(api)
        self.name, self.store, self.registry = identity, store, CollectorRegistry()
        self.term = Term(store, elector)
        receivers = (
            [] if url is None else [Receiver(name="hook", webhook=WebhookReceiver(url=url, timeout=10))]
        )
        settings = AlertSettings(receivers=receivers)
        options = replace(AlertOptions.from_settings(settings), group_wait=0.0)
        self.notifier = Notifier(
            settings, store, options=options, registry=self.registry, fence=self.term.holds
        )
        self.printed: list[tuple[str, str, int]] = []
        self.synced = asyncio.Event()
        self.leadership = Leadership(
            self.term, self.notifier, self.publish, self.synced,
            LeadershipOptions(resolve_after=0.0, gauge=leader_gauge(self.registry)),
        )  # fmt: skip
        self._run: asyncio.Task[None] | None = None

    async def publish(self, change: IncidentChange) -> None:
        self.printed.append((change.kind, change.incident.id, change.incident.count))
        await self.notifier.submit(change.to_contract())

    @property
    def gauge(self) -> float | None:
        return self.registry.get_sample_value("podsleuth_leader")

    def start(self) -> None:
        self._run = asyncio.create_task(self.leadership.run())

    async def close(self) -> None:
        """The CLI's order: stop the run, step down, close the notifier, release the Lease."""
        if self._run is not None:
            self._run.cancel()
            await asyncio.gather(self._run, return_exceptions=True)
        await self.leadership.stop()
        await self.notifier.aclose()
        await self.leadership.release()
        await self.store.aclose()


async def both(replicas: list[Replica], pod: str) -> None:
    """Every replica's detector sees ``pod`` break (each under an incident id of its own)."""
    for r in replicas:
        await r.leadership.emit(change(pod, by=r.name))


def sent(bodies: list[Any]) -> list[tuple[str, bool]]:
    return [(b["incident"]["pod"], b["delivery"]["possible_duplicate"]) for b in bodies]


async def test_takeover_step_down_and_adopted_deliveries(
    client: KubeClient, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database()
    cut_a = Cuttable(client)
    async with holding_receiver() as rec:
        a = Replica(await open_store(url), url=rec.url, api=cut_a, identity="a")
        b = Replica(await open_store(url), url=rec.url, api=client, identity="b")
        try:
            a.start()
            await until(lambda: a.leadership.active)
            b.start()
            await until(lambda: b.term.elector is not None and b.term.elector.holder == "a")
            assert (a.gauge, b.gauge) == (1.0, 0.0) and not b.leadership.active

            await both([a, b], "x")
            await asyncio.wait_for(rec.arrived.wait(), 5)  # a's delivery of x is in flight, held
            assert [p[1] for p in a.printed] == ["x@a"] and b.printed == []

            cut_a.cut = True  # a can no longer renew: it steps down at its renew deadline
            cut_at = time.monotonic()
            await until(lambda: not a.leadership.active, within=3.0)
            assert time.monotonic() - cut_at <= FAST["renew_deadline"] + 0.3
            assert a.gauge == 0.0
            (pending,) = await a.store.deliveries(state="pending")  # cancelled, not failed: no attempt
            assert pending.attempts == 0
            await asyncio.wait_for(rec.hung_up.wait(), 1.0)  # its send was cancelled, not left to run

            await both([a, b], "y")  # while nobody leads: only the shadows know
            assert len(a.printed) == 1 and b.printed == []

            await until(lambda: b.leadership.active, within=5.0)
            assert b.gauge == 1.0
            assert b.term.elector is not None and b.term.elector.generation == 1
            assert await b.store.holds_fence(holder="b", generation=1)
            assert not await a.term.holds()
            # x: stored by a with the same content, adopted silently; y: unknown to the store
            assert b.printed == [("incident.opened", "y@b", 1)]
            await until(lambda: len(rec.json_bodies) >= 3)
            assert sorted(sent(rec.json_bodies)) == [("x", False), ("x", True), ("y", False)]

            await both([a, b], "z")
            assert [p[1] for p in b.printed] == ["y@b", "z@b"]
            assert len(a.printed) == 1  # the deposed replica publishes nothing
            await until(lambda: len(rec.json_bodies) >= 4)
            assert sent(rec.json_bodies)[3:] == [("z", False)]
            stored = {r.fingerprint: r.id for r in await b.store.open_incidents()}
            assert stored == {"fp-x": "x@a", "fp-y": "y@b", "fp-z": "z@b"}  # one id each
        finally:
            for r in (a, b):
                await r.close()
    assert len(rec.json_bodies) == 4  # nothing sent twice unmarked, nothing after the end


async def test_without_election_a_restart_adopts_and_resolves_what_it_no_longer_sees(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'incidents.db'}"
    first = Replica(await open_store(url))
    try:
        first.start()
        await until(lambda: first.leadership.active)
        assert first.gauge == 1.0
        await first.leadership.emit(change("x"))
        await first.leadership.emit(change("w"))
        assert [p[1] for p in first.printed] == ["x@a", "w@a"]
    finally:
        await first.close()

    again = Replica(await open_store(url), identity="b")  # a new detector: new ids
    try:
        await again.leadership.emit(change("x", by=again.name))  # re-detected before the store was read
        again.start()
        await until(lambda: again.leadership.active)
        assert again.printed == []  # x: the stored incident, same content, no new occurrence
        again.synced.set()  # the initial lists are in; w is gone: resolved after resolve_after
        await until(lambda: bool(again.printed))
        assert again.printed == [("incident.resolved", "w@a", 1)]
        await again.leadership.emit(
            change("x", "incident.updated", count=2, by=again.name)
        )  # it happened again
        assert again.printed[1:] == [("incident.updated", "x@a", 2)]  # the stored id
        assert [r.id for r in await again.store.open_incidents()] == ["x@a"]
    finally:
        await again.close()


async def test_leading_again_does_not_replay_an_earlier_incident_onto_a_newer_one(
    client: KubeClient, postgres_server: PostgresServer
) -> None:
    """Found by the soak: a node flapped twice (two incidents, one fingerprint, the first one
    resolved before the second opened); the leader stepped down and led again, and its catch-up
    matched the first incident's resolve to the second (open) one by fingerprint - a false
    "resolved", then "opened" again. Leading again must publish nothing here."""
    cut = Cuttable(client)
    a = Replica(await open_store(postgres_server.create_database()), api=cut, identity="a")
    first = change("n")
    second = IncidentChange(kind="incident.opened", incident=msgspec.structs.replace(
        first.incident, id="n-again@a", first_seen=T0 + timedelta(seconds=90),
        last_seen=T0 + timedelta(seconds=90),
    ))  # fmt: skip
    resolved = IncidentChange(kind="incident.resolved", incident=msgspec.structs.replace(
        first.incident, last_seen=T0 + timedelta(seconds=30), resolved_at=T0 + timedelta(seconds=30),
    ))  # fmt: skip
    try:
        a.start()
        await until(lambda: a.leadership.active)
        for c in (first, resolved, second):
            await a.leadership.emit(c)
        assert [p[:2] for p in a.printed] == [
            ("incident.opened", "n@a"), ("incident.resolved", "n@a"), ("incident.opened", "n-again@a")
        ]
        cut.cut = True
        await until(lambda: not a.leadership.active, within=3.0)
        cut.cut = False
        await until(lambda: a.leadership.active, within=5.0)
        assert a.printed[3:] == []  # nothing the store does not already say
        assert [r.id for r in await a.store.open_incidents()] == ["n-again@a"]
    finally:
        await a.close()
