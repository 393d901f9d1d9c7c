"""Who publishes among the ``watch`` replicas, and how a new leader catches up (docs/ha.md).

Every replica detects; only the one whose ``Leadership`` is *active* prints, records and
notifies. Failover is the subtle part of the watcher - fence the store, adopt the deliveries a
dead leader left in flight, replay the warm standby's shadow against the store without
duplicates or gaps, stop at once on a step-down - so it is one unit with explicit collaborators
(a ``Term``, the notifier's deliveries, a publish function), driven alone against the fake API
server's Lease and a real store in tests/ha/test_leadership.py, no CLI involved. Without leader
election the same unit leads at once: a restart catches up with the store the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from prometheus_client import CollectorRegistry, Gauge

from podsleuth.cli.election import Term
from podsleuth.detect import IncidentChange
from podsleuth.resume import Resumption, Shadow, same_content
from podsleuth.store.base import IncidentRecord

log = logging.getLogger("podsleuth.cli.watch_job")
"""The logger the watcher's leadership messages always came from (operators grep for it)."""

Publish = Callable[[IncidentChange], Awaitable[None]]
"""What an active replica does with a change: print it and queue it for alerting."""


class Deliveries(Protocol):
    """What leadership starts and stops of the notifier (``podsleuth.alert.notifier``)."""

    async def run(self) -> None: ...

    def cancel_deliveries(self) -> None: ...


def leader_gauge(registry: CollectorRegistry) -> Gauge:
    """``podsleuth_leader`` on a run's registry (made by the composer before the notifier's
    metrics, so /metrics lists the families in the order it always did)."""
    return Gauge(
        "podsleuth_leader",
        "1 while this replica prints and sends notifications (always 1 without leader election).",
        registry=registry,
    )


@dataclass(frozen=True, slots=True)
class LeadershipOptions:
    """The leadership unit's settings: ``resolve_after`` is the grace before stored incidents
    the synced cluster no longer shows are resolved; ``gauge`` is its ``leader_gauge``."""

    resolve_after: float
    gauge: Gauge


