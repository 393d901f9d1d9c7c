"""PostgreSQL specifics: URL dispatch, concurrent migration, outbox claims shared by two
processes, a lost batch race, reconnects, and no password in any message."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import psycopg
import pytest
from psycopg import waiting

from podsleuth.errors import PodsleuthError
from podsleuth.store import is_postgres, open_store
from podsleuth.store.base import BatchPlan
from podsleuth.store.migrations import POSTGRES_SCHEMA_VERSION
from podsleuth.store.postgres import PostgresStore, redact_url
from tests.store.postgres_server import PostgresServer
from tests.waiting import eventually


def change(iid: str) -> dict[str, object]:
    return {"event": "incident.opened", "incident": {"id": iid, "fingerprint": f"fp-{iid}"}}


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database()


async def test_open_store_dispatches_postgres_urls(pg_url: str) -> None:
    assert is_postgres(pg_url) and is_postgres("postgres://u@h/d")
    assert not is_postgres("sqlite:///x.db") and not is_postgres(None)
    store = await open_store(pg_url)
    assert isinstance(store, PostgresStore)
    await store.aclose()


async def test_two_processes_migrating_at_once(pg_url: str) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(pg_url) for _ in range(4)))
    for s in stores:
        await s.aclose()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM podsleuth_schema").fetchall() == [(POSTGRES_SCHEMA_VERSION,)]


async def _one_delivery(store: PostgresStore) -> None:
    await store.enqueue([("hook", "a", "incident.opened", change("a"), 0.0)], at=0.0)
    (row,) = await store.queued("hook")
    plan = BatchPlan("b1", "hook", [row.id], {}, ["webhook"], {"changes": [change("a")]}, [])
    await store.commit_batch(plan, at=1.0)


async def test_a_claimed_delivery_is_not_due_elsewhere_until_the_claim_expires(pg_url: str) -> None:
    a = await PostgresStore.open(pg_url, claim_ttl=30.0)
    b = await PostgresStore.open(pg_url, claim_ttl=30.0)
    try:
        await _one_delivery(a)
        (claimed,) = await a.due_deliveries("hook", now=2.0, limit=10)
        assert await b.due_deliveries("hook", now=3.0, limit=10) == []
        assert await b.next_delivery_at("hook") == 32.0  # the claim's end
        assert [d.id for d in await a.due_deliveries("hook", now=3.0, limit=10)] == [claimed.id]
        assert await a.next_delivery_at("hook") == 1.0  # its own claim: due as before
        (taken_over,) = await b.due_deliveries("hook", now=40.0, limit=10)  # a died: claim expired
        assert taken_over.id == claimed.id
        assert await a.due_deliveries("hook", now=41.0, limit=10) == []
        await b.mark_sent(taken_over.id, at=41.0)
        assert await a.due_deliveries("hook", now=100.0, limit=10) == []
        assert await a.next_delivery_at("hook") is None
    finally:
        await a.aclose()
        await b.aclose()


async def test_concurrent_claims_are_disjoint(pg_url: str) -> None:
    a, b = await PostgresStore.open(pg_url), await PostgresStore.open(pg_url)
    try:
        items = [("hook", f"i{n}", "incident.opened", change(f"i{n}"), 0.0) for n in range(20)]
        await a.enqueue(items, at=0.0)
        rows = await a.queued("hook")
        for n, row in enumerate(rows):
            plan = BatchPlan(f"b{n}", "hook", [row.id], {}, ["webhook"], {"changes": []}, [])
            await a.commit_batch(plan, at=1.0)
        got_a, got_b = await asyncio.gather(
            a.due_deliveries("hook", now=2.0, limit=7), b.due_deliveries("hook", now=2.0, limit=7)
        )
        assert len(got_a) == len(got_b) == 7
        assert {d.id for d in got_a}.isdisjoint({d.id for d in got_b})
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_batch_raced_by_another_process_commits_nothing(pg_url: str) -> None:
    a, b = await PostgresStore.open(pg_url), await PostgresStore.open(pg_url)
    try:
        await a.enqueue([("hook", "a", "incident.opened", change("a"), 0.0)], at=0.0)
        (row,) = await a.queued("hook")
        plans = [BatchPlan(f"b{n}", "hook", [row.id], {}, ["webhook"], {"changes": []}, []) for n in (1, 2)]
        await asyncio.gather(a.commit_batch(plans[0], at=1.0), b.commit_batch(plans[1], at=1.0))
        assert len(await a.deliveries()) == 1
        assert await a.queued("hook") == []
    finally:
        await a.aclose()
        await b.aclose()


async def test_reconnects_after_the_connection_dies(pg_url: str) -> None:
    store = await PostgresStore.open(pg_url)
    try:
        await store.record_change(change("a"), at=1.0)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name='podsleuth' AND pid <> pg_backend_pid()"
            )
        with pytest.raises(psycopg.OperationalError):
            await store.open_incidents()
        assert [i.id for i in await store.open_incidents()] == ["a"]
    finally:
        await store.aclose()


async def test_no_password_in_errors() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://podsleuth:s3cr3t-pw@127.0.0.1:{port}/podsleuth"
    with pytest.raises(PodsleuthError) as info:
        await open_store(url)
    message = str(info.value)
    assert "s3cr3t-pw" not in message
    assert "podsleuth:***@127.0.0.1" in message
    assert redact_url("postgresql://h/db?user=u&password=pw1&sslmode=require") == (
        "postgresql://h/db?user=u&password=***&sslmode=require"
    )
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"



async def _wait_without_cleanup(
    self: psycopg.AsyncConnection[object],
    gen: Any,
    interval: float = 0.1,
    timeout: float | None = None,  # noqa: ASYNC109 - the signature of the method it replaces
) -> Any:
    """``AsyncConnection.wait`` of a driver that does not cancel the statement when the waiting
    task is cancelled (psycopg before 3.2; 3.3 cancels and drains it itself): the connection is
    left busy with the statement still running on the server."""
    return await waiting.wait_async(gen, self.pgconn.socket, interval=interval, timeout=timeout)


@pytest.mark.parametrize("driver_cleans_up", [True, False], ids=["psycopg", "no-driver-cleanup"])
@pytest.mark.parametrize("tx", [True, False], ids=["in-transaction", "single-statement"])
async def test_a_cancelled_operation_leaves_the_store_usable(
    pg_url: str, tx: bool, driver_cleans_up: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notifier worker cancelled mid-query must not leave the connection busy or inside a
    transaction for the next operation, nor the statement running (holding locks) on the server."""
    if not driver_cleans_up:
        monkeypatch.setattr(psycopg.AsyncConnection, "wait", _wait_without_cleanup)
    store = await PostgresStore.open(pg_url)
    try:
        await store.record_change(change("a"), at=1.0)
        with psycopg.connect(pg_url) as admin:  # holds the table: the next operation blocks
            admin.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
            if tx:
                op = asyncio.create_task(store.record_change(change("b"), at=2.0))
            else:
                op = asyncio.create_task(store.open_incidents())

            def ours(condition: str) -> int:
                admin.execute("SELECT pg_stat_clear_snapshot()")  # a fresh look, not the transaction's
                row = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name='podsleuth'"
                    f" AND datname=current_database() AND {condition}"
                ).fetchone()
                return int(row[0]) if row else 0

            # the statement is running on the server, waiting for the lock
            await eventually(lambda: ours("wait_event_type = 'Lock'") == 1, what="the blocked statement")
            assert not op.done()
            op.cancel()
            with pytest.raises(asyncio.CancelledError):
                await op
            # the cancelled statement no longer runs on the server
            await eventually(lambda: ours("state <> 'idle'") == 0, what="the statement to stop")
            admin.rollback()
        async with asyncio.timeout(10):
            assert [i.id for i in await store.open_incidents()] == ["a"]
            await store.record_change(change("c"), at=3.0)
            assert [i.id for i in await store.open_incidents()] == ["a", "c"]
    finally:
        await store.aclose()
    with psycopg.connect(pg_url) as admin:  # "c" was committed, not left in a stale transaction
        assert admin.execute("SELECT id FROM incidents ORDER BY id").fetchall() == [("a",), ("c",)]
