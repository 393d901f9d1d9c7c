"""group_wait folds changes into one message; repeat_interval holds back unchanged updates;
resolutions reach only receivers that heard of the incident."""

from __future__ import annotations

from dataclasses import replace

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.config import AlertSettings, Receiver
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, RecordingSink, change


def make(store: SqliteStore, clock: FakeClock, **opts: object) -> tuple[Notifier, RecordingSink]:
    settings = AlertSettings(receivers=[Receiver(name="team")])
    sink = RecordingSink()
    options = replace(AlertOptions.from_settings(settings), group_wait=10.0, repeat_interval=3600.0)
    options = replace(options, **opts)  # type: ignore[arg-type]
    return Notifier(settings, store, clock=clock, options=options, sinks={"team": {"webhook": sink}}), sink


async def test_changes_within_group_wait_become_one_message(store: SqliteStore, clock: FakeClock) -> None:
    notifier, sink = make(store, clock)
    await notifier.submit(change(id="a"))
    clock.advance(3)
    await notifier.submit(change(id="b", namespace="shop-eu"))
    await notifier.pump()
    assert sink.batches == []  # the window of the first change is still open
    clock.advance(7)
    await notifier.pump()
    assert sink.ids == [["a", "b"]]
    await notifier.submit(change(id="c"))
    clock.advance(10)
    await notifier.pump()
    assert sink.ids == [["a", "b"], ["c"]]


async def test_unchanged_update_waits_for_repeat_interval(store: SqliteStore, clock: FakeClock) -> None:
    notifier, sink = make(store, clock, group_wait=0.0)
    await notifier.submit(change(id="a"))
    await notifier.pump()
    for n in range(2, 5):
        clock.advance(600)
        await notifier.submit(change("incident.updated", id="a", count=n))
        await notifier.pump()
    assert sink.ids == [["a"]]  # counters only: no news
    clock.advance(1800)  # 3600 s after the first message
    await notifier.submit(change("incident.updated", id="a", count=9))
    await notifier.pump()
    assert sink.ids == [["a"], ["a"]]
    assert sink.batches[1].changes[0].incident.count == 9


async def test_a_real_change_is_sent_at_once(store: SqliteStore, clock: FakeClock) -> None:
    notifier, sink = make(store, clock, group_wait=0.0)
    await notifier.submit(change(id="a", diagnosed=False))
    await notifier.pump()
    clock.advance(60)
    await notifier.submit(change("incident.updated", id="a"))  # the diagnosis arrived
    await notifier.pump()
    assert sink.ids == [["a"], ["a"]]
    assert sink.batches[1].changes[0].incident.diagnosis is not None


async def test_resolution_only_to_receivers_that_heard(store: SqliteStore, clock: FakeClock) -> None:
    notifier, sink = make(store, clock)
    await notifier.submit(change(id="a"))
    await notifier.submit(change("incident.resolved", id="a"))  # opened and resolved in one window
    await notifier.submit(change(id="b"))
    clock.advance(10)
    await notifier.pump()
    assert sink.ids == [["b"]]
    await notifier.submit(change("incident.resolved", id="b"))
    clock.advance(10)
    await notifier.pump()
    assert sink.ids == [["b"], ["b"]]
    assert sink.batches[1].changes[0].resolved


async def test_send_resolved_off(store: SqliteStore, clock: FakeClock) -> None:
    notifier, sink = make(store, clock, group_wait=0.0, send_resolved=False)
    await notifier.submit(change(id="a"))
    await notifier.pump()
    await notifier.submit(change("incident.resolved", id="a"))
    await notifier.pump()
    assert sink.ids == [["a"]]


async def test_incident_store_keeps_open_incidents_and_timeline(store: SqliteStore, clock: FakeClock) -> None:
    notifier, _ = make(store, clock)
    await notifier.submit(change(id="a"))
    await notifier.submit(change("incident.updated", id="a", count=3))
    await notifier.submit(change(id="b"))
    await notifier.submit(change("incident.resolved", id="b"))
    assert [i.id for i in await store.open_incidents()] == ["a"]
    assert [e for _, e, _ in await store.timeline("a")] == ["incident.opened", "incident.updated"]
    record = await store.incident("b")
    assert record is not None and record.status == "resolved"


async def test_open_incident_is_renotified_without_updates(store: SqliteStore, clock: FakeClock) -> None:
    notifier, sink = make(store, clock, group_wait=0.0)
    await notifier.submit(change(id="a"))
    await notifier.submit(change(id="b"))
    await notifier.submit(change("incident.resolved", id="b"))
    await notifier.pump()
    assert sink.ids == [["a"]]
    clock.advance(1800)
    await notifier.pump()
    assert sink.ids == [["a"]]
    clock.advance(1801)
    await notifier.pump()
    assert sink.ids == [["a"], ["a"]]  # b is resolved: not repeated
    clock.advance(60)
    await notifier.pump()
    assert sink.ids == [["a"], ["a"]]


async def test_opened_folded_into_a_later_update_still_arrives_as_opened(
    store: SqliteStore, clock: FakeClock
) -> None:
    notifier, sink = make(store, clock)
    await notifier.submit(change(id="a", diagnosed=False))
    clock.advance(1)
    await notifier.submit(change("incident.updated", id="a", count=2))  # e.g. the full diagnosis
    clock.advance(10)
    await notifier.pump()
    (batch,) = sink.batches
    (only,) = batch.changes
    assert only.event == "incident.opened", "a receiver's first news of an incident is 'opened'"
    assert only.incident.count == 2, "with the latest state"
    clock.advance(60)
    await notifier.submit(change("incident.updated", id="a", count=3, root_cause="a different cause"))
    clock.advance(10)
    await notifier.pump()
    assert [c.event for b in sink.batches for c in b.changes] == ["incident.opened", "incident.updated"]
