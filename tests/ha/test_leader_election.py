"""Lease-based leader election against the fake API server: create/get/update, 409s, an
expired lease taken over, a leader that cannot renew steps down in time, release on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import msgspec
import pytest

from podsleuth import errors
from podsleuth.kube import KubeClient
from podsleuth.kube.leader import LeaderElector, Outcome, format_time, parse_time
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.ha.conftest import LEASES
from tests.waiting import eventually

FAST = {"lease_duration": 1.5, "renew_deadline": 1.0, "retry_period": 0.2}


def lease_spec(api: FakeApiServer) -> dict[str, Any]:
    entry = api.store.get(LEASES, "podsleuth", "podsleuth-watcher")
    assert entry is not None
    spec: dict[str, Any] = msgspec.json.decode(entry.raw)["spec"]
    return spec


def elector(client: Any, identity: str, **kw: Any) -> LeaderElector:
    return LeaderElector(client, namespace="podsleuth", name="podsleuth-watcher", identity=identity,
                         **{**FAST, **kw})  # fmt: skip


@contextlib.asynccontextmanager
async def running(e: LeaderElector) -> AsyncIterator[LeaderElector]:
    task = asyncio.create_task(e.run())
    try:
        yield e
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(predicate: Any, within: float = 5.0) -> float:
    """Seconds until ``predicate`` held (hand-overs are timed with it)."""
    start = time.monotonic()
    await eventually(predicate, within=within)
    return time.monotonic() - start


def lease_requests(api: FakeApiServer) -> int:
    return sum(1 for _, path, _ in api.requests if "/leases" in path)


async def test_first_candidate_creates_the_lease_and_renews(api: FakeApiServer, client: KubeClient) -> None:
    events: list[str] = []
    a = elector(client, "a", on_started_leading=lambda: events.append("start"),
                on_stopped_leading=lambda: events.append("stop"))  # fmt: skip
    async with running(a):
        await until(lambda: a.is_leader)
        spec = lease_spec(api)
        assert (spec["holderIdentity"], spec["leaseDurationSeconds"], spec["leaseTransitions"]) == ("a", 2, 0)
        first_renew = parse_time(spec["renewTime"])
        assert first_renew is not None and abs(first_renew - time.time()) < 2
        b = elector(client, "b")
        async with running(b):
            # b has looked at the lease and a has renewed it since: b stands by, a leads on
            await until(lambda: b.holder == "a" and lease_spec(api)["renewTime"] != spec["renewTime"])
            assert a.is_leader and not b.is_leader and b.holder == "a"
        renewed = parse_time(lease_spec(api)["renewTime"])
        assert renewed is not None and renewed > first_renew
        assert lease_spec(api)["acquireTime"] == spec["acquireTime"]
    assert events == ["start"]  # cancelling run() calls nothing: release() does


async def test_two_candidates_creating_at_once(api: FakeApiServer, client: KubeClient) -> None:
    a, b = elector(client, "a"), elector(client, "b")
    outcomes = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
    assert sorted(o.value for o in outcomes) == ["held", "leading"]  # one got 409 AlreadyExists


class Interfering:
    """A client through which somebody else writes the lease between our GET and our PUT."""

    def __init__(self, client: KubeClient, api: FakeApiServer) -> None:
        self.client, self.api = client, api

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> bytes:
        raw = await self.client.get(path, params)
        obj = msgspec.json.decode(raw)
        obj["metadata"].pop("resourceVersion")
        self.api.put(LEASES, obj)  # bumps the resourceVersion
        return raw

    async def post(self, path: str, body: bytes | Mapping[str, Any]) -> bytes:
        return await self.client.post(path, body)

    async def put(self, path: str, body: bytes | Mapping[str, Any]) -> bytes:
        return await self.client.put(path, body)


async def test_a_stale_update_is_a_lost_race(api: FakeApiServer, client: KubeClient) -> None:
    api.put(LEASES, {"metadata": {"name": "podsleuth-watcher", "namespace": "podsleuth"}, "spec": {}})
    racer = elector(Interfering(client, api), "a")
    assert await racer.try_acquire_or_renew() is Outcome.FAILED  # PUT answered 409 Conflict
    assert not racer.is_leader
    assert lease_spec(api) == {}
    assert await elector(client, "a").try_acquire_or_renew() is Outcome.LEADING


async def test_an_expired_lease_is_taken_over(api: FakeApiServer, client: KubeClient) -> None:
    long_ago = time.time() - 100
    api.put(LEASES, {
        "metadata": {"name": "podsleuth-watcher", "namespace": "podsleuth"},
        "spec": {"holderIdentity": "dead", "leaseDurationSeconds": 15, "acquireTime": format_time(long_ago),
                 "renewTime": format_time(long_ago), "leaseTransitions": 4},
    })  # fmt: skip
    b = elector(client, "b")
    assert await b.try_acquire_or_renew() is Outcome.LEADING
    spec = lease_spec(api)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 5)
    assert b.generation == 5  # the term the store's fence records (docs/ha.md)
    acquired = parse_time(spec["acquireTime"])
    assert acquired is not None and acquired > long_ago + 90
    assert await b.try_acquire_or_renew() is Outcome.LEADING  # a renewal is no transition
    assert lease_spec(api)["leaseTransitions"] == 5 and b.generation == 5
    assert lease_spec(api)["acquireTime"] == spec["acquireTime"]


async def test_a_lease_that_stops_changing_expires_by_our_own_clock(
    api: FakeApiServer, client: KubeClient
) -> None:
    """The holder's clock may be skewed: a lease not renewed for its duration, as seen by us,
    is expired whatever its renewTime says."""
    now = [1000.0]
    future = time.time() + 3600  # the holder's clock runs an hour ahead
    api.put(LEASES, {
        "metadata": {"name": "podsleuth-watcher", "namespace": "podsleuth"},
        "spec": {"holderIdentity": "skewed", "leaseDurationSeconds": 15, "renewTime": format_time(future)},
    })  # fmt: skip
    b = elector(client, "b", clock=lambda: now[0], lease_duration=15.0, renew_deadline=10.0, retry_period=2.0)
    assert await b.try_acquire_or_renew() is Outcome.HELD
    now[0] += 14.0
    assert await b.try_acquire_or_renew() is Outcome.HELD
    now[0] += 1.0
    assert await b.try_acquire_or_renew() is Outcome.LEADING
    assert lease_spec(api)["holderIdentity"] == "b"


async def test_a_leader_denied_renewal_steps_down_within_the_deadline(
    api: FakeApiServer, client: KubeClient
) -> None:
    stopped: list[float] = []
    a = elector(client, "a", on_stopped_leading=lambda: stopped.append(time.monotonic()))
    async with running(a):
        await until(lambda: a.is_leader)
        denied_at = time.monotonic()
        api.deny("update", LEASES)
        await until(lambda: bool(stopped), within=3.0)
        assert not a.is_leader
        assert stopped[0] - denied_at <= FAST["renew_deadline"] + 0.1
        api.allow("update", LEASES)
        await until(lambda: a.is_leader, within=3.0)  # nobody else: it takes the lease back


async def test_a_leader_cut_off_from_the_server_steps_down(api: FakeApiServer, client: KubeClient) -> None:
    stopped: list[float] = []
    a = elector(client, "a", on_stopped_leading=lambda: stopped.append(time.monotonic()))
    async with running(a):
        await until(lambda: a.is_leader)
        down_at = time.monotonic()
        await api.stop()
        await until(lambda: bool(stopped), within=3.0)
        assert stopped[0] - down_at <= FAST["renew_deadline"] + 0.1
        assert not a.is_leader
        await api.start()  # the fixture stops it again


class Hanging:
    """An API server that accepts the connection and never answers updates."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.hang = False

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> bytes:
        return await self.client.get(path, params)

    async def post(self, path: str, body: bytes | Mapping[str, Any]) -> bytes:
        return await self.client.post(path, body)

    async def put(self, path: str, body: bytes | Mapping[str, Any]) -> bytes:
        if self.hang:
            await asyncio.Event().wait()
        return await self.client.put(path, body)


