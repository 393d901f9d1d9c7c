"""Delivery from the persistent outbox: at-least-once, backoff with jitter, dead letters.

A delivery row is marked sent only after its sink returned, so a crash between the sink call
and the commit sends that one notification again on restart (at-least-once); a row never
disappears without being sent or dead-lettered with a log line and a metric. A redelivery that
may repeat what the sink already got (an earlier attempt, or a delivery left in doubt by a dead
or deposed leader) is marked ``delivery.possible_duplicate: true`` in each change it carries.

With leader election, ``fence`` is asked right before every sink call: a replica that is no
longer the leader (its Lease lost, or the store names a newer leader) sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from podsleuth.alert import failpoints
from podsleuth.alert.backlog import StoreHealth, retrying
from podsleuth.alert.sinks import Batch, Sink, SinkError, SinkRejected
from podsleuth.redact import describe_error, scrub_text, scrubbed_traceback
from podsleuth.store.base import Delivery, Store

log = logging.getLogger("podsleuth.alert.outbox")


class AlertMetrics:
    """Alerting counters; pass the watch pipeline's registry to expose them on /metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.sent = Counter(
            "podsleuth_alert_deliveries_total",
            "Notifications delivered, per receiver and target.",
            ["receiver", "target"],
            registry=self.registry,
        )
        self.failures = Counter(
            "podsleuth_alert_delivery_failures_total",
            "Failed delivery attempts (will be retried).",
            ["receiver", "target"],
            registry=self.registry,
        )
        self.dead = Counter(
            "podsleuth_alert_dead_letters_total",
            "Notifications given up after the last attempt.",
            ["receiver", "target"],
            registry=self.registry,
        )
        self.suppressed = Counter(
            "podsleuth_alert_suppressed_total",
            "Incident changes not notified, per reason.",
            ["receiver", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "podsleuth_alert_submit_to_send_seconds",
            "Time from submit to the start of the first sink call, including group_wait.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 15.0, 60.0, 300.0),
            registry=self.registry,
        )


def backoff(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [base/2, min(cap, base * 2^(attempts-1))]."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return rng.uniform(min(base / 2, ceiling), ceiling)


Fence = Callable[[], Awaitable[bool]]
FENCED_PAUSE = 1.0
MARK_SENT_GRACE = 5.0
"""How long a cancelled delivery still tries to record that the receiver answered."""


def marked_duplicate(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with every change's ``delivery.possible_duplicate`` set."""
    changes = [
        {**c, "delivery": {**(c.get("delivery") or {}), "possible_duplicate": True}}
        for c in payload.get("changes", [])
    ]
    return {**payload, "changes": changes}


class Deliverer:
    """Runs one delivery attempt and records its outcome in the store."""

    def __init__(
        self,
        *,
        store: Store,
        sinks: Mapping[str, Mapping[str, Sink]],
        secrets: tuple[str, ...],
        metrics: AlertMetrics,
        clock: Callable[[], float],
        rng: random.Random,
        max_attempts: int,
        backoff_base: float,
        backoff_max: float,
        fence: Fence | None = None,
        health: StoreHealth | None = None,
    ) -> None:
        self.fence = fence
        self.health = health if health is not None else StoreHealth(metrics.registry)
        self.store = store
        self.sinks = sinks
        self.secrets = secrets
        self.metrics = metrics
        self.clock = clock
        self.rng = rng
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max

    async def deliver(self, d: Delivery) -> bool:
        """One attempt; True when delivered. Never raises for sink failures."""
        sink = self.sinks.get(d.receiver, {}).get(d.target)
        attempts = d.attempts + 1
        if sink is None:
            await self._dead(d, attempts, "receiver or target no longer configured")
            return False
        if self.fence is not None and not await self.fence():
            log.warning("delivery of batch %s to %s/%s not started: no longer the leader",
                        d.batch_id[:8], d.receiver, d.target)
            await asyncio.sleep(FENCED_PAUSE)  # the worker is about to be stopped: do not spin
            return False
        try:
            batch = Batch.from_payload(marked_duplicate(d.payload) if d.possible_duplicate else d.payload)
            if attempts == 1:
                self.metrics.latency.observe(max(0.0, self.clock() - d.created_at))
            await sink.send(batch)
        except SinkRejected as e:
            await self._dead(d, attempts, str(e))
            return False
        except SinkError as e:
            await self._retry(d, attempts, str(e), sink.description)
            return False
        except Exception as e:  # a bug in rendering or a sink must not kill the worker
            # Never the raw exception or traceback: sink errors may echo URLs with tokens.
            log.error(
                "unexpected error delivering to %s/%s: %s",
                d.receiver,
                sink.description,
                describe_error(e, self.secrets),
            )
            if log.isEnabledFor(logging.DEBUG):
                log.debug("traceback (scrubbed): %s", scrubbed_traceback(e, self.secrets))
            await self._retry(d, attempts, f"{type(e).__name__}", sink.description)
            return False
        failpoints.hit("deliver.after-send")
        at = self.clock()
        marking = asyncio.ensure_future(
            retrying(self.health, "mark-sent", lambda: self.store.mark_sent(d.id, at=at))
        )
        try:
            await asyncio.shield(marking)
        except asyncio.CancelledError:
            # The receiver has it: record that before stopping (a stop or step-down right now
            # would otherwise leave it pending, and the next run would send it again).
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(marking, timeout=MARK_SENT_GRACE)
            raise
        self.metrics.sent.labels(receiver=d.receiver, target=d.target).inc()
        log.info(
            "delivered batch %s (%d changes) to %s/%s after %d attempt(s)",
            d.batch_id[:8],
            len(d.payload.get("changes", [])),
            d.receiver,
            sink.description,
            attempts,
        )
        return True

    async def _retry(self, d: Delivery, attempts: int, error: str, where: str) -> None:
        error = " ".join(scrub_text(error, self.secrets).split())
        self.metrics.failures.labels(receiver=d.receiver, target=d.target).inc()
        if attempts >= self.max_attempts:
            await self._dead(d, attempts, error)
            return
        delay = backoff(attempts, base=self.backoff_base, cap=self.backoff_max, rng=self.rng)
        log.warning(
            "delivery to %s/%s failed (attempt %d/%d), retry in %.1fs: %s",
            d.receiver,
            where,
            attempts,
            self.max_attempts,
            delay,
            error,
        )
        next_at = self.clock() + delay

        async def mark() -> None:
            await self.store.mark_retry(d.id, attempts=attempts, next_at=next_at, error=error)

        await retrying(self.health, "mark-retry", mark)

    async def _dead(self, d: Delivery, attempts: int, error: str) -> None:
        error = " ".join(scrub_text(error, self.secrets).split())
        self.metrics.dead.labels(receiver=d.receiver, target=d.target).inc()
        log.error(
            "dead-lettered batch %s to %s/%s after %d attempt(s): %s",
            d.batch_id[:8],
            d.receiver,
            d.target,
            attempts,
            error,
        )
        at = self.clock()
        await retrying(self.health, "mark-dead",
                       lambda: self.store.mark_dead(d.id, attempts=attempts, at=at, error=error))  # fmt: skip
