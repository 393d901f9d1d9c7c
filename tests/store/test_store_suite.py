"""Every store backend (SQLite, PostgreSQL): versioned schema, state that survives a reopen,
concurrent writers, and the queue -> batch -> outbox life of a notification."""

from __future__ import annotations

import asyncio

import pytest

from podsleuth.store.base import BatchPlan, NotifyState, Silence
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
    assert [(r.incident_id, r.ready_at, r.change) for r in rows] == [("a", 5.0, change), ("b", 7.0, other)]

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
