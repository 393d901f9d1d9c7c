"""Per sink target, the changes of one incident arrive in order and never two at once: a resolve
does not overtake a firing that is being retried; other incidents are not held up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.alert.sinks import Batch, SinkError
from podsleuth.config import AlertSettings, Receiver, WebhookReceiver
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, RecordingSink, change
from tests.waiting import eventually

SETTINGS = AlertSettings(receivers=[Receiver(name="hook", webhook=WebhookReceiver(url="http://127.0.0.1:9/"))])


def options(**kw: object) -> AlertOptions:
    return replace(AlertOptions.from_settings(SETTINGS), group_wait=0.0, **kw)  # type: ignore[arg-type]


def events(sink: RecordingSink) -> list[tuple[str, str]]:
    return [(c.incident.id, c.event) for b in sink.batches for c in b.changes]


async def test_a_resolve_waits_for_the_retried_firing(store: SqliteStore, clock: FakeClock) -> None:
    sink = RecordingSink()
    notifier = Notifier(SETTINGS, store, clock=clock, options=options(), sinks={"hook": {"webhook": sink}})
    sink.fail_with = SinkError("HTTP 503")
    await notifier.submit(change("incident.opened", id="x"))
    await notifier.pump()  # fails: retried after a backoff
    [pending] = await store.deliveries(state="pending")
    assert pending.attempts == 1
    sink.fail_with = None
    await notifier.submit(change("incident.resolved", id="x"))
    await notifier.submit(change("incident.opened", id="y"))
    await notifier.pump()
    assert events(sink) == []  # x's resolve waits for x's firing; y shares its batch
    await notifier.submit(change("incident.opened", id="z"))
    await notifier.pump()
    assert events(sink) == [("z", "incident.opened")]  # another incident is not held up
    clock.advance(1000)
    await notifier.pump()  # the retry goes, then what waited behind it
    assert events(sink) == [
        ("z", "incident.opened"),
        ("x", "incident.opened"),
        ("x", "incident.resolved"),
        ("y", "incident.opened"),
    ]
    assert {d.state for d in await store.deliveries()} == {"sent"}
    await notifier.aclose()


class GatedSink:
    """Holds deliveries of incident ``x`` until released; records overlapping deliveries."""

    def __init__(self) -> None:
        self.target = "webhook"
        self.description = "gated"
        self.secrets: tuple[str, ...] = ()
        self.gate = asyncio.Event()
        self.in_flight: set[str] = set()
        self.started: list[tuple[str, str]] = []
        self.done: list[tuple[str, str]] = []
        self.overlaps: list[str] = []

    async def send(self, batch: Batch) -> None:
        ids = [c.incident.id for c in batch.changes]
        self.overlaps += [i for i in ids if i in self.in_flight]
        self.in_flight.update(ids)
        self.started += [(c.incident.id, c.event) for c in batch.changes]
        try:
            if "x" in ids:
                await self.gate.wait()
        finally:
            self.in_flight.difference_update(ids)
        self.done += [(c.incident.id, c.event) for c in batch.changes]

    async def aclose(self) -> None:
        return None


async def until(condition: Callable[[], bool]) -> None:
    await eventually(condition)


async def test_one_incident_is_never_in_flight_twice(store: SqliteStore) -> None:
    sink = GatedSink()  # idle_poll: the worker's passes come often, so waiting for one is quick
    notifier = Notifier(SETTINGS, store, options=options(idle_poll=0.05), sinks={"hook": {"webhook": sink}})
    runner = asyncio.create_task(notifier.run())
    try:
        await notifier.submit(change("incident.opened", id="x"))
        await until(lambda: ("x", "incident.opened") in sink.started)
        await notifier.submit(change("incident.opened", id="y"))
        await until(lambda: ("y", "incident.opened") in sink.done)  # in parallel with x's
        await notifier.submit(change("incident.updated", id="x", severity="critical"))
        seen = notifier.passes["hook"]
        await until(lambda: notifier.passes["hook"] >= seen + 2)  # a whole pass saw the update
        assert sink.started == [("x", "incident.opened"), ("y", "incident.opened")]
        sink.gate.set()
        await until(lambda: ("x", "incident.updated") in sink.done)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await notifier.aclose()
    assert sink.overlaps == []
    assert [e for e in sink.done if e[0] == "x"] == [("x", "incident.opened"), ("x", "incident.updated")]
