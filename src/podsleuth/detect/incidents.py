"""Incidents: anomalies grouped by fingerprint, counted by distinct occurrence, resolved when quiet.

One broken Deployment is one incident, whatever the number of replicas or updates:

- a *member* is one pod (or node) contributing to an incident; it is active while the rules
  still report the anomaly for it;
- ``count`` grows by one per new member (a new pod, or a new uid under a reused name) and by the
  increase of the anomaly's ``occurrence`` (the restart count) - never by the number of updates,
  so a re-list replaying the same objects changes nothing;
- when no member is active any more the incident is resolved after ``resolve_after`` of quiet,
  and re-activated silently if the anomaly comes back before that (no flapping);
- ``incident.updated`` is emitted when the count grows; message, reason and events refresh
  silently and travel with the next change, so an alternating ErrImagePull/ImagePullBackOff
  does not produce an update storm.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from podsleuth.detect.anomaly import Anomaly, Catalog, Severity
from podsleuth.detect.incident_model import (
    NODE_CAUSES,
    ChangeKind,
    Incident,
    IncidentChange,
    Subject,
    node_key,
)
from podsleuth.detect.owner import incident_id, node_fingerprint, pod_fingerprint
from podsleuth.detect.rules_event import RECENT_EVENTS, EventRecord
from podsleuth.detect.timers import Timers

__all__ = ["NODE_CAUSES", "ChangeKind", "Incident", "IncidentChange", "Subject", "Tracker", "node_key"]

Classify = Callable[[str, str | None], str | None]
SIGNATURES_REMEMBERED = 4096
"""(message, reason) pairs whose signature is remembered, least recently used dropped first: a
CrashLoopBackOff message names its pod, so the pairs grow with every pod that ever crash-loops
(the soak's only growing table before this was an LRU; a cleared dict re-classified everything)."""
MAX_LISTED = 50
"""Pod and node names kept per incident: the first ones tell the story, a storm stays bounded."""


@dataclass(slots=True)
class _Member:
    uid: str
    occurrence: int
    active: bool = True


@dataclass(slots=True)
class _Open:
    id: str
    fingerprint: str
    category: str
    severity: Severity
    subject: Subject
    anomaly: Anomaly
    signature: str | None
    count: int
    first_seen: datetime
    last_seen: datetime
    wants_logs: bool
    members: dict[Hashable, _Member] = field(default_factory=dict)
    active: int = 0
    pods: dict[str, None] = field(default_factory=dict)
    nodes: dict[str, None] = field(default_factory=dict)
    events: deque[EventRecord] = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))
    logs: tuple[str, ...] | None = None
    quiet_since: datetime | None = None