async def test_a_hung_renewal_is_bounded_by_the_deadline(api: FakeApiServer, client: KubeClient) -> None:
    hanging = Hanging(client)
    stopped: list[float] = []
    a = elector(hanging, "a", on_stopped_leading=lambda: stopped.append(time.monotonic()))
    async with running(a):
        await until(lambda: a.is_leader)
        hanging.hang = True
        hung_at = time.monotonic()
        await until(lambda: not a.is_leader, within=3.0)
        assert time.monotonic() - hung_at <= FAST["renew_deadline"] + 0.1
        await until(lambda: bool(stopped), within=1.0)  # the loop was not stuck in the call
        assert stopped[0] - hung_at <= FAST["renew_deadline"] + 0.2


async def test_release_hands_over_at_once(api: FakeApiServer, client: KubeClient) -> None:
    a = elector(client, "a", lease_duration=30.0, renew_deadline=20.0, retry_period=0.2)
    b = elector(client, "b", lease_duration=30.0, renew_deadline=20.0, retry_period=0.2)
    task_a = asyncio.create_task(a.run())
    await until(lambda: a.is_leader)
    async with running(b):
        await until(lambda: b.holder == "a")  # b has seen a's lease
        assert not b.is_leader
        task_a.cancel()
        await asyncio.gather(task_a, return_exceptions=True)
        assert await a.release()
        assert not a.is_leader
        spec = lease_spec(api)
        assert (spec["holderIdentity"], spec["leaseDurationSeconds"]) == ("", 1)
        took = await until(lambda: b.is_leader, within=2.0)  # not the 30 s lease duration
        assert took < 1.0
        assert lease_spec(api)["leaseTransitions"] == 1
        assert not await a.release()  # not leading: nothing to release


async def test_forbidden_lease_access_never_leads(api: FakeApiServer, client: KubeClient,
                                                  caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    api.deny("get", LEASES)
    a = elector(client, "a")
    async with running(a):
        seen = lease_requests(api)
        await until(lambda: lease_requests(api) >= seen + 2)  # a has tried, and tried again
        assert not a.is_leader
    assert any("forbidden" in r.getMessage() for r in caplog.records)


def test_durations_are_validated(client: KubeClient) -> None:
    with pytest.raises(errors.UsageError, match="renew deadline"):
        elector(client, "a", renew_deadline=2.0, lease_duration=2.0)
    with pytest.raises(errors.UsageError, match="identity"):
        elector(client, "")
