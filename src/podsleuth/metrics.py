"""Prometheus metrics of the watch pipeline and the small HTTP server exposing them.

One registry per ``WatchMetrics`` instance (no global registry filled at import time), so two
pipelines in one process - as in tests - do not share counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

RESOURCES = ("pods", "events", "nodes")


class _EventCounts(Collector):
    """``podsleuth_watch_events_total`` from plain int counters, turned into a metric at scrape
    time: a prometheus_client ``Counter.inc()`` (a lock and two calls) cost a fifth of the
    whole decode+detect budget per event at 100,000 events/s."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "podsleuth_watch_events",
            "Watch stream events decoded (ADDED/MODIFIED/DELETED), per resource; list items not included.",
            labels=["resource"],
        )
        for resource, value in sorted(self.counts.items()):
            family.add_metric([resource], value)
        yield family


class WatchMetrics:
    """Counters the reflectors and the detector report into; also the readiness state."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.event_counts: dict[str, int] = dict.fromkeys(RESOURCES, 0)
        """Watch events decoded per resource (read it; the exposition reads it at scrape time)."""
        self.registry.register(_EventCounts(self.event_counts))
        self.restarts = Counter(
            "podsleuth_watch_restarts_total",
            "Watch streams restarted, per resource and reason (expired, stream-end, read-timeout, ...).",
            ["resource", "reason"],
            registry=self.registry,
        )
        self.lists = Counter(
            "podsleuth_watch_lists_total",
            "Complete lists (initial and re-lists after a 410), per resource.",
            ["resource"],
            registry=self.registry,
        )
        self.bad_lines = Counter(
            "podsleuth_watch_bad_lines_total",
            "Watch lines skipped because they could not be decoded, per resource and reason.",
            ["resource", "reason"],
            registry=self.registry,
        )
        self.objects_skipped = Counter(
            "podsleuth_watch_objects_skipped_total",
            "Listed or watched objects skipped alone (not decodable even leniently), per resource, reason.",
            ["resource", "reason"],
            registry=self.registry,
        )
        self.incidents_open = Gauge(
            "podsleuth_incidents_open",
            "Open incidents per category.",
            ["category"],
            registry=self.registry,
        )
        self.incident_changes = Counter(
            "podsleuth_incident_changes_total",
            "Incident changes emitted (opened, updated, resolved).",
            ["kind"],
            registry=self.registry,
        )
        self.detection_latency = Histogram(
            "podsleuth_detection_latency_seconds",
            "Time from receiving a watch event to emitting the incident change it caused.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        self._synced: set[str] = set()
        self.expected_resources: frozenset[str] = frozenset(RESOURCES)
        self.synced = asyncio.Event()
        """Set once every watched resource finished its initial list (what /readyz reports)."""
        self.degraded: Callable[[], str | None] = lambda: None
        """What keeps the replica from working right now (a failing store), shown by /readyz."""
        self.unavailable: dict[str, str] = {}
        """Resources the identity may not read (resource -> what it may not do), left out of
        readiness: the watch works without them, degraded (/readyz says so with a 200)."""
        self.resource_forbidden = Gauge(
            "podsleuth_watch_resource_forbidden",
            "1 while RBAC forbids a resource the watch goes on without (nodes), per resource.",
            ["resource"],
            registry=self.registry,
        )

    # --- the reflector observer protocol ---
    def on_events(self, resource: str, count: int) -> None:
        counts = self.event_counts
        counts[resource] = counts.get(resource, 0) + count

    def on_restart(self, resource: str, reason: str) -> None:
        self.restarts.labels(resource=resource, reason=reason).inc()

    def on_synced(self, resource: str) -> None:
        self.lists.labels(resource=resource).inc()
        self._synced.add(resource)
        if self.unavailable.pop(resource, None) is not None:  # the permission was granted meanwhile
            self.resource_forbidden.labels(resource=resource).set(0)
        if self.ready:
            self.synced.set()

    def do_without(self, resource: str, why: str) -> bool:
        """Go on without ``resource`` (RBAC forbids it): no longer awaited for readiness.
        True the first time, so the caller says it once."""
        if resource in self.unavailable:
            return False
        self.unavailable[resource] = why
        self.resource_forbidden.labels(resource=resource).set(1)
        if self.ready:
            self.synced.set()
        return True

    def on_bad_line(self, resource: str, reason: str) -> None:
        self.bad_lines.labels(resource=resource, reason=reason).inc()

    def on_object_skipped(self, resource: str, reason: str) -> None:
        self.objects_skipped.labels(resource=resource, reason=reason).inc()

    @property
    def ready(self) -> bool:
        """Ready once every watched resource finished its initial list."""
        return self.expected_resources - self.unavailable.keys() <= self._synced

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


async def serve_metrics(
    metrics: WatchMetrics, *, port: int, host: str = "0.0.0.0", live: Callable[[], bool] = lambda: True
) -> web.AppRunner:
    """Start /metrics, /healthz and /readyz on ``host:port``; the caller cleans up the runner."""

    async def metrics_handler(_: web.Request) -> web.Response:
        body = await asyncio.to_thread(metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n") if live() else web.Response(status=503, text="unhealthy\n")

    async def readyz(_: web.Request) -> web.Response:
        if (problem := metrics.degraded()) is not None:
            return web.Response(status=503, text=f"degraded: {problem}\n")
        if metrics.ready and metrics.unavailable:  # working, without what RBAC forbids
            without = "; ".join(f"{r}: {why}" for r, why in sorted(metrics.unavailable.items()))
            return web.Response(text=f"ready, degraded: {without}\n")
        if metrics.ready:
            return web.Response(text="ready\n")
        return web.Response(status=503, text="initial sync not finished\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