class Leadership:
    """The gate between the detector and the world: ``emit`` every change here.

    Every change is remembered in ``shadow`` (latest per incident): what this replica publishes
    once it leads and has caught up with the store - also without election, where the first
    changes can come while the store is still being read and must not be lost.
    """

    def __init__(
        self,
        term: Term,
        deliveries: Deliveries,
        publish: Publish,
        synced: asyncio.Event,
        options: LeadershipOptions,
    ) -> None:
        self.term = term
        self._deliveries = deliveries
        self._out = publish
        self._synced = synced
        self._resolve_after = options.resolve_after
        self.shadow = Shadow()
        self.resumption = Resumption(())
        self.active = False
        """True while this replica publishes: it leads and has caught up with the store."""
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._failed = asyncio.Event()
        self._gauge = options.gauge
        if term.elector is not None:  # the elector tells this unit, and nobody else, of its turns
            term.elector.on_started_leading = self._started_leading
            term.elector.on_stopped_leading = self._stopped_leading

    @property
    def failure(self) -> BaseException | None:
        """What a leader task (catch-up, the notifier) failed with; the run ends with it."""
        return self._failure

    # --- the live path ---
    async def emit(self, change: IncidentChange) -> None:
        """Remember the change; publish it if this replica is active (after any catch-up)."""
        self.shadow.note(change)
        if not self.active:
            return
        async with self._lock:
            if self.active and self.term.leading:
                await self._publish(change)

    async def _publish(self, change: IncidentChange, *, replay: bool = False) -> None:
        """``replay``: a catch-up change a predecessor may have emitted (always told), not a
        re-detection of a stored incident (told only if its count grew)."""
        news = self.resumption.apply(change) if replay else self.resumption.news(change)
        if news is not None:  # None: a stored incident re-detected after a restart: old news
            await self._out(news)

    # --- the terms ---
    async def run(self) -> None:
        """Lead at once (no election) or whenever the Lease is ours, until cancelled; raises
        what a leader task failed with. Call ``stop`` and then ``release`` after it."""
        elector = self.term.elector
        if elector is None:
            self._started_leading()
            await self._failed.wait()
        else:
            self._gauge.set(0)
            electing = asyncio.create_task(elector.run())
            failed = asyncio.create_task(self._failed.wait())
            try:
                await asyncio.wait({electing, failed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                electing.cancel()
                failed.cancel()
                await asyncio.gather(electing, failed, return_exceptions=True)
            if not electing.cancelled() and (e := electing.exception()) is not None:
                raise e
        if self._failure is not None:
            raise self._failure

    async def stop(self) -> None:
        """Stop publishing for good (the run ends): as a step-down, then wait for the leader
        tasks to finish their cancellation."""
        self._stopped_leading()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def release(self) -> None:
        """Hand the Lease over at once (after ``stop``, once the notifier is closed)."""
        elector = self.term.elector
        if elector is not None:
            await elector.release(within=min(5.0, elector.renew_deadline))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (e := task.exception()) is not None:
            log.error("notifying failed: %s", e, exc_info=e)
            self._failure = e
            self._failed.set()

    def _started_leading(self) -> None:
        self._gauge.set(1)
        self._spawn(self._lead())

    def _stopped_leading(self) -> None:
        """Stop at once: no more prints, batches or deliveries; those in flight are cancelled, so
        a deposed leader has stopped sending before anybody can take the Lease over (the next
        leader sends them again, marked as possible duplicates)."""
        self.active = False
        self._gauge.set(0)
        for task in list(self._tasks):
            task.cancel()
        self._deliveries.cancel_deliveries()

    # --- catching up ---
    async def _lead(self) -> None:
        """Catch up with the shared store, then publish and notify until cancelled."""
        if not await self.term.take_over():
            return
        self.active = True
        self._spawn(self._deliveries.run())  # first: what a predecessor left in the outbox goes out now
        async with self._lock:
            replay = self.shadow.snapshot()
            records = await self.term.store.open_incidents()
            self.resumption = Resumption(records)
            await self._catch_up(replay, {r.fingerprint: r for r in records})
        self._spawn(self._resolve_leftovers())

    async def _catch_up(self, replay: list[IncidentChange], stored: dict[str, IncidentRecord]) -> None:
        """Publish what the store does not know yet: incidents opened or changed while another
        replica led (or none did), and resolves of incidents the store still has open."""
        published = 0
        for change in replay:
            if _earlier_than(change, stored.get(change.incident.fingerprint)):
                continue  # an earlier incident of that fingerprint, resolved before the stored one opened
            record = stored.pop(change.incident.fingerprint, None)
            if change.kind == "incident.resolved":
                if record is None:
                    continue  # nobody was told it was open, or its resolve is already stored
            else:
                change = msgspec.structs.replace(change, kind="incident.opened")
                if record is not None:
                    mapped = self.resumption.apply(change)  # now an update of the stored incident
                    if same_content(mapped, record):
                        continue
            # A predecessor may have emitted a change it never delivered: always tell it. Without
            # election there is no predecessor, only this process's own restart: news only.
            await self._publish(change, replay=self.term.elector is not None)
            published += 1
        if replay:
            log.info("leader catch-up: %d incident(s) known, %d published", len(replay), published)

    async def _resolve_leftovers(self) -> None:
        """Resolve stored incidents the synced cluster no longer shows (see podsleuth.resume)."""
        if not self.resumption.pending:
            return
        await self._synced.wait()
        await asyncio.sleep(self._resolve_after)
        async with self._lock:
            if not self.active:
                return
            for change in self.resumption.resolve_leftovers(datetime.now(UTC)):
                await self._publish(change)


def _earlier_than(change: IncidentChange, record: IncidentRecord | None) -> bool:
    """A resolve of another incident of the same fingerprint that ended before the stored open
    one began (a node that flapped twice): it tells nothing about the stored incident. Matching
    it by fingerprint would resolve the open incident falsely and announce it opened again."""
    resolved_at = change.incident.resolved_at
    return (
        record is not None
        and change.kind == "incident.resolved"
        and record.id != change.incident.id
        and resolved_at is not None
        and resolved_at.timestamp() < record.opened_at
    )
