"""The webhook sink against a real local HTTP receiver, and the outbox around it: a sink that
is down then up gets the message exactly once; a killed process resumes from the store."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.alert.sinks import Batch, SinkError
from podsleuth.alert.sinks.webhook import WebhookSink
from podsleuth.config import AlertSettings, Receiver, WebhookReceiver
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, change, free_port, http_receiver
from tests.waiting import eventually


def settings_for(url: str, **webhook: Any) -> AlertSettings:
    return AlertSettings(receivers=[Receiver(name="hook", webhook=WebhookReceiver(url=url, **webhook))])


def options(settings: AlertSettings, **kw: object) -> AlertOptions:
    return replace(AlertOptions.from_settings(settings), group_wait=0.0, **kw)  # type: ignore[arg-type]


async def test_body_is_the_contract_change_signed_with_hmac(
    store: SqliteStore, clock: FakeClock, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret-key\n")
    async with http_receiver() as rec:
        settings = settings_for(
            rec.url + "/hook", headers={"X-Team": "shop"}, hmac_secret_file=str(secret_file), timeout=5
        )
        notifier = Notifier(settings, store, clock=clock, options=options(settings))
        sent = change(id="a")
        await notifier.submit(sent)
        await notifier.pump()
        await notifier.aclose()
    [(path, headers, body)] = rec.requests
    assert path == "/hook"
    # the contract change, plus the delivery block a receiver dedups redeliveries by
    assert json.loads(body) == {**sent, "delivery": {"sequence": 1, "possible_duplicate": False}}
    assert headers["X-Team"] == "shop"
    expected = "sha256=" + hmac.new(b"s3cret-key", body, hashlib.sha256).hexdigest()
    assert headers["X-Podsleuth-Signature"] == expected


async def test_down_then_up_delivers_exactly_once(store: SqliteStore, clock: FakeClock) -> None:
    port = free_port()
    settings = settings_for(f"http://127.0.0.1:{port}/hook", timeout=2)
    notifier = Notifier(
        settings, store, clock=clock, options=options(settings, backoff_base=5.0), rng=random.Random(1)
    )
    await notifier.submit(change(id="a"))
    await notifier.pump()  # connection refused
    [pending] = await store.deliveries(state="pending")
    assert pending.attempts == 1 and pending.next_attempt_at > clock.now
    async with http_receiver(port=port) as rec:
        await notifier.pump()  # not due yet: no second attempt
        assert rec.requests == []
        clock.advance(10)
        await notifier.pump()
        clock.advance(1000)
        await notifier.pump()
    await notifier.aclose()
    assert len(rec.requests) == 1
    assert [d.state for d in await store.deliveries()] == ["sent"]


async def test_dead_letter_after_max_attempts(
    store: SqliteStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with http_receiver() as rec:
        rec.status = 503
        settings = settings_for(rec.url)
        notifier = Notifier(settings, store, clock=clock, options=options(settings, max_attempts=3))
        await notifier.submit(change(id="a"))
        for _ in range(5):
            await notifier.pump()
            clock.advance(1000)
        await notifier.aclose()
    assert len(rec.requests) == 3
    [dead] = await store.deliveries(state="dead")
    assert dead.attempts == 3 and "503" in dead.last_error
    assert "dead-lettered" in caplog.text
    dead = {"receiver": "hook", "target": "webhook"}
    assert notifier.metrics.registry.get_sample_value("podsleuth_alert_dead_letters_total", dead) == 1


async def test_client_error_is_dead_at_once(store: SqliteStore, clock: FakeClock) -> None:
    async with http_receiver() as rec:
        rec.status = 400
        settings = settings_for(rec.url)
        notifier = Notifier(settings, store, clock=clock, options=options(settings))
        await notifier.submit(change(id="a"))
        await notifier.pump()
        await notifier.aclose()
    assert [d.state for d in await store.deliveries()] == ["dead"]


async def test_timeout_is_a_retryable_error() -> None:
    async with http_receiver(delay=2.0) as rec:
        sink = WebhookSink(WebhookReceiver(url=rec.url, timeout=0.2))
        from podsleuth.alert.model import decode_change

        batch = Batch("b1", "hook", [decode_change(change())], 0.0)
        with pytest.raises(SinkError, match=r"no answer within 0\.2s"):
            await sink.send(batch)
        await sink.aclose()


async def test_killed_mid_delivery_resumes_at_least_once(db_path: Path, clock: FakeClock) -> None:
    async with http_receiver(delay=30.0) as rec:
        settings = settings_for(rec.url, timeout=60)
        store1 = await SqliteStore.open(db_path)
        first = Notifier(settings, store1, clock=clock, options=options(settings))
        await first.submit(change(id="a"))
        await first.submit(change(id="b"))  # group_wait 0 but one pump: same batch
        pump = asyncio.create_task(first.pump())
        await asyncio.wait_for(rec.arrived.wait(), 5)
        pump.cancel()  # the process dies while the sink is answering
        await asyncio.gather(pump, return_exceptions=True)
        await first.aclose()
        await store1.aclose()
        # Submitted but never batched: also survives the restart.
        rec.delay = 0.0
        store2 = await SqliteStore.open(db_path)
        assert await store2.adopt_deliveries() == 1  # what `watch` does first: the batch of a, b
        second = Notifier(settings, store2, clock=clock, options=options(settings))
        await second.submit(change(id="c"))
        await second.pump()
        await second.pump()
        await second.aclose()
        assert [d.state for d in await store2.deliveries()] == ["sent", "sent"]
        await store2.aclose()
    bodies = [json.loads(body) for _, _, body in rec.requests]
    ids = [b["incident"]["id"] for b in bodies]
    # a and b were in flight when killed: sent again (at-least-once); c once; nothing lost.
    assert sorted(ids) == ["a", "a", "b", "b", "c"]
    # the second copies of a and b say so, under the same sequence number; c is not marked
    marks = sorted((b["incident"]["id"], b["delivery"]["sequence"], b["delivery"]["possible_duplicate"])
                   for b in bodies)  # fmt: skip
    assert marks == [("a", 1, False), ("a", 1, True), ("b", 1, False), ("b", 1, True), ("c", 1, False)]


async def test_run_loop_delivers_in_real_time(store: SqliteStore) -> None:
    async with http_receiver() as rec:
        settings = settings_for(rec.url)
        notifier = Notifier(settings, store, options=replace(options(settings), group_wait=0.05))
        runner = asyncio.create_task(notifier.run())
        await notifier.submit(change(id="a"))
        await notifier.submit(change(id="b"))
        await eventually(lambda: len(rec.requests) == 2, what="both deliveries")
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await notifier.aclose()
    assert len(rec.requests) == 2


async def test_a_hung_sink_does_not_block_the_others(store: SqliteStore) -> None:
    async with http_receiver(delay=30.0) as slow, http_receiver() as fast:
        settings = AlertSettings(
            receivers=[
                Receiver(name="slow", webhook=WebhookReceiver(url=slow.url, timeout=60)),
                Receiver(name="fast", webhook=WebhookReceiver(url=fast.url)),
            ]
        )
        notifier = Notifier(settings, store, options=options(settings))
        runner = asyncio.create_task(notifier.run())
        try:
            for n in range(5):
                await notifier.submit(change(id=f"i{n}"))
            await eventually(
                lambda: len(fast.requests) >= 5 and len(slow.requests) >= 5,
                what=f"all ten sends (fast {len(fast.requests)}, slow {len(slow.requests)})",
            )
        finally:  # never leave the notifier running into the receivers' shutdown
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await notifier.aclose()
    assert len(fast.requests) == 5
    assert len(slow.requests) == 5  # all in flight at once, none waiting behind another
    assert {d.state for d in await store.deliveries() if d.receiver == "slow"} == {"pending"}


class LateAnsweringStore(SqliteStore):
    """A real SQLite store whose answer to ``due_deliveries`` reaches the caller only after
    ``answer_after`` (the dispatch of a delivery in flight) has finished: that delivery is
    recorded as sent and out of the in-flight set, and the answer still describes its row as it
    was before (pending), which is what a busy store thread or a slow database does by chance."""

    answer_after: asyncio.Future[Any] | None = None

    async def due_deliveries(self, receiver: str, *, now: float, limit: int) -> list[Any]:
        rows = await super().due_deliveries(receiver, now=now, limit=limit)
        if (after := self.answer_after) is not None:
            self.answer_after = None
            await asyncio.wait_for(asyncio.shield(after), 5)
        return rows


async def test_a_stale_store_answer_does_not_send_a_finished_delivery_again(db_path: Path) -> None:
    async with http_receiver(delay=0.3) as rec:
        settings = settings_for(rec.url)
        store = await LateAnsweringStore.open(db_path)
        notifier = Notifier(settings, store, options=options(settings))
        await notifier.submit(change(id="a"))
        await notifier.flush("hook")
        first = asyncio.create_task(notifier.dispatch("hook", wait=True))
        await asyncio.wait_for(rec.arrived.wait(), 5)
        store.answer_after = first  # read while "a" is in flight, answered after it is sent
        await notifier.dispatch("hook", wait=True)
        await first
        await notifier.aclose()
        states = [d.state for d in await store.deliveries()]
        await store.aclose()
    assert len(rec.requests) == 1
    assert states == ["sent"]
