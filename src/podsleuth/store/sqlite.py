"""The SQLite store: one connection, driven from one dedicated thread.

One thread owns the connection, so statements never interleave and the event loop never blocks
on disk. WAL lets the CLI (``podsleuth silence add``) write while ``watch`` runs; a busy
timeout makes the rare writer collision wait instead of fail. ``synchronous=NORMAL`` in WAL
mode survives a killed process (only an OS crash may lose the last commits).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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
    Row,
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
from podsleuth.store.migrations import migrate
from podsleuth.store.statements import DELIVERY_COLS, SENT_COLS, SQLITE

T = TypeVar("T")

_DUE_DELIVERIES = (
    f"SELECT {DELIVERY_COLS} FROM deliveries d WHERE d.receiver=? AND d.state='pending'"
    f" AND d.next_attempt_at<=?{HEAD_OF_LINE} ORDER BY d.next_attempt_at, d.id LIMIT ?"
)
_NEXT_DELIVERY_AT = (
    "SELECT MIN(d.next_attempt_at) FROM deliveries d WHERE d.receiver=? AND d.state='pending'" + HEAD_OF_LINE
)
_PRUNABLE_INCIDENTS = (
    "SELECT i.id FROM incidents i WHERE i.status = 'resolved' AND i.resolved_at < ?"
    " AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.incident_id = i.id AND q.state = 'queued') LIMIT ?"
)
_IN_CHUNK = 500
"""Ids per ``IN (?, ...)`` list: stay below old SQLite's 999 variables."""


