"""The PostgreSQL store's connection: one psycopg 3 async connection, one operation at a time.

``PostgresSession`` owns the connection of a ``PostgresStore`` (``podsleuth.store.postgres``):
each operation runs alone (an ``asyncio.Lock``), bounded by a client-side timeout and a
server-side ``statement_timeout``; a broken connection is reopened on next use. An operation
that is cancelled, times out or loses the connection leaves no half-used connection behind:
the statement is cancelled on the server and the connection closed, so the next operation
starts on a fresh one. ``migrate`` brings the schema up to date under an advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import pq

from podsleuth.errors import PodsleuthError
from podsleuth.store.migrations import POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION

T = TypeVar("T")
Conn = psycopg.AsyncConnection[tuple[Any, ...]]

_PASSWORD_PARAM = re.compile(r"((?:^|[?&])password=)[^&]*")
_MIGRATION_LOCK = 0x70_6F_64_73  # pg_advisory_xact_lock key: "pods"


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



class PostgresSession:
    """The connection handling of ``PostgresStore``: connect, run one operation, discard."""

    def __init__(self, url: str, *, timeout: float = 30.0, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._conn: Conn | None = None
        self._lock = asyncio.Lock()
        self._password = urlsplit(url).password or ""
        if not self._password and (m := re.search(r"[?&]password=([^&]*)", url)):
            self._password = m[1]

    @property
    def where(self) -> str:
        """The URL with credentials masked, for messages and logs."""
        return redact_url(self.url)

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


    async def _fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async def run(conn: Conn) -> list[tuple[Any, ...]]:
            cur = await conn.execute(sql, args)
            return await cur.fetchall()

        return await self._run(run)

    async def _scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        rows = await self._fetchall(sql, args)
        return rows[0][0] if rows else None


async def schema_version(conn: Conn) -> int:
    cur = await conn.execute("SELECT version FROM podsleuth_schema")
    row = await cur.fetchone()
    return 0 if row is None else int(row[0])


async def migrate(conn: Conn) -> int:
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
