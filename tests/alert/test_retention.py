"""The notifier's retention sweep: what is finished and older than ``retention`` is deleted, on
demand (``prune``) and by the running notifier (at start, then every ``prune_interval``)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.config import AlertSettings, Receiver, WebhookReceiver
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, RecordingSink, change
from tests.waiting import eventually

SETTINGS = AlertSettings(receivers=[Receiver(name="hook", webhook=WebhookReceiver(url="http://127.0.0.1:9/"))])
DAY = 86400.0


def options(**kw: object) -> AlertOptions:
    return replace(AlertOptions.from_settings(SETTINGS), group_wait=0.0, **kw)  # type: ignore[arg-type]


async def resolved_incident(notifier: Notifier) -> None:
    await notifier.submit(change("incident.opened", id="old"))
    await notifier.pump()
    await notifier.submit(change("incident.resolved", id="old"))
    await notifier.pump()


def test_default_retention_is_14_days() -> None:
    assert AlertOptions().retention == 14 * DAY
    assert AlertOptions().prune_interval == 3600.0


async def test_prune_deletes_after_the_retention(store: SqliteStore, clock: FakeClock) -> None:
    sink = RecordingSink()
    notifier = Notifier(SETTINGS, store, clock=clock, options=options(), sinks={"hook": {"webhook": sink}})
    await resolved_incident(notifier)
    await notifier.submit(change("incident.opened", id="open"))
    await notifier.pump()
    assert len(sink.batches) == 3
    clock.advance(13 * DAY)
    assert set((await notifier.prune()).values()) == {0}  # not old enough yet
    clock.advance(2 * DAY)
    counts = await notifier.prune()
    assert counts["incidents"] == 1 and counts["timeline"] == 2 and counts["deliveries"] == 3
    assert await store.incident("old") is None
    assert [i.id for i in await store.open_incidents()] == ["open"]  # open incidents stay
    assert await store.deliveries() == []
    await notifier.aclose()


async def test_retention_zero_keeps_everything(store: SqliteStore, clock: FakeClock) -> None:
    sinks = {"hook": {"webhook": RecordingSink()}}
    notifier = Notifier(SETTINGS, store, clock=clock, options=options(retention=0.0), sinks=sinks)  # type: ignore[arg-type]
    await resolved_incident(notifier)
    clock.advance(365 * DAY)
    assert await notifier.prune() == {}
    assert await store.incident("old") is not None
    await notifier.aclose()


class SweepCountingStore(SqliteStore):
    """The real store, counting retention sweeps: what the test waits for instead of sleeping."""

    sweeps = 0

    async def prune(self, older_than: float) -> dict[str, int]:
        counts = await super().prune(older_than)
        self.sweeps += 1
        return counts


async def test_the_running_notifier_sweeps(db_path: Path, clock: FakeClock) -> None:
    store = await SweepCountingStore.open(db_path)
    sink = RecordingSink()
    notifier = Notifier(
        SETTINGS, store, clock=clock, options=options(prune_interval=0.05), sinks={"hook": {"webhook": sink}}
    )
    await resolved_incident(notifier)
    runner = asyncio.create_task(notifier.run())
    try:
        await eventually(lambda: store.sweeps >= 1, what="the first sweep")
        assert await store.incident("old") is not None  # swept at start, but not old enough
        clock.advance(15 * DAY)

        async def gone() -> bool:
            return await store.incident("old") is None

        await eventually(gone, what="a later sweep to delete it")
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await notifier.aclose()
        await store.aclose()
