"""Every store backend (SQLite, PostgreSQL): versioned schema, state that survives a reopen,
concurrent writers, and the queue -> batch -> outbox life of a notification."""

from __future__ import annotations

import asyncio

import pytest

from podsleuth.store.base import BatchPlan, Delivery, NotifyState, Silence, Store
from podsleuth.store.common import with_sequence
from tests.store.conftest import Backend


def incident_change(event: str, iid: str) -> dict[str, object]:
    return {"event": event, "incident": {"id": iid, "fingerprint": f"fp-{iid}", "category": "crash-loop"}}


async def test_schema_version(backend: Backend) -> None:
    store = await backend.open()
    await store.aclose()
    assert backend.read_version() == backend.schema_version
    tables = backend.tables()
    assert {"incidents", "timeline", "queue", "deliveries", "notification_log", "silences"} <= tables
    store = await backend.open()  # reopening an up-to-date database migrates nothing
    await store.aclose()
    assert backend.read_version() == backend.schema_version


async def test_newer_schema_is_refused(backend: Backend) -> None:
    backend.write_version(backend.schema_version + 1)
    with pytest.raises(RuntimeError, match="newer"):
        await backend.open()


async def test_open_incidents_survive_a_restart(backend: Backend) -> None:
    store = await backend.open()
    await store.record_change(incident_change("incident.opened", "a"), at=1.0)
    await store.record_change(incident_change("incident.opened", "b"), at=2.0)
    await store.record_change(incident_change("incident.resolved", "b"), at=3.0)
    await store.aclose()
    store = await backend.open()
    assert [i.id for i in await store.open_incidents()] == ["a"]
    assert [e for _, e, _ in await store.timeline("b")] == ["incident.opened", "incident.resolved"]
    record = await store.incident("b")
    assert record is not None
    assert (record.status, record.opened_at, record.resolved_at) == ("resolved", 2.0, 3.0)
    assert record.data["category"] == "crash-loop"
    assert await store.incident("nope") is None
    await store.aclose()


async def test_concurrent_writers(backend: Backend) -> None:
    """The CLI adds silences while the watcher writes incidents to the same database."""
    a, b = await backend.open(), await backend.open()

    async def incidents() -> None:
        for n in range(200):
            await a.record_change(incident_change("incident.opened", f"i{n}"), at=float(n))

    async def silences() -> None:
        for n in range(50):
            await b.add_silence(Silence(f"s{n}", {"namespace": "x"}, 0.0, 10.0, "", "me", 0.0))

    await asyncio.gather(incidents(), silences())
    assert len(await b.open_incidents()) == 200
    assert len(await a.silences(now=1.0)) == 50
    assert await a.expire_silence("s7", at=2.0)
    assert len(await b.silences(now=3.0)) == 49
    assert len(await b.silences(now=3.0, include_expired=True)) == 50
    assert not await a.expire_silence("s7", at=4.0)
    await a.aclose()
    await b.aclose()


