"""The watch pipeline: reflectors feed the detector; incident changes go out, diagnosed.

Single-threaded asyncio: the reflectors of pods, events and nodes, a timer task for the
detector's time-based rules, and short-lived enrichment tasks (previous-container logs) all run
on one loop, so the detector needs no locks. Nothing here blocks on a sink: ``emit`` is
expected to return quickly (print a line, hand the change to the notifier's outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

from podsleuth.config import Settings
from podsleuth.detect import Detector, IncidentChange
from podsleuth.diagnose.incident import first_diagnosis
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.errors import ApiError
from podsleuth.kube import KubeClient
from podsleuth.metrics import WatchMetrics
from podsleuth.watch import EVENTS, NODES, PODS, Change, Reflector, Resource, Synced
from podsleuth.watch.objects import KubeEvent, Node, Pod

log = logging.getLogger(__name__)

T = TypeVar("T")
Emit = Callable[[IncidentChange], Awaitable[None]]
Clock = Callable[[], datetime]

TICK_MAX = 1.0
"""Longest sleep of the timer task: bounds how late a deadline added meanwhile can fire."""
LOG_TIMEOUT = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class WatchPipeline:
    """One running ``podsleuth watch``: build it, then ``await run()`` until cancelled."""

    def __init__(
        self,
        *,
        client: KubeClient,
        settings: Settings,
        emit: Emit,
        metrics: WatchMetrics,
        namespaces: Sequence[str] = (),
        knowledge: KnowledgeBase | None = None,
        clock: Clock = utc_now,
        streaming_list: bool = False,
    ) -> None:
        self.client = client
        self.settings = settings
        self.emit = emit
        self.metrics = metrics
        self.clock = clock
        self.namespaces = tuple(dict.fromkeys([*settings.watch.namespaces, *namespaces]))
        self.knowledge = knowledge if knowledge is not None else KnowledgeBase.default()
        self.detector = Detector(settings.watch, classify=self.knowledge.signature_of)
        self.streaming_list = streaming_list
        self._diagnoses: dict[str, dict[str, Any]] = {}
        self._enrichment: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._gauge_categories: set[str] = set()

    # ---- wiring ----------------------------------------------------------------------------

    def _reflector(self, resource: Resource[Any, T], namespace: str | None) -> Reflector[T]:
        return Reflector.from_settings(
            client=self.client,
            resource=resource,
            settings=self.settings.watch,
            namespace=namespace,
            observer=self.metrics,
            streaming_list=self.streaming_list,
        )

    async def run(self) -> None:
        scopes: Sequence[str | None] = self.namespaces or (None,)
        async with asyncio.TaskGroup() as tg:
            for ns in scopes:
                tg.create_task(self._consume(self._reflector(PODS, ns), self._on_pod))
                tg.create_task(self._consume(self._reflector(EVENTS, ns), self._on_event))
            tg.create_task(self._consume(self._reflector(NODES, None), self._on_node))
            tg.create_task(self._timers())
        # unreachable unless every task ends; reflectors only end on cancellation

    async def aclose(self) -> None:
        for task in list(self._enrichment):
            task.cancel()
        if self._enrichment:
            await asyncio.gather(*self._enrichment, return_exceptions=True)

    # ---- consumers -------------------------------------------------------------------------

    async def _consume(
        self, reflector: Reflector[T], handle: Callable[[Change[T]], list[IncidentChange]]
    ) -> None:
        async for item in reflector:
            if isinstance(item, Synced):
                log.info("%s: synced %d objects", reflector.name, item.count)
                continue
            started = time.perf_counter()
            changes = handle(item)
            if changes:
                await self._publish(changes, started)
                self._wake.set()

    def _on_pod(self, change: Change[Pod]) -> list[IncidentChange]:
        now = self.clock()
        if change.kind == "deleted":
            return self.detector.on_pod(change.old, None, now)
        return self.detector.on_pod(change.old, change.new, now)

    def _on_event(self, change: Change[KubeEvent]) -> list[IncidentChange]:
        if change.kind == "deleted" or change.new is None:
            return []
        return self.detector.on_event(change.new, self.clock())

    def _on_node(self, change: Change[Node]) -> list[IncidentChange]:
        now = self.clock()
        if change.kind == "deleted":
            return self.detector.on_node(change.old, None, now)
        return self.detector.on_node(change.old, change.new, now)

    async def _timers(self) -> None:
        """Fire the detector's time-based rules on time, not on the next update."""
        while True:
            now = self.clock()
            changes = self.detector.tick(now)
            if changes:
                await self._publish(changes, time.perf_counter())
            deadline = self.detector.next_deadline()
            delay = TICK_MAX if deadline is None else (deadline - self.clock()).total_seconds()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(max(delay, 0.0), TICK_MAX))

    # ---- output ----------------------------------------------------------------------------

    async def _publish(self, changes: list[IncidentChange], started: float) -> None:
        for change in changes:
            change = self._with_diagnosis(change)
            self.metrics.incident_changes.labels(kind=change.kind).inc()
            self.metrics.detection_latency.observe(time.perf_counter() - started)
            await self.emit(change)
            if change.wants_logs and self.settings.watch.collect_logs:
                task = asyncio.create_task(self._attach_logs(change))
                self._enrichment.add(task)
                task.add_done_callback(self._enrichment.discard)
        self._update_open_gauge()

    def _with_diagnosis(self, change: IncidentChange) -> IncidentChange:
        incident = change.incident
        if change.kind == "incident.resolved":
            diagnosis = self._diagnoses.pop(incident.id, None)
        else:
            diagnosis = self._diagnoses.get(incident.id)
            if diagnosis is None or diagnosis.get("signature") != incident.signature:
                diagnosis = first_diagnosis(incident, self.knowledge)
                if diagnosis is not None:
                    self._diagnoses[incident.id] = diagnosis
        if diagnosis is None or incident.diagnosis is not None:
            return change
        public = {k: v for k, v in diagnosis.items() if k != "signature"}
        return msgspec.structs.replace(change, incident=msgspec.structs.replace(incident, diagnosis=public))

    def _update_open_gauge(self) -> None:
        counts: dict[str, int] = {}
        for incident in self.detector.open_incidents():
            counts[incident.category] = counts.get(incident.category, 0) + 1
        gauge = self.metrics.incidents_open
        for category in set(counts) | self._gauge_categories:
            gauge.labels(category=category).set(counts.get(category, 0))
        self._gauge_categories = set(counts) | self._gauge_categories

    async def _attach_logs(self, change: IncidentChange) -> None:
        incident = change.incident
        if not (incident.namespace and incident.pod):
            return
        path = f"/api/v1/namespaces/{incident.namespace}/pods/{incident.pod}/log"
        params: dict[str, str | int] = {"previous": "true", "tailLines": self.settings.watch.log_lines}
        if incident.container:
            params["container"] = incident.container
        try:
            async with asyncio.timeout(LOG_TIMEOUT):
                body = await self.client.get(path, params)
        except (ApiError, TimeoutError) as e:
            log.info("no previous log for %s/%s: %s", incident.namespace, incident.pod, e)
            return
        lines = body.decode("utf-8", "replace").splitlines()[-self.settings.watch.log_lines :]
        updated = self.detector.attach_logs(incident.fingerprint, lines)
        if updated is not None:
            await self._publish([updated], time.perf_counter())