class Tracker:
    """Owns the open incidents; schedules ``("resolve", fingerprint)`` keys on the shared timers."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        timers: Timers,
        resolve_after: float,
        classify: Classify | None,
        collect_logs: bool,
        cluster: str = "",
    ) -> None:
        self._catalog = catalog
        self._cluster = cluster
        self._timers = timers
        self._resolve_after = timedelta(seconds=resolve_after)
        self._classify = None if classify is None else lru_cache(maxsize=SIGNATURES_REMEMBERED)(classify)
        self._collect_logs = collect_logs
        self._open: dict[str, _Open] = {}
        self._index: dict[Hashable, set[str]] = {}

    def members_held(self) -> int:
        """Subjects held in open incidents: deleted pods are forgotten (their count is kept), so
        a workload churning pods for days holds only the live ones."""
        return sum(len(inc.members) for inc in self._open.values())

    def has_member(self, key: Hashable) -> bool:
        return key in self._index

    def open_incidents(self) -> list[Incident]:
        return [self._snapshot(inc) for inc in self._open.values()]

    def observe(
        self,
        subject: Subject,
        anomalies: Iterable[Anomaly],
        *,
        now: datetime,
        recent: Iterable[EventRecord] = (),
    ) -> list[IncidentChange]:
        """Apply the complete current anomaly list of one subject (absent = cleared)."""
        changes: list[IncidentChange] = []
        key = subject.key
        seen: set[str] = set()
        for a in anomalies:
            fp = self._fingerprint(subject, a)
            if fp in seen:
                continue
            seen.add(fp)
            inc = self._open.get(fp)
            if inc is None and not a.provisional:
                adopted = self._adopt(subject, fp, a, now, anomalies_fps=seen)
                if adopted is not None:
                    changes.append(adopted)
                    continue
            if inc is None:
                inc = self._new(fp, subject, a, now)
                inc.events.extend(recent)
                inc.members[key] = _Member(subject.uid, a.occurrence)
                inc.active = 1
                self._open[fp] = inc
                self._index.setdefault(key, set()).add(fp)
                changes.append(
                    IncidentChange(
                        kind="incident.opened", incident=self._snapshot(inc), wants_logs=inc.wants_logs
                    )
                )
                continue
            grew = self._member_seen(inc, subject, a)
            self._index.setdefault(key, set()).add(fp)
            if inc.quiet_since is not None and inc.active:
                inc.quiet_since = None
                self._timers.cancel(("resolve", fp))
            self._refresh(inc, subject, a)
            if grew:
                inc.last_seen = now
                for r in recent:
                    _remember(inc.events, r)
                changes.append(
                    IncidentChange(
                        kind="incident.updated", incident=self._snapshot(inc), wants_logs=inc.wants_logs
                    )
                )
        for fp in self._index.get(key, set()) - seen:
            self._deactivate(self._open[fp], key, now)
        return changes

    def link_node(self, node: str) -> list[IncidentChange]:
        """A node incident just opened: the open pod incidents on that node say so (an update
        each, carrying ``node_incident``)."""
        return [
            IncidentChange(kind="incident.updated", incident=self._snapshot(inc))
            for inc in self._open.values()
            if inc.subject.pod is not None and inc.subject.node == node and inc.active
        ]

    def gone(self, key: Hashable, *, now: datetime) -> None:
        """The subject was deleted: its memberships end (the incident resolves after quiet) and
        are forgotten, so a workload that churns pods for days does not grow its incident; its
        count and pod list already hold what it contributed."""
        for fp in self._index.pop(key, ()):
            inc = self._open[fp]
            self._deactivate(inc, key, now)
            inc.members.pop(key, None)

    def add_event(self, key: Hashable, record: EventRecord) -> None:
        for fp in self._index.get(key, ()):
            _remember(self._open[fp].events, record)

    def resolve_due(self, fingerprint: str, *, now: datetime) -> IncidentChange | None:
        inc = self._open.get(fingerprint)
        if inc is None or inc.active or inc.quiet_since is None:
            return None
        if now < inc.quiet_since + self._resolve_after:
            self._timers.schedule(("resolve", fingerprint), inc.quiet_since + self._resolve_after)
            return None
        del self._open[fingerprint]
        for key in inc.members:
            fps = self._index.get(key)
            if fps is not None:
                fps.discard(fingerprint)
                if not fps:
                    del self._index[key]
        return IncidentChange(kind="incident.resolved", incident=self._snapshot(inc, resolved_at=now))

    def attach_logs(self, fingerprint: str, lines: Iterable[str]) -> IncidentChange | None:
        inc = self._open.get(fingerprint)
        if inc is None:
            return None
        inc.logs = tuple(lines)
        return IncidentChange(kind="incident.updated", incident=self._snapshot(inc))

    # ---- internals ---------------------------------------------------------------------------

    def _adopt(
        self, subject: Subject, fp: str, a: Anomaly, now: datetime, *, anomalies_fps: set[str]
    ) -> IncidentChange | None:
        """A vague incident of this subject alone ("stuck, no event explains it") becomes the
        precise one now explaining it: same id and thread, new category, one ``updated``."""
        key = subject.key
        for old_fp in self._index.get(key, ()):
            inc = self._open[old_fp]
            if not inc.anomaly.provisional or old_fp in anomalies_fps or set(inc.members) != {key}:
                continue
            del self._open[old_fp]
            self._timers.cancel(("resolve", old_fp))
            fps = self._index[key]
            fps.discard(old_fp)
            fps.add(fp)
            inc.fingerprint, inc.category, inc.anomaly = fp, a.category, a
            inc.severity = self._catalog.severity(a.category, a.reason, a.condition)
            inc.signature = self._signature(a)
            inc.wants_logs = self._collect_logs and self._catalog.wants_logs(a.category)
            inc.members[key] = _Member(subject.uid, a.occurrence)
            inc.active, inc.quiet_since, inc.subject, inc.last_seen = 1, None, subject, now
            self._list(inc, subject)
            self._open[fp] = inc
            snapshot = self._snapshot(inc)
            return IncidentChange(kind="incident.updated", incident=snapshot, wants_logs=inc.wants_logs)
        return None

    def _fingerprint(self, subject: Subject, a: Anomaly) -> str:
        if subject.pod is None:
            return node_fingerprint(
                node=subject.node or "", category=a.category, condition=a.condition, cluster=self._cluster
            )
        return pod_fingerprint(
            namespace=subject.namespace or "",
            owner=subject.owner,
            container=a.container,
            category=a.category,
            cluster=self._cluster,
        )

    def _new(self, fp: str, subject: Subject, a: Anomaly, now: datetime) -> _Open:
        inc = _Open(
            id=incident_id(fp, now.timestamp()),
            fingerprint=fp,
            category=a.category,
            severity=self._catalog.severity(a.category, a.reason, a.condition),
            subject=subject,
            anomaly=a,
            signature=self._signature(a),
            count=1,
            first_seen=now,
            last_seen=now,
            wants_logs=self._collect_logs and self._catalog.wants_logs(a.category),
        )
        self._list(inc, subject)
        return inc

    def _member_seen(self, inc: _Open, subject: Subject, a: Anomaly) -> bool:
        m = inc.members.get(subject.key)
        if m is None or m.uid != subject.uid:
            if m is not None and m.active:
                inc.active -= 1
            inc.members[subject.key] = _Member(subject.uid, a.occurrence)
            inc.active += 1
            inc.count += 1
            return True
        grew = False
        if a.occurrence > m.occurrence:
            inc.count += a.occurrence - m.occurrence
            m.occurrence = a.occurrence
            grew = True
        if not m.active:
            m.active = True
            inc.active += 1
        return grew

    def _refresh(self, inc: _Open, subject: Subject, a: Anomaly) -> None:
        if a.message != inc.anomaly.message or a.reason != inc.anomaly.reason:
            inc.signature = self._signature(a) or inc.signature
        inc.anomaly = a
        inc.subject = subject
        self._list(inc, subject)

    def _list(self, inc: _Open, subject: Subject) -> None:
        if subject.pod is not None and len(inc.pods) < MAX_LISTED:
            inc.pods[subject.pod] = None
        if subject.node is not None and len(inc.nodes) < MAX_LISTED:
            inc.nodes[subject.node] = None

    def _deactivate(self, inc: _Open, key: Hashable, now: datetime) -> None:
        m = inc.members.get(key)
        if m is None or not m.active:
            return
        m.active = False
        inc.active -= 1
        if inc.active == 0:
            inc.quiet_since = now
            self._timers.schedule(("resolve", inc.fingerprint), now + self._resolve_after)

    def _signature(self, a: Anomaly) -> str | None:
        if self._classify is None:
            return None
        return self._classify(a.message, a.reason)

    def _snapshot(self, inc: _Open, *, resolved_at: datetime | None = None) -> Incident:
        a, s = inc.anomaly, inc.subject
        return Incident(
            id=inc.id,
            fingerprint=inc.fingerprint,
            category=inc.category,
            reason=a.reason,
            signature=inc.signature,
            severity=inc.severity,
            namespace=s.namespace,
            pod=s.pod,
            node=s.node,
            container=a.container,
            owner=s.owner,
            message=a.message,
            count=inc.count,
            first_seen=inc.first_seen,
            last_seen=inc.last_seen,
            pods=tuple(inc.pods),
            nodes=tuple(inc.nodes),
            condition=a.condition,
            restart_count=a.restart_count if s.pod is not None else None,
            last_termination=a.last_termination,
            events=tuple(inc.events),
            logs=inc.logs,
            labels=dict(s.labels or {}),
            wants_logs=inc.wants_logs,
            resolved_at=resolved_at,
            node_incident=self._node_incident(s) if s.pod is not None and s.node else None,
            cluster=self._cluster or None,
        )

    def _node_incident(self, s: Subject) -> str | None:
        for fp in self._index.get(node_key(s.node or ""), ()):
            inc = self._open[fp]
            if inc.category in NODE_CAUSES and inc.active:
                return inc.id
        return None


def _remember(events: deque[EventRecord], record: EventRecord) -> None:
    for i, old in enumerate(events):
        if record.uid and old.uid == record.uid:
            del events[i]
            break
    events.append(record)