async def test_queue_batch_outbox(backend: Backend) -> None:
    store = await backend.open()
    change = incident_change("incident.opened", "a")
    await store.record_and_enqueue(change, [("hook", "a", "incident.opened", change, 5.0)], at=1.0)
    other = incident_change("incident.opened", "b")
    await store.enqueue([("hook", "b", "incident.opened", other, 7.0)], at=2.0)
    assert await store.next_ready_at("hook") == 5.0
    assert await store.next_ready_at("nobody") is None
    rows = await store.queued("hook")
    # queued changes carry their incident's change sequence number: "a" has one recorded change,
    # "b" was queued without one
    assert [(r.incident_id, r.ready_at, r.change) for r in rows] == [
        ("a", 5.0, with_sequence(change, 1)),
        ("b", 7.0, with_sequence(other, 0)),
    ]

    plan = BatchPlan(
        batch_id="b1",
        receiver="hook",
        sent_ids=[rows[0].id],
        suppressed={rows[1].id: "silenced"},
        targets=["webhook", "alertmanager"],
        payload={"batch_id": "b1", "changes": [change]},
        notify=[NotifyState("hook", "a", 8.0, "h1", "incident.opened")],
    )
    await store.commit_batch(plan, at=8.0)
    assert await store.queued("hook") == []
    assert await store.next_ready_at("hook") is None
    states = await store.notify_states("hook", ["a", "b", "a"])
    assert states == {"a": NotifyState("hook", "a", 8.0, "h1", "incident.opened")}

    assert await store.due_deliveries("hook", now=7.0, limit=10) == []
    due = await store.due_deliveries("hook", now=8.0, limit=10)
    assert [(d.target, d.state, d.attempts, d.payload) for d in due] == [
        ("webhook", "pending", 0, plan.payload),
        ("alertmanager", "pending", 0, plan.payload),
    ]
    assert await store.next_delivery_at("hook") == 8.0
    webhook, alertmanager = due
    await store.mark_sent(webhook.id, at=9.0)
    await store.mark_retry(alertmanager.id, attempts=1, next_at=20.0, error="503 " + "x" * 600)
    assert await store.next_delivery_at("hook") == 20.0
    assert await store.due_deliveries("hook", now=10.0, limit=10) == []
    (pending,) = await store.deliveries(state="pending")
    assert (pending.attempts, pending.next_attempt_at, len(pending.last_error)) == (1, 20.0, 500)
    await store.mark_dead(alertmanager.id, attempts=2, at=21.0, error="gave up")
    assert [d.state for d in await store.deliveries()] == ["sent", "dead"]
    assert await store.next_delivery_at("hook") is None
    log = await store.notification_log()  # type: ignore[attr-defined]
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in log] == [("hook", "webhook", "b1", 9.0, ["a"])]
    await store.aclose()


async def test_due_for_repeat(backend: Backend) -> None:
    store = await backend.open()
    for iid in ("a", "b", "c"):
        await store.record_change(incident_change("incident.opened", iid), at=1.0)
    await store.record_change(incident_change("incident.resolved", "c"), at=2.0)
    notify = [NotifyState("hook", i, 1.0, "h", "incident.opened") for i in ("a", "b", "c")]
    await store.commit_batch(BatchPlan("b0", "hook", [], {}, [], {}, notify), at=1.0)
    change = incident_change("incident.updated", "b")
    await store.enqueue([("hook", "b", "incident.updated", change, 3.0)], at=3.0)  # b is queued again
    assert [r.id for r in await store.due_for_repeat("hook", before=5.0)] == ["a"]
    assert await store.due_for_repeat("hook", before=0.5) == []
    assert await store.due_for_repeat("other", before=5.0) == []
    await store.aclose()


async def _batch(
    store: Store,
    batch_id: str,
    incidents: list[str],
    *,
    at: float,
    targets: tuple[str, ...] = ("webhook", "am"),
) -> None:
    """Queue one change per incident for receiver ``hook`` and commit them as one batch."""
    changes = [incident_change("incident.opened", i) for i in incidents]
    items = [("hook", i, "incident.opened", c, at) for i, c in zip(incidents, changes, strict=True)]
    await store.enqueue(items, at=at)
    rows = [r for r in await store.queued("hook") if r.incident_id in incidents]
    payload = {"batch_id": batch_id, "changes": changes}
    plan = BatchPlan(batch_id, "hook", [r.id for r in rows], {}, list(targets), payload, [])
    await store.commit_batch(plan, at=at)


def _due(deliveries: list[Delivery]) -> list[tuple[str, str]]:
    return sorted((d.batch_id, d.target) for d in deliveries)


