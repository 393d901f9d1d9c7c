"""The notifier: incident changes in, notifications out, without noise and without loss.

``submit`` only routes the change and writes it to the store (one transaction, off the event
loop), then wakes the receivers' workers; detection never waits on a sink. Each receiver has its
own worker that folds due changes into a batch (group_wait, repeat_interval, silences, rate
limit) and starts deliveries from the outbox, at most ``max_in_flight`` at a time, so a slow or
dead sink delays only its own receiver.

Per sink target, the changes of one incident arrive in order: the store does not hand out a
delivery while an earlier one carrying the same incident is still pending (in flight or waiting
for its retry), so a resolve never overtakes a retried firing. Different incidents go in parallel.

A retention sweep (``AlertOptions.retention``, every ``prune_interval``) deletes what is finished
and old: sent/dead deliveries, their queue rows and log, and incidents resolved long ago.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry

from podsleuth.alert import failpoints
from podsleuth.alert.backlog import BACKOFF_BASE, BACKOFF_MAX, Backlog, StoreHealth, Write, store_errors
from podsleuth.alert.grouping import Policy, TokenBucket, plan_batch
from podsleuth.alert.model import decode_change
from podsleuth.alert.options import AlertOptions
from podsleuth.alert.outbox import AlertMetrics, Deliverer, Fence
from podsleuth.alert.routing import Router
from podsleuth.alert.sinks import Sink
from podsleuth.alert.sinks.factory import build_sinks
from podsleuth.alert.sinks.kube_events import PostFn
from podsleuth.config import AlertSettings
from podsleuth.store.base import Store

log = logging.getLogger("podsleuth.alert")

Clock = Callable[[], float]


class Notifier:
    def __init__(
        self,
        settings: AlertSettings,
        store: Store,
        *,
        clock: Clock = time.time,
        options: AlertOptions | None = None,
        kube_post: PostFn | None = None,
        sinks: dict[str, dict[str, Sink]] | None = None,
        registry: CollectorRegistry | None = None,
        rng: random.Random | None = None,
        fence: Fence | None = None,
    ) -> None:
        self.options = options or AlertOptions.from_settings(settings)
        self.store = store
        self.clock = clock
        self.router = Router(settings)
        self.sinks = (
            sinks
            if sinks is not None
            else build_sinks(settings, self.options, clock=clock, kube_post=kube_post)
        )
        self.metrics = AlertMetrics(registry)
        self.health = StoreHealth(self.metrics.registry)
        self.backlog = Backlog(self._write, self.health, on_written=self._written)
        self.policy = Policy(
            repeat_interval=self.options.repeat_interval,
            send_resolved=self.options.send_resolved,
            max_batch=self.options.max_batch,
            victims_with_cause=self.options.victims_with_cause,
        )
        secrets: tuple[str, ...] = ()
        for targets in self.sinks.values():
            for sink in targets.values():
                secrets += tuple(getattr(sink, "secrets", ()))
        self.deliverer = Deliverer(
            store=store,
            sinks=self.sinks,
            secrets=secrets,
            metrics=self.metrics,
            clock=clock,
            rng=rng or random.Random(),
            max_attempts=self.options.max_attempts,
            backoff_base=self.options.backoff_base,
            backoff_max=self.options.backoff_max,
            fence=fence,
            health=self.health,
        )
        self.buckets: dict[str, TokenBucket] = {}
        now = clock()
        for name, targets in self.sinks.items():
            human = any(t.startswith("apprise:") for t in targets)
            limit = self.options.rate_limit_for(name, human=human)
            if limit is not None:
                self.buckets[name] = TokenBucket(capacity=limit.messages, period=limit.period, now=now)
        self._wake = {name: asyncio.Event() for name in self.sinks}
        self._next_repeat_scan: dict[str, float] = {}
        self._in_flight: dict[str, set[int]] = {name: set() for name in self.sinks}
        self._starting = {name: asyncio.Lock() for name in self.sinks}
        self._tasks: set[asyncio.Task[None]] = set()
        self._limits = {name: asyncio.Semaphore(self.options.max_in_flight) for name in self.sinks}
        self.passes = {name: 0 for name in self.sinks}
        """Worker passes (flush, then start what is due) completed per receiver. Two more than
        when a change was submitted mean a whole pass has seen it: "nothing was started for it"
        becomes something to wait for, not a sleep."""

    # --- the detector side ---
    async def submit(self, change: dict[str, Any]) -> list[str]:
        """Persist the change for its receivers and return their names; never waits on a sink.
        If the store fails, the change waits in the in-memory backlog (podsleuth.alert.backlog)."""
        change = msgspec.to_builtins(change)  # Structs, datetimes, tuples -> plain JSON values
        decoded = decode_change(change)
        receivers = self.router.receivers_for(decoded.incident)
        now = self.clock()
        ready = now + self.options.group_wait
        items = [(r, decoded.incident.id, decoded.event, change, ready) for r in receivers]
        if not receivers and self.sinks:
            log.warning(
                "incident %s (%s) matched no route and no default receiver",
                decoded.incident.id,
                decoded.incident.category,
            )
        await self.backlog.submit(Write(change, items, now))
        return receivers

    async def _write(self, entry: Write) -> None:
        await self.store.record_and_enqueue(entry.change, entry.items, at=entry.at)
        failpoints.hit("submit.after-store")

    def _written(self, entry: Write) -> None:
        for r, *_ in entry.items:
            self._wake[r].set()

    @property
    def unwritten(self) -> int:
        """Changes accepted but not in the store: waiting in the backlog, or dropped from it."""
        return len(self.backlog) + self.backlog.dropped

    # --- one receiver, one step ---
    async def queue_repeats(self, receiver: str) -> int:
        """Re-queue open incidents the receiver has not heard about for ``repeat_interval``, so a
        long incident is re-notified (and its Alertmanager alert kept firing) without updates."""
        now = self.clock()
        if now < self._next_repeat_scan.get(receiver, 0.0):
            return 0
        self._next_repeat_scan[receiver] = now + min(60.0, self.options.repeat_interval / 10)
        records = await self.store.due_for_repeat(receiver, before=now - self.options.repeat_interval)
        items = [
            (receiver, r.id, "incident.updated", {"event": "incident.updated", "incident": r.data}, now)
            for r in records
        ]
        if items:
            await self.store.enqueue(items, at=now)
        return len(items)

    async def flush(self, receiver: str) -> float | None:
        """Fold due queued changes into a batch; return when to look again (None = nothing queued)."""
        await self.queue_repeats(receiver)
        now = self.clock()
        next_ready = await self.store.next_ready_at(receiver)
        if next_ready is None:
            return None
        if next_ready > now:
            return next_ready
        bucket = self.buckets.get(receiver)
        if bucket is not None and (at := bucket.available_at(now)) > now:
            return at
        rows = await self.store.queued(receiver)
        states = await self.store.notify_states(receiver, [r.incident_id for r in rows])
        silences = await self.store.silences(now=now)
        plan = plan_batch(
            rows,
            receiver=receiver,
            states=states,
            silences=silences,
            policy=self.policy,
            targets=list(self.sinks[receiver]),
            now=now,
        )
        await self.store.commit_batch(plan, at=now)
        for reason in plan.suppressed.values():
            self.metrics.suppressed.labels(receiver=receiver, reason=reason).inc()
        if plan.targets and bucket is not None:
            bucket.take(now)
        more = len(rows) > self.policy.max_batch
        return now if more else await self.store.next_ready_at(receiver)

    async def dispatch(self, receiver: str, *, wait: bool = False) -> float | None:
        """Start due deliveries of a receiver; with ``wait``, await them (used by ``pump``)."""
        started = await self._start_due(receiver)
        if wait and started:
            await asyncio.gather(*started.values())
        return await self.store.next_delivery_at(receiver)

    async def _start_due(
        self, receiver: str, *, skip: set[int] | None = None
    ) -> dict[int, asyncio.Task[None]]:
        """Start the due deliveries the store hands out (only those heading their incidents'
        line, see ``Store.due_deliveries``) up to ``max_in_flight``; return the started ones."""
        async with self._starting[receiver]:
            return await self._start_due_locked(receiver, skip=skip)

    async def _start_due_locked(
        self, receiver: str, *, skip: set[int] | None
    ) -> dict[int, asyncio.Task[None]]:
        in_flight = self._in_flight[receiver]
        free = self.options.max_in_flight - len(in_flight)
        if free <= 0:
            return {}
        # The store's answer describes the rows as they were when it read them: a delivery in
        # flight then may have finished (marked sent, left the in-flight set) by the time the
        # answer arrives, and its row would still read pending. Whatever was in flight when the
        # query started is not started from this answer; the next query sees its real state.
        busy = set(in_flight)
        due = await self.store.due_deliveries(receiver, now=self.clock(), limit=free + len(busy))
        started: dict[int, asyncio.Task[None]] = {}
        for d in due:
            if d.id in busy or d.id in in_flight or (skip is not None and d.id in skip):
                continue
            if len(in_flight) >= self.options.max_in_flight:
                break
            in_flight.add(d.id)
            task = asyncio.create_task(self._deliver(receiver, d))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started[d.id] = task
        return started

    async def _deliver(self, receiver: str, d: Any) -> None:
        try:
            async with self._limits[receiver]:
                await self.deliverer.deliver(d)
        finally:
            self._in_flight[receiver].discard(d.id)
            self._wake[receiver].set()

    async def pump(self) -> None:
        """Flush and deliver everything due now, once, and wait for it: the deterministic step
        tests drive with a hand-set clock (``run`` loops over the same steps). A delivery that
        waited behind an earlier one of the same incident goes out in the same pump once that
        one is done; each delivery is attempted at most once per pump."""
        for receiver in self.sinks:
            await self.flush(receiver)
            tried: set[int] = set()
            while started := await self._start_due(receiver, skip=tried):
                tried.update(started)
                await asyncio.gather(*started.values())

    async def prune(self) -> dict[str, int]:
        """One retention sweep: delete what finished more than ``retention`` seconds ago."""
        if self.options.retention <= 0:
            return {}
        counts = await self.store.prune(self.clock() - self.options.retention)
        if any(counts.values()):
            log.info(
                "retention: deleted %s older than %.0f days",
                ", ".join(f"{n} {table}" for table, n in counts.items() if n),
                self.options.retention / 86400,
            )
        return counts

    async def _retention(self) -> None:
        if self.options.retention <= 0 or self.options.prune_interval <= 0:
            return
        while True:
            try:
                await self.prune()
            except Exception as e:  # the store may be briefly unreachable: try again next time
                log.warning("retention sweep failed: %s: %s", type(e).__name__, e)
            await asyncio.sleep(self.options.prune_interval)

    # --- the loop ---
    async def run(self) -> None:
        """Deliver until cancelled: one worker per receiver, plus the retention sweep."""
        async with asyncio.TaskGroup() as group:
            for receiver in self.sinks:
                group.create_task(self._worker(receiver))
            group.create_task(self._retention())
            group.create_task(self.backlog.drain())

    async def _worker(self, receiver: str) -> None:
        wake = self._wake[receiver]
        failing = BACKOFF_BASE
        while True:
            wake.clear()
            try:
                next_flush = await self.flush(receiver)
                next_delivery = await self.dispatch(receiver)
                self.passes[receiver] += 1
            except store_errors() as e:  # the store is down: what is queued stays queued; retry
                self.health.failed("outbox", e)
                await asyncio.sleep(failing)
                failing = min(BACKOFF_MAX, failing * 2)
                continue
            if failing > BACKOFF_BASE:
                failing = BACKOFF_BASE
                if not self.backlog:
                    self.health.ok()
            now = self.clock()
            candidates = [t for t in (next_flush, next_delivery) if t is not None]
            if next_delivery is not None and next_delivery <= now and self._in_flight[receiver]:
                candidates.remove(next_delivery)  # due but all slots busy: wait for a completion
            delay = min([self.options.idle_poll, *(t - now for t in candidates)])
            if delay <= 0:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)

    def cancel_deliveries(self) -> None:
        """Cancel the deliveries in flight (a step-down): they stay pending, handed out by this
        process, and the next leader sends them again marked ``possible_duplicate``."""
        for task in list(self._tasks):
            task.cancel()

    async def aclose(self) -> None:
        """Stop deliveries in progress (they stay pending in the outbox) and close the sinks."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for targets in self.sinks.values():
            for sink in targets.values():
                await sink.aclose()
