"""The SQLite store: one connection, driven from one dedicated thread.

One thread owns the connection, so statements never interleave and the event loop never blocks
on disk. WAL lets the CLI (``podsleuth silence add``) write while ``watch`` runs; a busy
timeout makes the rare writer collision wait instead of fail. ``synchronous=NORMAL`` in WAL
mode survives a killed process (only an OS crash may lose the last commits).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
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
    IncidentRecord,
    NotifyState,
    QueuedChange,
    Silence,
)
from podsleuth.store.migrations import migrate

T = TypeVar("T")

_RESOLVED = "incident.resolved"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class SqliteStore:
    """``Store`` on a SQLite file; open it with ``await SqliteStore.open(path)``."""

    def __init__(self, conn: sqlite3.Connection, executor: ThreadPoolExecutor, *, path: str) -> None:
        self._conn = conn
        self._executor = executor
        self.path = path

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

    # --- incidents ---
    @staticmethod
    def _record(conn: sqlite3.Connection, change: JSON, at: float) -> None:
        incident = change["incident"]
        event = str(change["event"])
        resolved = event == _RESOLVED
        conn.execute(
            """INSERT INTO incidents (id, fingerprint, status, data, opened_at, updated_at, resolved_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET status=excluded.status, data=excluded.data,
                 updated_at=excluded.updated_at, resolved_at=excluded.resolved_at""",
            (
                str(incident["id"]),
                str(incident.get("fingerprint") or incident["id"]),
                "resolved" if resolved else "open",
                _dumps(incident),
                at,
                at,
                at if resolved else None,
            ),
        )
        conn.execute(
            "INSERT INTO timeline (incident_id, at, event, data) VALUES (?, ?, ?, ?)",
            (str(incident["id"]), at, event, _dumps(incident)),
        )

    @staticmethod
    def _enqueue(
        conn: sqlite3.Connection, items: Sequence[tuple[str, str, str, JSON, float]], at: float
    ) -> None:
        conn.executemany(
            "INSERT INTO queue (receiver, incident_id, event, change, enqueued_at, ready_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(r, i, e, _dumps(c), at, ready) for r, i, e, c, ready in items],
        )

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

    @staticmethod
    def _incident(row: Sequence[Any]) -> IncidentRecord:
        return IncidentRecord(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])

    async def open_incidents(self) -> list[IncidentRecord]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, fingerprint, status, data, opened_at, updated_at, resolved_at"
                " FROM incidents WHERE status='open' ORDER BY opened_at"
            ).fetchall()
        )
        return [self._incident(r) for r in rows]

    async def incident(self, incident_id: str) -> IncidentRecord | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT id, fingerprint, status, data, opened_at, updated_at, resolved_at"
                " FROM incidents WHERE id=?",
                (incident_id,),
            ).fetchone()
        )
        return None if row is None else self._incident(row)

    async def timeline(self, incident_id: str) -> list[tuple[float, str, JSON]]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT at, event, data FROM timeline WHERE incident_id=? ORDER BY id", (incident_id,)
            ).fetchall()
        )
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    # --- queue ---
    async def queued(self, receiver: str) -> list[QueuedChange]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, receiver, incident_id, event, change, enqueued_at, ready_at FROM queue"
                " WHERE receiver=? AND state='queued' ORDER BY id",
                (receiver,),
            ).fetchall()
        )
        return [QueuedChange(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]

    async def next_ready_at(self, receiver: str) -> float | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT MIN(ready_at) FROM queue WHERE receiver=? AND state='queued'", (receiver,)
            ).fetchone()
        )
        return None if row is None else row[0]

    async def commit_batch(self, plan: BatchPlan, *, at: float) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE queue SET state='batched', batch_id=? WHERE id=?",
                [(plan.batch_id, i) for i in plan.sent_ids],
            )
            conn.executemany(
                "UPDATE queue SET state='suppressed', batch_id=?, reason=? WHERE id=?",
                [(plan.batch_id, reason, i) for i, reason in plan.suppressed.items()],
            )
            payload = _dumps(plan.payload)
            conn.executemany(
                "INSERT INTO deliveries (batch_id, receiver, target, payload, created_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(plan.batch_id, plan.receiver, t, payload, at, at) for t in plan.targets],
            )
            conn.executemany(
                "INSERT INTO notify_state (receiver, incident_id, last_sent_at, last_hash, last_event)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(receiver, incident_id) DO UPDATE SET"
                " last_sent_at=excluded.last_sent_at, last_hash=excluded.last_hash,"
                " last_event=excluded.last_event",
                [tuple(s) for s in plan.notify],
            )

        await self._tx(run)

    async def notify_states(self, receiver: str, incident_ids: Sequence[str]) -> dict[str, NotifyState]:
        ids = list(dict.fromkeys(incident_ids))

        def run(conn: sqlite3.Connection) -> list[Any]:
            out: list[Any] = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                out += conn.execute(
                    "SELECT receiver, incident_id, last_sent_at, last_hash, last_event FROM notify_state"
                    f" WHERE receiver=? AND incident_id IN ({marks})",
                    (receiver, *chunk),
                ).fetchall()
            return out

        return {r[1]: NotifyState(*r) for r in await self._run(run)}

    async def due_for_repeat(self, receiver: str, *, before: float, limit: int = 500) -> list[IncidentRecord]:
        """Open incidents this receiver was last told about before ``before``, not queued again."""
        rows = await self._run(
            lambda c: c.execute(
                "SELECT i.id, i.fingerprint, i.status, i.data, i.opened_at, i.updated_at, i.resolved_at"
                " FROM notify_state n JOIN incidents i ON i.id = n.incident_id"
                " WHERE n.receiver=? AND n.last_sent_at<? AND n.last_event!='incident.resolved'"
                " AND i.status='open' AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.receiver=n.receiver"
                " AND q.incident_id=n.incident_id AND q.state='queued') LIMIT ?",
                (receiver, before, limit),
            ).fetchall()
        )
        return [self._incident(r) for r in rows]

    # --- deliveries (the outbox) ---
    _DELIVERY_COLS = (
        "id, batch_id, receiver, target, payload, created_at, attempts, next_attempt_at, state, last_error"
    )

    @staticmethod
    def _delivery(r: Sequence[Any]) -> Delivery:
        return Delivery(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8], r[9])

    async def due_deliveries(self, receiver: str, *, now: float, limit: int) -> list[Delivery]:
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {self._DELIVERY_COLS} FROM deliveries d WHERE d.receiver=? AND d.state='pending'"
                f" AND d.next_attempt_at<=?{HEAD_OF_LINE} ORDER BY d.next_attempt_at, d.id LIMIT ?",
                (receiver, now, limit),
            ).fetchall()
        )
        return [self._delivery(r) for r in rows]

    async def next_delivery_at(self, receiver: str) -> float | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT MIN(d.next_attempt_at) FROM deliveries d WHERE d.receiver=? AND d.state='pending'"
                + HEAD_OF_LINE,
                (receiver,),
            ).fetchone()
        )
        return None if row is None else row[0]

    async def deliveries(self, *, state: str | None = None) -> list[Delivery]:
        where, args = ("WHERE state=?", (state,)) if state else ("", ())
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {self._DELIVERY_COLS} FROM deliveries {where} ORDER BY id", args
            ).fetchall()
        )
        return [self._delivery(r) for r in rows]

    async def mark_sent(self, delivery_id: int, *, at: float) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE deliveries SET state='sent', attempts=attempts+1, done_at=? WHERE id=?",
                (at, delivery_id),
            )
            row = conn.execute(
                "SELECT receiver, target, batch_id, payload FROM deliveries WHERE id=?", (delivery_id,)
            ).fetchone()
            if row is not None:
                ids = [c["incident"]["id"] for c in json.loads(row[3]).get("changes", [])]
                conn.execute(
                    "INSERT INTO notification_log"
                    " (delivery_id, receiver, target, batch_id, sent_at, incident_ids)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (delivery_id, row[0], row[1], row[2], at, _dumps(ids)),
                )

        await self._tx(run)

    async def mark_retry(self, delivery_id: int, *, attempts: int, next_at: float, error: str) -> None:
        await self._tx(
            lambda c: c.execute(
                "UPDATE deliveries SET attempts=?, next_attempt_at=?, last_error=? WHERE id=?",
                (attempts, next_at, error[:500], delivery_id),
            )
        )

    async def mark_dead(self, delivery_id: int, *, attempts: int, at: float, error: str) -> None:
        await self._tx(
            lambda c: c.execute(
                "UPDATE deliveries SET state='dead', attempts=?, done_at=?, last_error=? WHERE id=?",
                (attempts, at, error[:500], delivery_id),
            )
        )

    async def notification_log(self) -> list[tuple[str, str, str, float, list[str]]]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT receiver, target, batch_id, sent_at, incident_ids FROM notification_log ORDER BY id"
            ).fetchall()
        )
        return [(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    # --- silences ---
    async def add_silence(self, silence: Silence) -> None:
        await self._tx(
            lambda c: c.execute(
                "INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    silence.id,
                    _dumps(silence.matchers),
                    silence.starts_at,
                    silence.ends_at,
                    silence.comment,
                    silence.created_by,
                    silence.created_at,
                ),
            )
        )

    async def silences(self, *, now: float, include_expired: bool = False) -> list[Silence]:
        where = "" if include_expired else "WHERE ends_at > ?"
        args: tuple[Any, ...] = () if include_expired else (now,)
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, matchers, starts_at, ends_at, comment, created_by, created_at FROM silences"
                f" {where} ORDER BY created_at",
                args,
            ).fetchall()
        )
        return [Silence(r[0], json.loads(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]

    async def expire_silence(self, silence_id: str, *, at: float) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE silences SET ends_at=? WHERE (id=? OR id LIKE ?) AND ends_at>?",
                (at, silence_id, silence_id + "%", at),
            )
            return cur.rowcount > 0

        return await self._tx(run)

    # --- retention ---
    async def prune(self, older_than: float) -> dict[str, int]:
        """Delete finished rows older than ``older_than`` (see ``Store.prune``), in chunks."""
        counts = {
            t: 0 for t in ("deliveries", "notification_log", "queue", "incidents", "timeline", "silences")
        }
        simple = (
            (
                "deliveries",
                "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries"
                " WHERE state IN ('sent', 'dead') AND done_at < ? LIMIT ?)",
            ),
            (
                "notification_log",
                "DELETE FROM notification_log WHERE id IN (SELECT id FROM notification_log"
                " WHERE sent_at < ? LIMIT ?)",
            ),
            (
                "queue",
                "DELETE FROM queue WHERE id IN (SELECT q.id FROM queue q"
                " WHERE q.state IN ('batched', 'suppressed') AND q.enqueued_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM deliveries e WHERE e.batch_id = q.batch_id AND e.state = 'pending')"
                " LIMIT ?)",
            ),
            (
                "silences",
                "DELETE FROM silences WHERE id IN (SELECT id FROM silences WHERE ends_at < ? LIMIT ?)",
            ),
        )
        for table, sql in simple:

            def delete(conn: sqlite3.Connection, sql: str = sql) -> int:
                return conn.execute(sql, (older_than, PRUNE_CHUNK)).rowcount

            while True:
                n = await self._tx(delete)
                counts[table] += n
                if n < PRUNE_CHUNK:
                    break

        chunk = min(PRUNE_CHUNK, 500)  # ids go into IN (?, ...): stay below old SQLite's 999 variables

        def incidents(conn: sqlite3.Connection) -> tuple[int, int]:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT i.id FROM incidents i WHERE i.status = 'resolved' AND i.resolved_at < ?"
                    " AND NOT EXISTS (SELECT 1 FROM queue q"
                    " WHERE q.incident_id = i.id AND q.state = 'queued') LIMIT ?",
                    (older_than, chunk),
                )
            ]
            if not ids:
                return 0, 0
            marks = ",".join("?" * len(ids))
            timeline = conn.execute(f"DELETE FROM timeline WHERE incident_id IN ({marks})", ids).rowcount
            conn.execute(f"DELETE FROM notify_state WHERE incident_id IN ({marks})", ids)
            conn.execute(f"DELETE FROM incidents WHERE id IN ({marks})", ids)
            return len(ids), timeline

        while True:
            n, timeline = await self._tx(incidents)
            counts["incidents"] += n
            counts["timeline"] += timeline
            if n < chunk:
                break
        return counts