async def test_deliveries_of_one_incident_go_out_in_order(backend: Backend) -> None:
    """Per target, a delivery waits while an earlier one carrying one of its incidents is pending
    (in flight or waiting for a retry); other incidents are not held up."""
    store = await backend.open()
    await _batch(store, "b1", ["a", "b"], at=1.0)
    await _batch(store, "b2", ["a"], at=2.0)  # a again: waits for b1, per target
    await _batch(store, "b3", ["c"], at=3.0)  # another incident: free to go
    due = await store.due_deliveries("hook", now=10.0, limit=10)
    assert _due(due) == [("b1", "am"), ("b1", "webhook"), ("b3", "am"), ("b3", "webhook")]
    assert await store.next_delivery_at("hook") == 1.0
    ids = {(d.batch_id, d.target): d.id for d in due}
    await store.mark_retry(ids["b1", "webhook"], attempts=1, next_at=50.0, error="503")
    await store.mark_sent(ids["b1", "am"], at=11.0)
    await store.mark_sent(ids["b3", "am"], at=11.0)
    await store.mark_sent(ids["b3", "webhook"], at=11.0)
    # b2/am is free now; b2/webhook still waits for b1/webhook's retry, even though it is due
    due = await store.due_deliveries("hook", now=12.0, limit=10)
    assert _due(due) == [("b2", "am")]
    await store.mark_sent(due[0].id, at=12.0)
    assert await store.due_deliveries("hook", now=12.0, limit=10) == []
    assert await store.next_delivery_at("hook") == 50.0  # b1's retry, not the blocked b2 (due at 2)
    await store.mark_dead(ids["b1", "webhook"], attempts=2, at=13.0, error="gave up")
    due = await store.due_deliveries("hook", now=13.0, limit=10)  # dead-lettered: b2 goes
    assert _due(due) == [("b2", "webhook")]
    assert await store.next_delivery_at("hook") == 2.0
    await store.aclose()


