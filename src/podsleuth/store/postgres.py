"""The PostgreSQL store: the ``Store`` Protocol shared by several watchers (high availability).

Same tables and statements as SQLite (``podsleuth.store.sqlite``), so a leader that takes over
knows what its predecessor recorded, queued and sent. One psycopg 3 async connection per store,
used by one operation at a time (an ``asyncio.Lock``), each operation bounded by a client-side
timeout and a server-side ``statement_timeout``; a broken connection is reopened on next use.

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
import contextlib
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import pq

from podsleuth.errors import PodsleuthError
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
from podsleuth.store.migrations import POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION

log = logging.getLogger(__name__)

T = TypeVar("T")
Conn = psycopg.AsyncConnection[tuple[Any, ...]]

_RESOLVED = "incident.resolved"
_PASSWORD_PARAM = re.compile(r"((?:^|[?&])password=)[^&]*")
_MIGRATION_LOCK = 0x70_6F_64_73  # pg_advisory_xact_lock key: "pods"
_INCIDENT_COLS = "id, fingerprint, status, data, opened_at, updated_at, resolved_at"
_DELIVERY_COLS = (
    "id, batch_id, receiver, target, payload, created_at, attempts, next_attempt_at, state, last_error"
)


def redact_url(url: str) -> str:
    """``postgresql://user:***@host/db``: the password masked, the rest kept for the operator."""
    url = _PASSWORD_PARAM.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    except ValueError:
        return "postgresql://***"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class _LostRace(Exception):
    """Raised inside a transaction to roll it back: another process got there first."""


