"""The PostgreSQL store: the ``Store`` Protocol shared by several watchers (high availability).

Same tables and statements as SQLite (``podsleuth.store.statements``), so a leader that takes
over knows what its predecessor recorded, queued and sent. One psycopg 3 async connection per
store, used by one operation at a time (an ``asyncio.Lock``), each operation bounded by a
client-side timeout and a server-side ``statement_timeout``; a broken connection is reopened on
next use (``podsleuth.store.postgres_session``).

Two processes may share the database (a leader and a standby in the window where the old
leader has not noticed yet that it lost its lease), so the outbox is guarded in the database:

* ``commit_batch`` locks its queue rows (``FOR UPDATE``) and commits nothing if another process
  batched any of them first;
* ``due_deliveries`` claims rows (``FOR UPDATE SKIP LOCKED``, then ``claimed_by``/``claimed_until``)
  so a row in flight in one process is not due in another until the claim expires; the claiming
  process still sees its own claims (the notifier tracks those in flight itself).

An operation that is cancelled (a notifier worker stopped mid-query), times out or loses the
connection leaves no half-used connection behind: the statement is cancelled on the server and
the connection closed, so the next operation starts on a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from podsleuth.store.base import (
    HEAD_OF_LINE,
    JSON,
    PRUNE_CHUNK,
    BatchPlan,
    Delivery,
    NotifyState,
    Silence,
)
from podsleuth.store.common import (
    SqlReads,
    batch_rows,
    delivery_record,
    incident_rows,
    notification_log_row,
    prune_in_chunks,
    queue_rows,
    silence_row,
    trim_rows,
)
from podsleuth.store.postgres_session import Conn, PostgresSession, migrate, redact_url, schema_version
from podsleuth.store.statements import DELIVERY_COLS, POSTGRES, to_postgres

__all__ = ["PostgresStore", "redact_url", "schema_version"]

log = logging.getLogger(__name__)

_LOCK_QUEUE = "SELECT id FROM queue WHERE id = ANY(%s) AND state='queued' ORDER BY id FOR UPDATE"
_DUE_DELIVERIES = to_postgres(
    "WITH due AS (SELECT d.id FROM deliveries d WHERE d.receiver=? AND d.state='pending'"
    " AND d.next_attempt_at<=? AND (d.claimed_by IS NULL OR d.claimed_by=? OR d.claimed_until<=?)"
    f"{HEAD_OF_LINE} ORDER BY d.next_attempt_at, d.id LIMIT ? FOR UPDATE OF d SKIP LOCKED)"
    " UPDATE deliveries d SET claimed_by=?, claimed_until=? FROM due WHERE d.id=due.id"
    " RETURNING " + ", ".join(f"d.{c.strip()}" for c in DELIVERY_COLS.split(","))
)
_NEXT_DELIVERY_AT = (
    "SELECT MIN(CASE WHEN d.claimed_by IS NULL OR d.claimed_by=%s THEN d.next_attempt_at"
    " ELSE GREATEST(d.next_attempt_at, d.claimed_until) END)"
    " FROM deliveries d WHERE d.receiver=%s AND d.state='pending'" + HEAD_OF_LINE
)
# DELETE ... RETURNING re-checks the condition on rows changed meanwhile, so an incident that
# reopens concurrently is kept.
_PRUNE_INCIDENTS = (
    "DELETE FROM incidents WHERE id IN (SELECT i.id FROM incidents i"
    " WHERE i.status = 'resolved' AND i.resolved_at < %s AND NOT EXISTS"
    " (SELECT 1 FROM queue q WHERE q.incident_id = i.id AND q.state = 'queued') LIMIT %s)"
    " AND status = 'resolved' AND resolved_at < %s RETURNING id"
)


_INSERT_FENCE = (
    "INSERT INTO leadership (id, holder, generation, owner, since) VALUES (1, %s, %s, %s, %s)"
    " ON CONFLICT (id) DO NOTHING"
)
_READ_FENCE = "SELECT holder, generation, owner FROM leadership WHERE id=1 FOR UPDATE"
_WRITE_FENCE = "UPDATE leadership SET holder=%s, generation=%s, owner=%s, since=%s WHERE id=1"
_HOLDS_FENCE = "SELECT 1 FROM leadership WHERE id=1 AND holder=%s AND generation=%s AND owner=%s"


class _LostRace(Exception):
    """Raised inside a transaction to roll it back: another process got there first."""


class PostgresStore(PostgresSession, SqlReads):
    """``Store`` on PostgreSQL; open it with ``await PostgresStore.open(url)``."""

    _sql = POSTGRES

    def __init__(
        self, url: str, *, timeout: float = 30.0, connect_timeout: float = 10.0, claim_ttl: float = 60.0
    ) -> None:
        super().__init__(url, timeout=timeout, connect_timeout=connect_timeout)
        self.claim_ttl = claim_ttl
        """How long a claimed delivery stays invisible to other processes (longer than a sink call)."""
        self.owner = uuid.uuid4().hex

    @classmethod
    async def open(
        cls, url: str, *, op_timeout: float = 30.0, connect_timeout: float = 10.0, claim_ttl: float = 60.0
    ) -> PostgresStore:
        timeout = op_timeout
        store = cls(url, timeout=timeout, connect_timeout=connect_timeout, claim_ttl=claim_ttl)
        try:
            async with store._lock:
                conn = await store._connection()
                async with asyncio.timeout(timeout):
                    await migrate(conn)
        except BaseException:
            await store.aclose()
            raise
        return store

    # --- incidents and queue ---
    @staticmethod
    async def _record(conn: Conn, change: JSON, at: float) -> None:
        upsert, timeline = incident_rows(change, at)
        row = await (await conn.execute(POSTGRES.upsert_incident, upsert)).fetchone()
        await conn.execute(POSTGRES.insert_timeline, timeline)
        trim = trim_rows(upsert[0], changes=int(row[0]) if row else 0)
        if trim is not None:
            await conn.execute(POSTGRES.trim_timeline, trim)

    @staticmethod
    async def _enqueue(conn: Conn, items: Sequence[tuple[str, str, str, JSON, float]], at: float) -> None:
        if not items:
            return
        sequences: dict[str, int] = {}
        for incident_id in {item[1] for item in items}:
            row = await (await conn.execute(POSTGRES.change_count, (incident_id,))).fetchone()
            sequences[incident_id] = int(row[0]) if row else 0
        async with conn.cursor() as cur:
            await cur.executemany(POSTGRES.insert_queue, queue_rows(items, at, sequences))

    async def record_change(self, change: JSON, *, at: float) -> None:
        await self._run(lambda conn: self._record(conn, change, at), tx=True)

    async def enqueue(self, items: Sequence[tuple[str, str, str, JSON, float]], *, at: float) -> None:
        await self._run(lambda conn: self._enqueue(conn, items, at), tx=True)

    async def record_and_enqueue(
        self, change: JSON, items: Sequence[tuple[str, str, str, JSON, float]], *, at: float
    ) -> None:
        async def run(conn: Conn) -> None:
            await self._record(conn, change, at)
            await self._enqueue(conn, items, at)

        await self._run(run, tx=True)

    async def next_ready_at(self, receiver: str) -> float | None:
        value = await self._scalar(POSTGRES.next_ready_at, (receiver,))
        return None if value is None else float(value)

    async def commit_batch(self, plan: BatchPlan, *, at: float) -> None:
        ids = sorted({*plan.sent_ids, *plan.suppressed})
        rows = batch_rows(plan, at)

        async def run(conn: Conn) -> None:
            if ids:
                cur = await conn.execute(_LOCK_QUEUE, (ids,))
                if len(await cur.fetchall()) != len(ids):
                    raise _LostRace
            async with conn.cursor() as cur:
                for sql, args in (
                    (POSTGRES.batch_queue, rows.batched),
                    (POSTGRES.suppress_queue, rows.suppressed),
                    (POSTGRES.insert_delivery, rows.deliveries),
                    (POSTGRES.upsert_notify_state, rows.notify),
                ):
                    if args:
                        await cur.executemany(sql, args)

        try:
            await self._run(run, tx=True)
        except _LostRace:
            log.warning(
                "batch %s for receiver %s dropped: another process batched its changes first",
                plan.batch_id,
                plan.receiver,
            )

    async def notify_states(self, receiver: str, incident_ids: Sequence[str]) -> dict[str, NotifyState]:
        ids = list(dict.fromkeys(incident_ids))
        if not ids:
            return {}
        rows = await self._fetchall(POSTGRES.notify_states + " = ANY(%s)", (receiver, ids))
        return {r[1]: NotifyState(*r) for r in rows}

    # --- deliveries (the outbox) ---
    async def due_deliveries(self, receiver: str, *, now: float, limit: int) -> list[Delivery]:
        """Claim and return due rows: unclaimed, claimed by this store, or with an expired claim."""
        args = (receiver, now, self.owner, now, limit, self.owner, now + self.claim_ttl)

        async def run(conn: Conn) -> list[tuple[object, ...]]:
            cur = await conn.execute(_DUE_DELIVERIES, args)
            return await cur.fetchall()

        rows = await self._run(run, tx=True)
        return sorted((delivery_record(r) for r in rows), key=lambda d: (d.next_attempt_at, d.id))

    async def next_delivery_at(self, receiver: str) -> float | None:
        value = await self._scalar(_NEXT_DELIVERY_AT, (self.owner, receiver))
        return None if value is None else float(value)

    async def mark_sent(self, delivery_id: int, *, at: float) -> None:
        async def run(conn: Conn) -> None:
            cur = await conn.execute(POSTGRES.mark_sent, (at, delivery_id))
            row = await cur.fetchone()
            if row is not None:
                log_row = notification_log_row(delivery_id, row, at)
                await conn.execute(POSTGRES.insert_notification_log, log_row)

        await self._run(run, tx=True)

    async def adopt_deliveries(self) -> int:
        return await self._execute(POSTGRES.adopt_deliveries, ())

    async def fence(self, *, holder: str, generation: int, at: float) -> bool:
        """Name this process the leader (``holder``, Lease generation ``generation``) in the
        database, unless a newer generation (or another holder of this one) is recorded."""

        async def run(conn: Conn) -> bool:
            await conn.execute(_INSERT_FENCE, (holder, generation, self.owner, at))
            cur = await conn.execute(_READ_FENCE)
            row = await cur.fetchone()
            assert row is not None  # inserted above, never deleted
            if int(row[1]) > generation or (int(row[1]) == generation and row[0] != holder):
                return False
            await conn.execute(_WRITE_FENCE, (holder, generation, self.owner, at))
            return True

        return await self._run(run, tx=True)

    async def holds_fence(self, *, holder: str, generation: int) -> bool:
        rows = await self._fetchall(_HOLDS_FENCE, (holder, generation, self.owner))
        return bool(rows)

    async def _execute(self, sql: str, args: Sequence[object]) -> int:
        """Run one statement in its own transaction; the rows it changed."""

        async def run(conn: Conn) -> int:
            cur = await conn.execute(sql, args)
            return cur.rowcount

        return await self._run(run, tx=True)

    async def mark_retry(self, delivery_id: int, *, attempts: int, next_at: float, error: str) -> None:
        await self._execute(POSTGRES.mark_retry, (attempts, next_at, error[:500], delivery_id))

    async def mark_dead(self, delivery_id: int, *, attempts: int, at: float, error: str) -> None:
        await self._execute(POSTGRES.mark_dead, (attempts, at, error[:500], delivery_id))

    # --- silences ---
    async def add_silence(self, silence: Silence) -> None:
        await self._execute(POSTGRES.add_silence, silence_row(silence))

    async def expire_silence(self, silence_id: str, *, at: float) -> bool:
        return await self._execute(POSTGRES.expire_silence, (at, silence_id, silence_id + "%", at)) > 0

    # --- retention ---
    async def prune(self, older_than: float) -> dict[str, int]:
        """Delete finished rows older than ``older_than`` (see ``Store.prune``), in chunks."""
        chunk = PRUNE_CHUNK

        async def incidents(conn: Conn) -> tuple[int, int]:
            cur = await conn.execute(_PRUNE_INCIDENTS, (older_than, chunk, older_than))
            ids = [r[0] for r in await cur.fetchall()]
            if not ids:
                return 0, 0
            cur = await conn.execute("DELETE FROM timeline WHERE incident_id = ANY(%s)", (ids,))
            timeline = cur.rowcount
            await conn.execute("DELETE FROM notify_state WHERE incident_id = ANY(%s)", (ids,))
            return len(ids), timeline

        return await prune_in_chunks(
            POSTGRES,
            lambda sql: self._execute(sql, (older_than, chunk)),
            lambda: self._run(incidents, tx=True),
            chunk=chunk,
            incident_chunk=chunk,
        )
