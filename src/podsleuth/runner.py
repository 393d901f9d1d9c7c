"""The watch pipeline: reflectors feed the detector; incident changes go out, diagnosed.

Single-threaded asyncio: the reflectors of pods, events and nodes, a timer task for the
detector's time-based rules, and short-lived enrichment tasks (previous-container logs, the full
diagnosis chain) all run on one loop, so the detector needs no locks. An incident goes out at
once with the signature's first diagnosis; the full chain (API facts, node agent, decision
rules) runs in the background, bounded by a timeout, and follows as an ``incident.updated``.
Nothing here blocks on a sink: ``emit`` is expected to return quickly (print a line, hand the
change to the notifier's outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

import msgspec

from podsleuth.config import Settings
from podsleuth.detect import Detector, Incident, IncidentChange
from podsleuth.diagnose.correlate import Correlator
from podsleuth.diagnose.diagnoser import Diagnoser
from podsleuth.diagnose.diagnosis import CausedBy, Diagnosis, Group, as_diagnosis
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.diagnose.incident import first_diagnosis
from podsleuth.diagnose.knowledge import KnowledgeBase
from podsleuth.diagnose.links import Links
from podsleuth.errors import ApiError, ApiForbidden
from podsleuth.kube import KubeClient
from podsleuth.metrics import WatchMetrics
from podsleuth.watch import EVENTS, NODES, PODS, Change, Reflector, Resource, Synced
from podsleuth.watch.objects import KubeEvent, Node, Pod

log = logging.getLogger(__name__)

T = TypeVar("T")
Emit = Callable[[IncidentChange], Awaitable[None]]
Clock = Callable[[], datetime]

TICK_MAX = 300.0
"""Longest sleep of the timer task with nothing due: a safety net only (a wall-clock step, a
deadline moved by a path that does not wake it). Deadlines added by an update wake the task
themselves, so an idle watcher has no periodic wake-up."""
LOG_TIMEOUT = 5.0
DIAGNOSIS_TIMEOUT = 30.0
"""Bound of one full diagnosis (API reads + node agent); past it the first diagnosis stands."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Diagnosed(msgspec.Struct, frozen=True, kw_only=True):
    """The runner's record of an incident's diagnosis: the diagnosis itself (what goes out) and
    the bookkeeping beside it (never inside it): which signature it was made for -- a new one
    means diagnosing again -- and whether the full chain made it (then it is not redone)."""

    diagnosis: Diagnosis
    signature: str | None
    full: bool = False