class PostgresStore:
    """``Store`` on PostgreSQL; open it with ``await PostgresStore.open(url)``."""

    def __init__(
        self, url: str, *, timeout: float = 30.0, connect_timeout: float = 10.0, claim_ttl: float = 60.0
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.claim_ttl = claim_ttl
        """How long a claimed delivery stays invisible to other processes (longer than a sink call)."""
        self.owner = uuid.uuid4().hex
        self._conn: Conn | None = None
        self._lock = asyncio.Lock()
        self._password = urlsplit(url).password or ""
        if not self._password and (m := re.search(r"[?&]password=([^&]*)", url)):
            self._password = m[1]

    @property
    def where(self) -> str:
        """The URL with credentials masked, for messages and logs."""
        return redact_url(self.url)

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
                    await _migrate(conn)
        except BaseException:
            await store.aclose()
            raise
        return store

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    async def _connection(self) -> Conn:
        conn = self._conn
        if (
            conn is not None
            and not conn.closed
            and not conn.broken
            and conn.info.transaction_status == pq.TransactionStatus.IDLE
        ):
            return conn
        if conn is not None:  # dead, or left mid-statement/mid-transaction: never reuse it
            await self._discard(conn)
        try:
            async with asyncio.timeout(self.connect_timeout + 1):
                conn = await psycopg.AsyncConnection.connect(
                    self.url,
                    autocommit=True,
                    connect_timeout=max(1, int(self.connect_timeout)),
                    application_name="podsleuth",
                )
                ms = int(self.timeout * 1000)
                await conn.execute(f"SET statement_timeout = {ms}")
                await conn.execute(f"SET lock_timeout = {ms}")
        except (psycopg.Error, TimeoutError, OSError) as e:
            detail = self._scrub(" ".join(str(e).split())) or e.__class__.__name__
            raise PodsleuthError(f"cannot connect to the store at {self.where}: {detail}") from None
        self._conn = conn
        return conn

    async def _run(self, fn: Callable[[Conn], Awaitable[T]], *, tx: bool = False) -> T:
        """Run ``fn`` on the connection, alone, within the timeout; ``tx`` = in one transaction."""
        async with self._lock:
            conn = await self._connection()
            try:
                async with asyncio.timeout(self.timeout):
                    if not tx:
                        return await fn(conn)
                    async with conn.transaction():
                        return await fn(conn)
            except BaseException as exc:
                # Timed out, connection lost, or cancelled (a notifier worker stopped mid-query):
                # the connection may be mid-statement or inside a transaction, so it is not handed
                # to the next operation. A plain SQL error inside ``tx`` was rolled back and left
                # the connection idle: keep it.
                task = asyncio.current_task()
                cancelled = isinstance(exc, asyncio.CancelledError) or (
                    # a driver error raised while the task is being cancelled (the rollback
                    # after the cancellation failed, say) is that cancellation
                    isinstance(exc, psycopg.Error) and task is not None and task.cancelling() > 0
                )
                if (
                    cancelled
                    or isinstance(exc, (psycopg.OperationalError, TimeoutError))
                    or conn.closed
                    or conn.info.transaction_status != pq.TransactionStatus.IDLE
                ):
                    await self._discard(conn)
                if cancelled and not isinstance(exc, asyncio.CancelledError):
                    raise asyncio.CancelledError() from exc
                raise

    async def _discard(self, conn: Conn) -> None:
        """Forget ``conn`` and close it, first cancelling a statement still running on the server
        (so its locks go at once). Safe to call while the current task is being cancelled."""
        if self._conn is conn:
            self._conn = None
        if conn.closed:
            return
        try:
            if not conn.broken and conn.info.transaction_status == pq.TransactionStatus.ACTIVE:
                with contextlib.suppress(Exception):
                    await conn.cancel_safe(timeout=2.0)
        finally:
            await conn.close()

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._discard(self._conn)

    # --- incidents ---
    @staticmethod
    async def _record(conn: Conn, change: JSON, at: float) -> None:
        incident = change["incident"]
        event = str(change["event"])
        resolved = event == _RESOLVED
        await conn.execute(
            f"""INSERT INTO incidents ({_INCIDENT_COLS}) VALUES (%s, %s, %s, %s, %s, %s, %s)
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
        await conn.execute(
            "INSERT INTO timeline (incident_id, at, event, data) VALUES (%s, %s, %s, %s)",
            (str(incident["id"]), at, event, _dumps(incident)),
        )

    @staticmethod
    async def _enqueue(conn: Conn, items: Sequence[tuple[str, str, str, JSON, float]], at: float) -> None:
        if not items:
            return
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO queue (receiver, incident_id, event, change, enqueued_at, ready_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(r, i, e, _dumps(c), at, ready) for r, i, e, c, ready in items],
            )

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

    async def _fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async def run(conn: Conn) -> list[tuple[Any, ...]]:
            cur = await conn.execute(sql, args)
            return await cur.fetchall()

        return await self._run(run)

    async def _scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        rows = await self._fetchall(sql, args)
        return rows[0][0] if rows else None

    @staticmethod
    def _incident(row: Sequence[Any]) -> IncidentRecord:
        return IncidentRecord(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])

    async def open_incidents(self) -> list[IncidentRecord]:
        rows = await self._fetchall(
            f"SELECT {_INCIDENT_COLS} FROM incidents WHERE status='open' ORDER BY opened_at, id"
        )
        return [self._incident(r) for r in rows]

    async def incident(self, incident_id: str) -> IncidentRecord | None:
        rows = await self._fetchall(f"SELECT {_INCIDENT_COLS} FROM incidents WHERE id=%s", (incident_id,))
        return self._incident(rows[0]) if rows else None

    async def timeline(self, incident_id: str) -> list[tuple[float, str, JSON]]:
        rows = await self._fetchall(
            "SELECT at, event, data FROM timeline WHERE incident_id=%s ORDER BY id", (incident_id,)
        )
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    # --- queue ---
    async def queued(self, receiver: str) -> list[QueuedChange]:
        rows = await self._fetchall(
            "SELECT id, receiver, incident_id, event, change, enqueued_at, ready_at FROM queue"
            " WHERE receiver=%s AND state='queued' ORDER BY id",
            (receiver,),
        )
        return [QueuedChange(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]

    async def next_ready_at(self, receiver: str) -> float | None:
        value = await self._scalar(
            "SELECT MIN(ready_at) FROM queue WHERE receiver=%s AND state='queued'", (receiver,)
        )
        return None if value is None else float(value)

    async def commit_batch(self, plan: BatchPlan, *, at: float) -> None:
        ids = sorted({*plan.sent_ids, *plan.suppressed})

        async def run(conn: Conn) -> None:
            if ids:
                cur = await conn.execute(
                    "SELECT id FROM queue WHERE id = ANY(%s) AND state='queued' ORDER BY id FOR UPDATE",
                    (ids,),
                )
                if len(await cur.fetchall()) != len(ids):
                    raise _LostRace
            async with conn.cursor() as cur:
                if plan.sent_ids:
                    await cur.executemany(
                        "UPDATE queue SET state='batched', batch_id=%s WHERE id=%s",
                        [(plan.batch_id, i) for i in plan.sent_ids],
                    )
                if plan.suppressed:
                    await cur.executemany(
                        "UPDATE queue SET state='suppressed', batch_id=%s, reason=%s WHERE id=%s",
                        [(plan.batch_id, reason, i) for i, reason in plan.suppressed.items()],
                    )
                payload = _dumps(plan.payload)
                if plan.targets:
                    await cur.executemany(
                        "INSERT INTO deliveries"
                        " (batch_id, receiver, target, payload, created_at, next_attempt_at)"
                        " VALUES (%s, %s, %s, %s, %s, %s)",
                        [(plan.batch_id, plan.receiver, t, payload, at, at) for t in plan.targets],
                    )
                if plan.notify:
                    await cur.executemany(
                        "INSERT INTO notify_state"
                        " (receiver, incident_id, last_sent_at, last_hash, last_event)"
                        " VALUES (%s, %s, %s, %s, %s)"
                        " ON CONFLICT(receiver, incident_id) DO UPDATE SET"
                        " last_sent_at=excluded.last_sent_at, last_hash=excluded.last_hash,"
                        " last_event=excluded.last_event",
                        [tuple(s) for s in plan.notify],
                    )

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
        rows = await self._fetchall(
            "SELECT receiver, incident_id, last_sent_at, last_hash, last_event FROM notify_state"
            " WHERE receiver=%s AND incident_id = ANY(%s)",
            (receiver, ids),
        )
        return {r[1]: NotifyState(*r) for r in rows}

    async def due_for_repeat(self, receiver: str, *, before: float, limit: int = 500) -> list[IncidentRecord]:
        """Open incidents this receiver was last told about before ``before``, not queued again."""
        rows = await self._fetchall(
            "SELECT i.id, i.fingerprint, i.status, i.data, i.opened_at, i.updated_at, i.resolved_at"
            " FROM notify_state n JOIN incidents i ON i.id = n.incident_id"
            " WHERE n.receiver=%s AND n.last_sent_at<%s AND n.last_event!='incident.resolved'"
            " AND i.status='open' AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.receiver=n.receiver"
            " AND q.incident_id=n.incident_id AND q.state='queued') ORDER BY i.id LIMIT %s",
            (receiver, before, limit),
        )
        return [self._incident(r) for r in rows]

    # --- deliveries (the outbox) ---
    @staticmethod
    def _delivery(r: Sequence[Any]) -> Delivery:
        return Delivery(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8], r[9])

    async def due_deliveries(self, receiver: str, *, now: float, limit: int) -> list[Delivery]:
        """Claim and return due rows: unclaimed, claimed by this store, or with an expired claim."""
        cols = ", ".join(f"d.{c.strip()}" for c in _DELIVERY_COLS.split(","))

        async def run(conn: Conn) -> list[tuple[Any, ...]]:
            cur = await conn.execute(
                "WITH due AS (SELECT d.id FROM deliveries d WHERE d.receiver=%s AND d.state='pending'"
                " AND d.next_attempt_at<=%s"
                " AND (d.claimed_by IS NULL OR d.claimed_by=%s OR d.claimed_until<=%s)"
                f"{HEAD_OF_LINE} ORDER BY d.next_attempt_at, d.id LIMIT %s FOR UPDATE OF d SKIP LOCKED)"
                f" UPDATE deliveries d SET claimed_by=%s, claimed_until=%s FROM due WHERE d.id=due.id"
                f" RETURNING {cols}",
                (receiver, now, self.owner, now, limit, self.owner, now + self.claim_ttl),
            )
            return await cur.fetchall()

        rows = await self._run(run, tx=True)
        return sorted((self._delivery(r) for r in rows), key=lambda d: (d.next_attempt_at, d.id))

    async def next_delivery_at(self, receiver: str) -> float | None:
        value = await self._scalar(
            "SELECT MIN(CASE WHEN d.claimed_by IS NULL OR d.claimed_by=%s THEN d.next_attempt_at"
            " ELSE GREATEST(d.next_attempt_at, d.claimed_until) END)"
            " FROM deliveries d WHERE d.receiver=%s AND d.state='pending'" + HEAD_OF_LINE,
            (self.owner, receiver),
        )
        return None if value is None else float(value)

    async def deliveries(self, *, state: str | None = None) -> list[Delivery]:
        where, args = ("WHERE state=%s", (state,)) if state else ("", ())
        rows = await self._fetchall(f"SELECT {_DELIVERY_COLS} FROM deliveries {where} ORDER BY id", args)
        return [self._delivery(r) for r in rows]

    async def mark_sent(self, delivery_id: int, *, at: float) -> None:
        async def run(conn: Conn) -> None:
            cur = await conn.execute(
                "UPDATE deliveries SET state='sent', attempts=attempts+1, done_at=%s,"
                " claimed_by=NULL, claimed_until=NULL WHERE id=%s"
                " RETURNING receiver, target, batch_id, payload",
                (at, delivery_id),
            )
            row = await cur.fetchone()
            if row is not None:
                ids = [c["incident"]["id"] for c in json.loads(row[3]).get("changes", [])]
                await conn.execute(
                    "INSERT INTO notification_log"
                    " (delivery_id, receiver, target, batch_id, sent_at, incident_ids)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    (delivery_id, row[0], row[1], row[2], at, _dumps(ids)),
                )

        await self._run(run, tx=True)

    async def mark_retry(self, delivery_id: int, *, attempts: int, next_at: float, error: str) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(
                "UPDATE deliveries SET attempts=%s, next_attempt_at=%s, last_error=%s,"
                " claimed_by=NULL, claimed_until=NULL WHERE id=%s",
                (attempts, next_at, error[:500], delivery_id),
            )

        await self._run(run, tx=True)

    async def mark_dead(self, delivery_id: int, *, attempts: int, at: float, error: str) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(
                "UPDATE deliveries SET state='dead', attempts=%s, done_at=%s, last_error=%s,"
                " claimed_by=NULL, claimed_until=NULL WHERE id=%s",
                (attempts, at, error[:500], delivery_id),
            )

        await self._run(run, tx=True)

    async def notification_log(self) -> list[tuple[str, str, str, float, list[str]]]:
        rows = await self._fetchall(
            "SELECT receiver, target, batch_id, sent_at, incident_ids FROM notification_log ORDER BY id"
        )
        return [(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    # --- silences ---
    async def add_silence(self, silence: Silence) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_by, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
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

        await self._run(run, tx=True)

    async def silences(self, *, now: float, include_expired: bool = False) -> list[Silence]:
        where = "" if include_expired else "WHERE ends_at > %s"
        args: tuple[Any, ...] = () if include_expired else (now,)
        rows = await self._fetchall(
            "SELECT id, matchers, starts_at, ends_at, comment, created_by, created_at FROM silences"
            f" {where} ORDER BY created_at, id",
            args,
        )
        return [Silence(r[0], json.loads(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]

    async def expire_silence(self, silence_id: str, *, at: float) -> bool:
        async def run(conn: Conn) -> bool:
            cur = await conn.execute(
                "UPDATE silences SET ends_at=%s WHERE (id=%s OR id LIKE %s) AND ends_at>%s",
                (at, silence_id, silence_id + "%", at),
            )
            return cur.rowcount > 0

        return await self._run(run, tx=True)

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
                " WHERE state IN ('sent', 'dead') AND done_at < %s LIMIT %s)",
            ),
            (
                "notification_log",
                "DELETE FROM notification_log WHERE id IN (SELECT id FROM notification_log"
                " WHERE sent_at < %s LIMIT %s)",
            ),
            (
                "queue",
                "DELETE FROM queue WHERE id IN (SELECT q.id FROM queue q"
                " WHERE q.state IN ('batched', 'suppressed') AND q.enqueued_at < %s AND NOT EXISTS"
                " (SELECT 1 FROM deliveries e WHERE e.batch_id = q.batch_id AND e.state = 'pending')"
                " LIMIT %s)",
            ),
            (
                "silences",
                "DELETE FROM silences WHERE id IN (SELECT id FROM silences WHERE ends_at < %s LIMIT %s)",
            ),
        )

        for table, sql in simple:

            async def delete(conn: Conn, sql: str = sql) -> int:
                cur = await conn.execute(sql, (older_than, PRUNE_CHUNK))
                return cur.rowcount

            while True:
                n = await self._run(delete, tx=True)
                counts[table] += n
                if n < PRUNE_CHUNK:
                    break

        async def incidents(conn: Conn) -> tuple[int, int]:
            # DELETE ... RETURNING re-checks the condition on rows changed meanwhile, so an
            # incident that reopens concurrently is kept.
            cur = await conn.execute(
                "DELETE FROM incidents WHERE id IN (SELECT i.id FROM incidents i"
                " WHERE i.status = 'resolved' AND i.resolved_at < %s AND NOT EXISTS"
                " (SELECT 1 FROM queue q WHERE q.incident_id = i.id AND q.state = 'queued') LIMIT %s)"
                " AND status = 'resolved' AND resolved_at < %s RETURNING id",
                (older_than, PRUNE_CHUNK, older_than),
            )
            ids = [r[0] for r in await cur.fetchall()]
            if not ids:
                return 0, 0
            cur = await conn.execute("DELETE FROM timeline WHERE incident_id = ANY(%s)", (ids,))
            timeline = cur.rowcount
            await conn.execute("DELETE FROM notify_state WHERE incident_id = ANY(%s)", (ids,))
            return len(ids), timeline

        while True:
            n, timeline = await self._run(incidents, tx=True)
            counts["incidents"] += n
            counts["timeline"] += timeline
            if n < PRUNE_CHUNK:
                break
        return counts


async def schema_version(conn: Conn) -> int:
    cur = await conn.execute("SELECT version FROM podsleuth_schema")
    row = await cur.fetchone()
    return 0 if row is None else int(row[0])


async def _migrate(conn: Conn) -> int:
    """Bring the schema to ``POSTGRES_SCHEMA_VERSION`` in one transaction, under an advisory lock;
    refuse a database written by a newer podsleuth."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS podsleuth_schema (version INTEGER NOT NULL)")
        cur = await conn.execute("SELECT version FROM podsleuth_schema")
        row = await cur.fetchone()
        if row is None:
            await conn.execute("INSERT INTO podsleuth_schema (version) VALUES (0)")
        version = 0 if row is None else int(row[0])
        if version > POSTGRES_SCHEMA_VERSION:
            raise RuntimeError(
                f"store schema version {version} is newer than this podsleuth supports "
                f"({POSTGRES_SCHEMA_VERSION})"
            )
        for number in range(version, POSTGRES_SCHEMA_VERSION):
            for statement in POSTGRES_MIGRATIONS[number].split(";"):
                if statement.strip():
                    await conn.execute(statement.encode())  # a literal step: no parameters
            await conn.execute("UPDATE podsleuth_schema SET version=%s", (number + 1,))
    return POSTGRES_SCHEMA_VERSION