async def test_prune_deletes_what_is_finished_and_old(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import podsleuth.store.postgres as pg
    import podsleuth.store.sqlite as lite

    monkeypatch.setattr(lite, "PRUNE_CHUNK", 2)  # several chunks per table
    monkeypatch.setattr(pg, "PRUNE_CHUNK", 2)
    store = await backend.open()
    for iid in ("old", "old2", "old3", "recent", "open", "requeued"):
        await store.record_change(incident_change("incident.opened", iid), at=1.0)
        await store.record_change(incident_change("incident.updated", iid), at=2.0)
    for iid in ("old", "old2", "old3", "requeued"):
        await store.record_change(incident_change("incident.resolved", iid), at=10.0)
    await store.record_change(incident_change("incident.resolved", "recent"), at=900.0)
    notify = [NotifyState("hook", i, 5.0, "h", "incident.opened") for i in ("old", "recent", "open")]
    await store.commit_batch(BatchPlan("b0", "hook", [], {}, [], {}, notify), at=5.0)
    # a resolve still waiting in the queue (a rate limit, a long group_wait): keep its incident
    resolved = incident_change("incident.resolved", "requeued")
    await store.enqueue([("hook", "requeued", "incident.resolved", resolved, 2000.0)], at=10.0)

    await _batch(store, "sent", ["old", "old2", "old3"], at=20.0, targets=("webhook",))
    await _batch(store, "dead", ["open"], at=20.0, targets=("webhook",))
    await _batch(store, "pending", ["open"], at=20.0, targets=("webhook",))
    await _batch(store, "new", ["recent"], at=950.0, targets=("webhook",))
    (d_sent, d_dead) = await store.due_deliveries("hook", now=30.0, limit=10)
    await store.mark_sent(d_sent.id, at=30.0)
    await store.mark_dead(d_dead.id, attempts=1, at=30.0, error="400")
    due = {d.batch_id: d for d in await store.due_deliveries("hook", now=960.0, limit=10)}
    assert set(due) == {"pending", "new"}  # "pending" was waiting behind "dead" (incident "open")
    await store.mark_sent(due["new"].id, at=960.0)
    await store.add_silence(Silence("s-old", {"namespace": "x"}, 0.0, 30.0, "", "me", 0.0))
    await store.add_silence(Silence("s-live", {"namespace": "x"}, 0.0, 5000.0, "", "me", 0.0))

    counts = await store.prune(500.0)
    assert counts == {
        "deliveries": 2,  # sent and dead before 500; the pending one and the recent one stay
        "notification_log": 1,
        "queue": 4,  # rows of the sent and dead batches; not those of the pending batch
        "incidents": 3,  # old, old2, old3; not "requeued" (a change still queued) nor "recent"
        "timeline": 9,
        "silences": 1,
    }
    left = [(d.batch_id, d.state) for d in await store.deliveries()]
    assert left == [("pending", "pending"), ("new", "sent")]
    assert [r[2] for r in await store.notification_log()] == ["new"]  # type: ignore[attr-defined]
    for iid in ("old", "old2", "old3"):
        assert await store.incident(iid) is None
        assert await store.timeline(iid) == []
    assert await store.notify_states("hook", ["old", "recent", "open"]) == {
        i: NotifyState("hook", i, 5.0, "h", "incident.opened") for i in ("recent", "open")
    }
    assert {i.id for i in await store.open_incidents()} == {"open"}
    requeued = await store.incident("requeued")
    assert requeued is not None and len(await store.timeline("requeued")) == 3
    assert [q.incident_id for q in await store.queued("hook")] == ["requeued"]
    assert len(await store.timeline("recent")) == 3
    assert [s.id for s in await store.silences(now=0.0, include_expired=True)] == ["s-live"]
    # the pending batch kept its queue rows: it still heads the line of "open"
    await _batch(store, "later", ["open"], at=1000.0, targets=("webhook",))
    assert [d.batch_id for d in await store.due_deliveries("hook", now=1000.0, limit=10)] == ["pending"]

    assert set((await store.prune(500.0)).values()) == {0}  # nothing left to do
    await store.record_change(incident_change("incident.opened", "old"), at=1001.0)  # an id comes back
    assert [e for _, e, _ in await store.timeline("old")] == ["incident.opened"]
    await store.aclose()


async def _one_pending_delivery(store: Store) -> None:
    change = incident_change("incident.opened", "a")
    await store.record_and_enqueue(change, [("hook", "a", "incident.opened", change, 1.0)], at=1.0)
    (row,) = await store.queued("hook")
    plan = BatchPlan("b1", "hook", [row.id], {}, ["webhook"], {"batch_id": "b1", "changes": [row.change]}, [])
    await store.commit_batch(plan, at=1.0)


async def test_a_dead_processes_deliveries_are_adopted_in_doubt(backend: Backend) -> None:
    first = await backend.open()
    await _one_pending_delivery(first)
    (handed_out,) = await first.due_deliveries("hook", now=2.0, limit=10)
    assert not handed_out.possible_duplicate
    await first.aclose()  # "killed" before the outcome was recorded
    second = await backend.open()
    assert await second.adopt_deliveries() == 1
    assert await second.adopt_deliveries() == 0  # once
    (again,) = await second.due_deliveries("hook", now=2.0, limit=10)  # due at once, not after a claim TTL
    assert again.id == handed_out.id and again.in_doubt and again.possible_duplicate
    await second.mark_sent(again.id, at=3.0)
    assert await second.adopt_deliveries() == 0  # finished rows are never adopted
    await second.aclose()


async def test_a_pending_delivery_never_handed_out_is_not_in_doubt(backend: Backend) -> None:
    first = await backend.open()
    await _one_pending_delivery(first)
    await first.aclose()
    second = await backend.open()
    assert await second.adopt_deliveries() == 0
    (d,) = await second.due_deliveries("hook", now=2.0, limit=10)
    assert not d.possible_duplicate
    await second.aclose()


async def test_fence_names_one_leader_per_generation(backend: Backend) -> None:
    a, b = await backend.open(), await backend.open()
    if backend.name == "sqlite":  # one process per file: nothing to fence, always granted
        assert await a.fence(holder="a", generation=1, at=1.0)
        assert await b.fence(holder="b", generation=0, at=2.0)
        assert await a.holds_fence(holder="a", generation=1)
        await a.aclose()
        await b.aclose()
        return
    assert await a.fence(holder="a", generation=1, at=1.0)
    assert await a.holds_fence(holder="a", generation=1)
    assert not await b.fence(holder="b", generation=1, at=2.0)  # same term, other holder
    assert not await b.fence(holder="b", generation=0, at=2.0)  # an older term
    assert await b.fence(holder="b", generation=2, at=2.0)  # the next term deposes a
    assert not await a.holds_fence(holder="a", generation=1)
    assert not await a.fence(holder="a", generation=1, at=3.0)  # and a cannot take it back
    assert await b.holds_fence(holder="b", generation=2)
    await a.aclose()
    await b.aclose()