class Standard(Enum):
    """``WatchPipeline``'s default ``diagnoser``: the full chain over the pipeline's own client,
    the configured node agents and its knowledge base (built with them, so no caller has to).
    Pass a ``Diagnoser`` for another one, ``None`` for no full diagnosis at all."""

    DIAGNOSER = "standard"


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
        diagnoser: Diagnoser | Standard | None = Standard.DIAGNOSER,
        cluster: str = "",
    ) -> None:
        self.client = client
        self.settings = settings
        self.emit = emit
        self.metrics = metrics
        self.clock = clock
        self.namespaces = tuple(dict.fromkeys([*settings.watch.namespaces, *namespaces]))
        self.knowledge = knowledge if knowledge is not None else KnowledgeBase.default()
        self.detector = Detector(
            settings.watch, classify=self.knowledge.signature_of, await_events=True, cluster=cluster
        )
        self.streaming_list = streaming_list
        self.synced_counts: dict[str, int] = {}
        """Objects in each resource's initial list(s) (summed over namespaces), for the start line."""
        self._diagnoses: dict[str, Diagnosed] = {}
        self.diagnoser = (
            Diagnoser(client=client, agents=settings.node_agents, knowledge=self.knowledge)
            if diagnoser is Standard.DIAGNOSER
            else diagnoser
        )
        """The full diagnosis chain run for each incident; None: the first diagnosis only."""
        self.correlator = Correlator()
        self.links = Links()
        """Cause/victim links between incidents (diagnose/links.py), applied on the way out."""
        self._diagnosing: dict[str, asyncio.Task[None]] = {}
        self._enrichment: set[asyncio.Task[None]] = set()
        self._last_emitted: dict[str, Incident] = {}
        self._wake = asyncio.Event()
        self._timer_due: datetime | None = None
        """The deadline the timer task sleeps until (None: nothing due); an earlier one wakes it."""
        self._gauge_categories: set[str] = set()

    # ---- wiring ----------------------------------------------------------------------------

    def _reflector(self, resource: Resource[Any, T], namespace: str | None, **extra: Any) -> Reflector[T]:
        return Reflector.from_settings(
            client=self.client,
            resource=resource,
            settings=self.settings.watch,
            namespace=namespace,
            observer=self.metrics,
            streaming_list=self.streaming_list,
            **extra,
        )

    def _nodes_forbidden(self, error: ApiForbidden) -> None:
        """Nodes are cluster-scoped: an identity bound by Roles in its namespaces (``--namespace``
        without a ClusterRole) may not read them. Pods and events still work, so say it once and
        go on without node detection; the reflector retries quietly, a later grant turns it on."""
        if self.metrics.do_without("nodes", "node detection off (the identity may not list nodes)"):
            log.warning(
                "node detection is off: this identity may not list nodes (%s); pods and events are "
                "watched, node conditions are not, diagnoses lack node facts",
                str(error).removeprefix("forbidden: "),
            )

    async def run(self) -> None:
        scopes: Sequence[str | None] = self.namespaces or (None,)
        pods = {ns: self._reflector(PODS, ns) for ns in scopes}
        # an event about a pod the detector does not keep (healthy-looking) is judged with the
        # pod as the watch cache has it
        self.detector.pod_source = lambda key: next(
            (p for r in pods.values() if (p := r.cache.get(key)) is not None), None)
        async with asyncio.TaskGroup() as tg:
            for ns in scopes:
                tg.create_task(self._consume(pods[ns], self._on_pod))
                tg.create_task(self._consume(self._reflector(EVENTS, ns), self._on_event))
            nodes = self._reflector(NODES, None, on_forbidden=self._nodes_forbidden)
            tg.create_task(self._consume(nodes, self._on_node))
            tg.create_task(self._timers())
        # unreachable unless every task ends; reflectors only end on cancellation

    async def aclose(self) -> None:
        for task in list(self._enrichment):
            task.cancel()
        if self._enrichment:
            await asyncio.gather(*self._enrichment, return_exceptions=True)

    # ---- consumers -------------------------------------------------------------------------

    async def _consume(
        self, reflector: Reflector[T], handle: Callable[[Change[T], datetime], list[IncidentChange]]
    ) -> None:
        """The hot path: one async hop and one clock read per network read, not per event."""
        async for batch in reflector.batches():
            started = time.perf_counter()
            now = self.clock()
            changes: list[IncidentChange] = []
            for item in batch:
                if isinstance(item, Synced):
                    log.info("%s: synced %d objects", reflector.name, item.count)
                    self.synced_counts[item.resource] = self.synced_counts.get(item.resource, 0) + item.count
                    changes.extend(self.detector.on_synced(item.resource, reflector.namespace, now))
                    continue
                try:
                    found = handle(item, now)
                except Exception:  # one odd object must not stop the watch (a re-list replays it)
                    self.metrics.on_bad_line(reflector.resource.name, "detector-error")
                    log.exception("%s: detection failed on one object; skipped", reflector.name)
                    continue
                if found:
                    changes.extend(found)
            if changes:
                await self._publish(changes, started)
            self._wake_timers_if_earlier()

    def _wake_timers_if_earlier(self) -> None:
        """Wake the timer task when the batch added a deadline before the one it sleeps until
        (a heap peek: cheap enough once per batch, unlike a periodic tick)."""
        deadline = self.detector.next_deadline()
        if deadline is not None and (self._timer_due is None or deadline < self._timer_due):
            self._wake.set()

    def _on_pod(self, change: Change[Pod], now: datetime) -> list[IncidentChange]:
        if change.kind == "deleted":  # ``old`` is None when the cache never had it: use the last state
            return self.detector.on_pod(change.old or change.new, None, now)
        return self.detector.on_pod(change.old, change.new, now)

    def _on_event(self, change: Change[KubeEvent], now: datetime) -> list[IncidentChange]:
        if change.kind == "deleted" or change.new is None:
            return []
        return self.detector.on_event(change.new, now)

    def _on_node(self, change: Change[Node], now: datetime) -> list[IncidentChange]:
        if change.kind == "deleted":
            return self.detector.on_node(change.old or change.new, None, now)
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
            self._timer_due = deadline
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(max(delay, 0.0), TICK_MAX))

    # ---- output ----------------------------------------------------------------------------

    async def _publish(self, changes: list[IncidentChange], started: float) -> None:
        # a new incident may be the cause named by victims already out: link it before it goes
        relinked = (
            self.links.relink(self.detector.open_incidents())
            if any(c.kind == "incident.opened" for c in changes)
            else set()
        )
        for change in changes:
            if self._stale(change):
                continue
            change = self._with_diagnosis(change)
            if self._repeats_last(change):
                continue
            self.metrics.incident_changes.labels(kind=change.kind).inc()
            self.metrics.detection_latency.observe(time.perf_counter() - started)
            await self.emit(change)
            if change.wants_logs and self.settings.watch.collect_logs:
                self._spawn(self._attach_logs(change))
            self._schedule_diagnosis(change.incident, change.kind)
        relinked -= {c.incident.id for c in changes}  # those went out linked already
        resolved = [c.incident for c in changes if c.kind == "incident.resolved"]
        for incident in resolved:
            self.links.resolved(incident)
        if resolved:
            relinked |= self.links.relink(self.detector.open_incidents())
        self._update_open_gauge()
        await self._publish_links(relinked)

    async def _publish_links(self, ids: set[str]) -> None:
        """Re-emit the open incidents whose cause/victim link changed (no opened or resolved
        among them, so this never recurses further than once)."""
        again = [IncidentChange(kind="incident.updated", incident=i)
                 for i in self.detector.open_incidents() if i.id in ids]  # fmt: skip
        if again:
            await self._publish(again, time.perf_counter())

    def _stale(self, change: IncidentChange) -> bool:
        """A follow-up snapshot (diagnosis, logs) overtaken while it awaited: the incident was
        resolved meanwhile, or a newer state already went out. Never re-open or roll back."""
        if change.kind != "incident.updated":
            return False
        last = self._last_emitted.get(change.incident.id)
        return last is None or change.incident.last_seen < last.last_seen

    def _repeats_last(self, change: IncidentChange) -> bool:
        """An update that says nothing new (follow-ups of logs and diagnosis can race to the
        same state): dropped, so the live view and the outbox see each state once."""
        incident = change.incident
        last = self._last_emitted.get(incident.id)
        if change.kind == "incident.resolved":
            self._last_emitted.pop(incident.id, None)
            return False
        self._last_emitted[incident.id] = incident
        if change.kind != "incident.updated" or last is None:
            return False
        return msgspec.structs.replace(incident, last_seen=last.last_seen) == last

    @property
    def settled(self) -> bool:
        """No enrichment (log fetch, diagnosis) in flight: every follow-up update is out."""
        return not self._enrichment

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._enrichment.add(task)
        task.add_done_callback(self._enrichment.discard)
        return task

    def _with_diagnosis(self, change: IncidentChange) -> IncidentChange:
        incident = change.incident
        if change.kind == "incident.resolved":
            known = self._diagnoses.pop(incident.id, None)
            self.correlator.drop(incident.id)
        else:
            known = self._diagnoses.get(incident.id)
            if known is None or known.signature != incident.signature:
                first = first_diagnosis(incident, self.knowledge)
                known = None if first is None else Diagnosed(diagnosis=first, signature=incident.signature)
                if known is not None:
                    self._diagnoses[incident.id] = known
        if incident.diagnosis is not None:  # read back from the store (resume): typed on the way out
            typed = as_diagnosis(incident.diagnosis)
            if typed is None or typed is incident.diagnosis:
                return change
            incident = msgspec.structs.replace(incident, diagnosis=typed)
            return msgspec.structs.replace(change, incident=incident)
        if known is None:
            return change
        diagnosed = msgspec.structs.replace(incident, diagnosis=self._linked(incident.id, known.diagnosis))
        return msgspec.structs.replace(change, incident=diagnosed)

    def _linked(self, incident_id: str, diagnosis: Diagnosis) -> Diagnosis:
        """The diagnosis with the watch's current cause/victim links (the chain's own
        ``caused_by`` names the culprit; only the watch knows its incident)."""
        caused = self.links.caused_by(incident_id) or diagnosis.caused_by
        victims = self.links.victims(incident_id) or msgspec.UNSET
        if caused == diagnosis.caused_by and victims == diagnosis.victims:
            return diagnosis
        return msgspec.structs.replace(diagnosis, caused_by=caused, victims=victims)

    # ---- the full diagnosis chain ---------------------------------------------------------------

    def _schedule_diagnosis(self, incident: Incident, kind: str) -> None:
        """One background chain per new incident and per changed signature; never blocks."""
        if self.diagnoser is None or kind == "incident.resolved":
            pending = self._diagnosing.pop(incident.id, None)
            if pending is not None:
                pending.cancel()
            return
        known = self._diagnoses.get(incident.id)
        if known is not None and known.full and known.signature == incident.signature:
            return
        if incident.id in self._diagnosing:
            return
        task = self._spawn(self._diagnose(incident))
        self._diagnosing[incident.id] = task
        incident_id = incident.id
        task.add_done_callback(lambda _t: self._diagnosing.pop(incident_id, None))

    def _open_incident(self, incident_id: str) -> Incident | None:
        return next((i for i in self.detector.open_incidents() if i.id == incident_id), None)

    async def _diagnose(self, incident: Incident) -> None:
        assert self.diagnoser is not None
        try:
            async with asyncio.timeout(DIAGNOSIS_TIMEOUT):
                diagnosis = await self.diagnoser.diagnose(DiagnosisRequest.from_incident(incident))
        except TimeoutError:
            log.warning("diagnosis of incident %s timed out after %gs", incident.id, DIAGNOSIS_TIMEOUT)
            return
        except Exception:  # a bug in one diagnosis must not stop the watch
            log.exception("diagnosis of incident %s failed", incident.id)
            return
        current = self._open_incident(incident.id)
        if current is None or current.signature != incident.signature:
            return  # resolved meanwhile, or a new signature: its own chain is scheduled
        self._diagnoses[incident.id] = Diagnosed(diagnosis=diagnosis, signature=incident.signature, full=True)
        others: list[str] = []
        if isinstance(diagnosis.group, Group):
            merged, others = self.correlator.add(incident.id, msgspec.to_builtins(diagnosis.group))
            group = msgspec.convert(merged, Group)
            for member in [incident.id, *others]:
                if (m := self._diagnoses.get(member)) is not None:
                    d = msgspec.structs.replace(m.diagnosis, group=group)
                    self._diagnoses[member] = msgspec.structs.replace(m, diagnosis=d)
        culprit = diagnosis.caused_by if isinstance(diagnosis.caused_by, CausedBy) else None
        self.links.suspect(current, culprit)
        others = [*others, *(self.links.relink(self.detector.open_incidents()) - {incident.id, *others})]
        changes = [IncidentChange(kind="incident.updated", incident=current)]
        for other in others:
            inc = self._open_incident(other)
            if inc is not None:
                changes.append(IncidentChange(kind="incident.updated", incident=inc))
        await self._publish(changes, time.perf_counter())

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
