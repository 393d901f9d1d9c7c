"""Fencing: a deposed leader (its Lease lost, not crashed) sends nothing once the store names a
newer leader, and a step-down cancels the deliveries in flight; the new leader adopts them and
sends them again, marked. Two stores on one real PostgreSQL stand for the two replicas; the
receiver is a real HTTP server."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.config import AlertSettings, Receiver, WebhookReceiver
from podsleuth.store import open_store
from podsleuth.store.base import Store
from tests.alert.helpers import change, http_receiver
from tests.store.postgres_server import PostgresServer


def notifier(url: str, store: Store, holder: str, generation: int) -> Notifier:
    settings = AlertSettings(receivers=[Receiver(name="hook", webhook=WebhookReceiver(url=url, timeout=10))])
    options = replace(AlertOptions.from_settings(settings), group_wait=0.0)

    async def fence() -> bool:
        return await store.holds_fence(holder=holder, generation=generation)

    return Notifier(settings, store, options=options, fence=fence)


def bodies(requests: list[tuple[str, dict[str, str], bytes]]) -> list[tuple[str, bool]]:
    out = []
    for _, _, raw in requests:
        body: dict[str, Any] = json.loads(raw)
        out.append((body["incident"]["id"], body["delivery"]["possible_duplicate"]))
    return out


async def test_a_deposed_leader_sends_nothing_and_the_new_one_sends_it(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database()
    store_a, store_b = await open_store(url), await open_store(url)
    async with http_receiver() as rec:
        a = notifier(rec.url, store_a, "a", 1)
        b = notifier(rec.url, store_b, "b", 2)
        try:
            assert await store_a.fence(holder="a", generation=1, at=1.0)
            await a.submit(change(id="x"))
            await a.pump()
            assert bodies(rec.requests) == [("x", False)]
            assert await store_b.fence(holder="b", generation=2, at=2.0)  # b takes the Lease over
            await a.submit(change(id="y"))  # a has not noticed yet: it still batches...
            await a.pump()
            assert bodies(rec.requests) == [("x", False)]  # ...but its delivery does not start
            assert await store_b.adopt_deliveries() == 1  # a handed it out: in doubt
            await b.pump()
            assert [i for i, _ in bodies(rec.requests)] == ["x", "y"]  # sent once, by b
            await b.pump()
            await a.pump()
            assert len(rec.requests) == 2
        finally:
            for n in (a, b):
                await n.aclose()
            await store_a.aclose()
            await store_b.aclose()


async def test_a_step_down_cancels_deliveries_in_flight(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    store_a, store_b = await open_store(url), await open_store(url)
    async with http_receiver(delay=5.0, cancel_on_disconnect=True) as rec:
        a = notifier(rec.url, store_a, "a", 1)
        b = notifier(rec.url, store_b, "b", 2)
        try:
            assert await store_a.fence(holder="a", generation=1, at=1.0)
            await a.submit(change(id="x"))
            pump = asyncio.create_task(a.pump())
            await asyncio.wait_for(rec.arrived.wait(), 5)
            a.cancel_deliveries()  # what a step-down does: the send stops now, not at its timeout
            await asyncio.wait_for(asyncio.gather(pump, return_exceptions=True), 2)
            (pending,) = await store_a.deliveries(state="pending")
            assert pending.attempts == 0
            assert await store_b.fence(holder="b", generation=2, at=2.0)
            assert await store_b.adopt_deliveries() == 1
            rec.delay = 0.0
            await b.pump()
            # the receiver got x while a was cut off; b's copy says it may be a duplicate
            assert bodies(rec.requests) == [("x", False), ("x", True)]
            assert [d.state for d in await store_b.deliveries()] == ["sent"]
        finally:
            for n in (a, b):
                await n.aclose()
            await store_a.aclose()
            await store_b.aclose()