class SqliteStore(SqlReads):
    """``Store`` on a SQLite file; open it with ``await SqliteStore.open(path)``."""

    _sql = SQLITE

    def __init__(self, conn: sqlite3.Connection, executor: ThreadPoolExecutor, *, path: str) -> None:
        self._conn = conn
        self._executor = executor
        self.path = path
        self.owner = uuid.uuid4().hex
        """Written on the deliveries this store hands out, so the next process knows which ones
        were in flight when this one died (``adopt_deliveries``)."""

    @classmethod
    async def open(cls, path: str | Path) -> SqliteStore:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podsleuth-store")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(executor, cls._connect, str(path))
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(conn, executor, path=str(path))

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        migrate(conn)
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self._conn)

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._run(run)

    async def aclose(self) -> None:
        await self._run(lambda conn: conn.close())
        self._executor.shutdown(wait=True)

    async def _fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return await self._run(lambda c: c.execute(sql, args).fetchall())

    # --- incidents and queue ---
    @staticmethod
    def _record(conn: sqlite3.Connection, change: JSON, at: float) -> None:
        upsert, timeline = incident_rows(change, at)
        conn.execute(SQLITE.upsert_incident, upsert)
        conn.execute(SQLITE.insert_timeline, timeline)
        (changes,) = conn.execute(SQLITE.change_count, (upsert[0],)).fetchone()
        trim = trim_rows(upsert[0], changes=int(changes))
        if trim is not None:
            conn.execute(SQLITE.trim_timeline, trim)

    @staticmethod
    def _enqueue(
        conn: sqlite3.Connection, items: Sequence[tuple[str, str, str, JSON, float]], at: float
    ) -> None:
        sequences: dict[str, int] = {}
        for incident_id in {item[1] for item in items}:
            row = conn.execute(SQLITE.change_count, (incident_id,)).fetchone()
            sequences[incident_id] = int(row[0]) if row else 0
        conn.executemany(SQLITE.insert_queue, queue_rows(items, at, sequences))

    async def record_change(self, change: JSON, *, at: float) -> None:
        await self._tx(lambda conn: self._record(conn, change, at))

    async def enqueue(self, items: Sequence[tuple[str, str, str, JSON, float]], *, at: float) -> None:
        await self._tx(lambda conn: self._enqueue(conn, items, at))

    async def record_and_enqueue(
        self, change: JSON, items: Sequence[tuple[str, str, str, JSON, float]], *, at: float
    ) -> None:
        def run(conn: sqlite3.Connection) -> None:
            self._record(conn, change, at)
            self._enqueue(conn, items, at)

        await self._tx(run)

    async def next_ready_at(self, receiver: str) -> float | None:
        rows = await self._fetchall(SQLITE.next_ready_at, (receiver,))
        return rows[0][0] if rows else None

    async def commit_batch(self, plan: BatchPlan, *, at: float) -> None:
        rows = batch_rows(plan, at)

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(SQLITE.batch_queue, rows.batched)
            conn.executemany(SQLITE.suppress_queue, rows.suppressed)
            conn.executemany(SQLITE.insert_delivery, rows.deliveries)
            conn.executemany(SQLITE.upsert_notify_state, rows.notify)

        await self._tx(run)

    async def notify_states(self, receiver: str, incident_ids: Sequence[str]) -> dict[str, NotifyState]:
        ids = list(dict.fromkeys(incident_ids))

        def run(conn: sqlite3.Connection) -> list[Any]:
            out: list[Any] = []
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                out += conn.execute(f"{SQLITE.notify_states} IN ({marks})", (receiver, *chunk)).fetchall()
            return out

        return {r[1]: NotifyState(*r) for r in await self._run(run)}

    # --- deliveries (the outbox) ---
    async def due_deliveries(self, receiver: str, *, now: float, limit: int) -> list[Delivery]:
        """Due rows, marked as handed out by this store (see ``adopt_deliveries``)."""

        rows = await self._fetchall(_DUE_DELIVERIES, (receiver, now, limit))
        if rows:  # one thread owns the connection: nothing else hands these out meanwhile
            marks = [(self.owner, r[0]) for r in rows]
            await self._tx(lambda c: c.executemany("UPDATE deliveries SET claimed_by=? WHERE id=?", marks))
        return [delivery_record(r) for r in rows]

    async def adopt_deliveries(self) -> int:
        return await self._tx(lambda c: c.execute(SQLITE.adopt_deliveries).rowcount)

    async def fence(self, *, holder: str, generation: int, at: float) -> bool:
        return True  # one process per file: nothing to fence

    async def holds_fence(self, *, holder: str, generation: int) -> bool:
        return True

    async def next_delivery_at(self, receiver: str) -> float | None:
        rows = await self._fetchall(_NEXT_DELIVERY_AT, (receiver,))
        return rows[0][0] if rows else None

    async def mark_sent(self, delivery_id: int, *, at: float) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(SQLITE.mark_sent, (at, delivery_id))
            row = conn.execute(f"SELECT {SENT_COLS} FROM deliveries WHERE id=?", (delivery_id,)).fetchone()
            if row is not None:
                conn.execute(SQLITE.insert_notification_log, notification_log_row(delivery_id, row, at))

        await self._tx(run)

    async def mark_retry(self, delivery_id: int, *, attempts: int, next_at: float, error: str) -> None:
        await self._tx(lambda c: c.execute(SQLITE.mark_retry, (attempts, next_at, error[:500], delivery_id)))

    async def mark_dead(self, delivery_id: int, *, attempts: int, at: float, error: str) -> None:
        await self._tx(lambda c: c.execute(SQLITE.mark_dead, (attempts, at, error[:500], delivery_id)))

    # --- silences ---
    async def add_silence(self, silence: Silence) -> None:
        await self._tx(lambda c: c.execute(SQLITE.add_silence, silence_row(silence)))

    async def expire_silence(self, silence_id: str, *, at: float) -> bool:
        args = (at, silence_id, silence_id + "%", at)
        return await self._tx(lambda c: c.execute(SQLITE.expire_silence, args).rowcount > 0)

    # --- retention ---
    async def prune(self, older_than: float) -> dict[str, int]:
        """Delete finished rows older than ``older_than`` (see ``Store.prune``), in chunks."""
        chunk = PRUNE_CHUNK
        incident_chunk = min(chunk, _IN_CHUNK)

        async def delete(sql: str) -> int:
            return await self._tx(lambda c: c.execute(sql, (older_than, chunk)).rowcount)

        def incidents(conn: sqlite3.Connection) -> tuple[int, int]:
            ids = [r[0] for r in conn.execute(_PRUNABLE_INCIDENTS, (older_than, incident_chunk))]
            if not ids:
                return 0, 0
            marks = ",".join("?" * len(ids))
            timeline = conn.execute(f"DELETE FROM timeline WHERE incident_id IN ({marks})", ids).rowcount
            conn.execute(f"DELETE FROM notify_state WHERE incident_id IN ({marks})", ids)
            conn.execute(f"DELETE FROM incidents WHERE id IN ({marks})", ids)
            return len(ids), timeline

        return await prune_in_chunks(
            SQLITE, delete, lambda: self._tx(incidents), chunk=chunk, incident_chunk=incident_chunk
        )
