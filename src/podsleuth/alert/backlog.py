"""Store faults on the publish path: writes the store refused wait in memory, in order.

A full disk, a read-only remount, a lock timeout or a restarting PostgreSQL must not lose an
incident. ``Backlog`` keeps the ``record_and_enqueue`` writes that failed (and every later one,
so the store sees them in order) in a bounded deque and writes them when the store answers
again, retrying with capped exponential backoff. ``StoreHealth`` is the degraded state the
notifier's other writes report into too; ``/readyz`` and the ``podsleuth_store_*`` metrics show
it. A full backlog drops its oldest entry, counted and logged - never silently - and whatever is
still unwritten when the run ends makes ``watch`` exit non-zero (podsleuth.cli.watch_job).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge

from podsleuth.errors import PodsleuthError

log = logging.getLogger("podsleuth.alert.backlog")

BASE_STORE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, OSError, PodsleuthError)


def store_errors() -> tuple[type[BaseException], ...]:
    """What a store fault raises: SQLite's, the OS's and ours, plus the PostgreSQL driver's once
    it is loaded. Looked up when an exception is caught, so a watcher on SQLite never imports
    psycopg (20 MiB of RSS): a driver that was never imported raised nothing."""
    psycopg = sys.modules.get("psycopg")
    return (*BASE_STORE_ERRORS, psycopg.Error) if psycopg is not None else BASE_STORE_ERRORS


CAPACITY = 10_000
"""Incident changes held while the store is down (each a few kB: tens of MB at most)."""
BACKOFF_BASE, BACKOFF_MAX = 0.5, 10.0


class Write(NamedTuple):
    change: dict[str, Any]
    items: Sequence[tuple[str, str, str, dict[str, Any], float]]
    at: float


class StoreHealth:
    """Degraded while store writes fail; the first failure of a run is logged, then one line per
    recovery, so a long outage does not flood the log."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.problem: str | None = None
        self.degraded = Gauge("podsleuth_store_degraded", "1 while writes to the incident store fail.",
                              registry=registry)  # fmt: skip
        self.failures = Counter("podsleuth_store_write_failures_total",
                                "Store operations that failed (retried with backoff).", ["operation"],
                                registry=registry)  # fmt: skip
        self.backlog = Gauge("podsleuth_store_backlog", "Incident changes waiting in memory for the store.",
                             registry=registry)  # fmt: skip
        self.dropped = Counter("podsleuth_store_backlog_dropped_total",
                               "Incident changes dropped because the in-memory backlog was full.",
                               registry=registry)  # fmt: skip

    def failed(self, operation: str, error: BaseException) -> None:
        self.failures.labels(operation=operation).inc()
        text = " ".join(str(error).split()) or type(error).__name__
        if self.problem is None:
            log.error("store write failed (%s): %s; retrying with backoff, changes wait in memory",
                      operation, text)  # fmt: skip
        self.problem = f"{operation}: {text}"[:300]
        self.degraded.set(1)

    def ok(self) -> None:
        if self.problem is not None:
            log.warning("store writable again")
        self.problem = None
        self.degraded.set(0)


class Backlog:
    """The failed ``record_and_enqueue`` writes, oldest first; ``drain`` runs with the notifier."""

    def __init__(
        self,
        write: Callable[[Write], Awaitable[None]],
        health: StoreHealth,
        *,
        capacity: int = CAPACITY,
        on_written: Callable[[Write], None] = lambda _w: None,
    ) -> None:
        self.write, self.health, self.capacity, self.on_written = write, health, capacity, on_written
        self.entries: deque[Write] = deque()
        self.dropped = 0
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self.entries)

    async def submit(self, entry: Write) -> None:
        """Write now, or - if the store fails or older writes still wait - keep it for later."""
        if not self.entries:
            try:
                await self.write(entry)
            except store_errors() as e:
                self.health.failed("record", e)
            else:
                self.on_written(entry)
                return
        self._keep(entry)

    def _keep(self, entry: Write) -> None:
        if len(self.entries) >= self.capacity:
            lost = self.entries.popleft()
            self.dropped += 1
            self.health.dropped.inc()
            if self.dropped == 1 or self.dropped % 100 == 0:
                lost_id = lost.change.get("incident", {}).get("id")
                log.error("store backlog full (%d changes): dropped the oldest (incident %s); %d dropped "
                          "so far", self.capacity, lost_id, self.dropped)  # fmt: skip
        self.entries.append(entry)
        self.health.backlog.set(len(self.entries))
        self._wake.set()

    async def flush(self) -> bool:
        """Write waiting entries in order until one fails; True when none is left."""
        while self.entries:
            entry = self.entries[0]
            try:
                await self.write(entry)
            except store_errors() as e:
                self.health.failed("record", e)
                return False
            self.entries.popleft()
            self.health.backlog.set(len(self.entries))
            self.on_written(entry)
        self.health.ok()
        return True

    async def drain(self) -> None:
        """Until cancelled: flush whenever entries wait, backing off while the store fails."""
        delay = BACKOFF_BASE
        while True:
            if not self.entries:
                self._wake.clear()
                await self._wake.wait()
            if await self.flush():
                delay = BACKOFF_BASE
                continue
            await asyncio.sleep(delay)
            delay = min(BACKOFF_MAX, delay * 2)

    async def flush_within(self, seconds: float) -> int:
        """A last flush at shutdown, retrying for up to ``seconds``; the entries left unwritten."""
        deadline = time.monotonic() + seconds
        delay = BACKOFF_BASE
        while not await self.flush() and time.monotonic() + delay < deadline:
            await asyncio.sleep(delay)
            delay = min(BACKOFF_MAX, delay * 2)
        return len(self.entries)


async def retrying(health: StoreHealth, operation: str, call: Callable[[], Awaitable[None]]) -> None:
    """Run a store write until it succeeds (or the task is cancelled), backing off while it fails:
    for the outcome of a delivery, which must not be lost once the sink answered."""
    delay = BACKOFF_BASE
    while True:
        try:
            await call()
        except store_errors() as e:
            health.failed(operation, e)
        else:
            return
        await asyncio.sleep(delay)
        delay = min(BACKOFF_MAX, delay * 2)
