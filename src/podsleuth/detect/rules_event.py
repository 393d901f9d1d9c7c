"""Events as evidence: what the kubelet and scheduler said about a pod or node.

Events arrive on their own stream, before the pod, after it, or replayed by a re-list, and the
kubelet's spam filter stops sending them after a burst. So an event never opens an incident on
its own: it is remembered per object (``Evidence``) and read by the pod rules, which open an
incident only when the pod's *current* state agrees (still not running, still not ready, still
terminating). That is also why events replayed from before podsleuth started cannot open
incidents for pods that are healthy now.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from podsleuth.detect.anomaly import Catalog, rfc3339
from podsleuth.watch.objects import KubeEvent

RECENT_EVENTS = 10
"""Events kept per object and per incident: enough context, bounded memory."""

_FIELD_CONTAINER = re.compile(r"spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]+)\}")


class EventRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An event as shown in an incident (the evidence an SRE would read in `describe`)."""

    uid: str
    reason: str
    message: str
    type: str
    count: int
    first_time: datetime | None
    last_time: datetime | None
    object_kind: str
    object_name: str
    container: str | None = None

    def to_contract(self) -> dict[str, object]:
        return {
            "reason": self.reason,
            "message": self.message,
            "type": self.type,
            "count": self.count,
            "first_time": rfc3339(self.first_time),
            "last_time": rfc3339(self.last_time),
            "object": {"kind": self.object_kind, "name": self.object_name},
            "container": self.container,
        }


@dataclass(slots=True)
class Finding:
    """What events of one category said about one object: the span and the latest words."""

    reason: str
    message: str
    container: str | None
    first: datetime
    last: datetime
    liveness: datetime | None = None
    """When a liveness probe failure or kill was last said (probe-failure findings only)."""
    kills: int = 0
    """How many times the kubelet said it killed a container for failed liveness probes."""


@dataclass(slots=True)
class EventEvidence:
    """Per-object event memory, bounded; ``uid`` tells a recreated same-name pod apart."""

    uid: str
    touched: datetime
    findings: dict[str, Finding] = field(default_factory=dict)
    recent: deque[EventRecord] = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))

    def add(self, record: EventRecord, category: str | None, *, now: datetime) -> bool:
        """Remember one event; False when it is a replay that changes nothing."""
        before = 0
        for i, old in enumerate(self.recent):
            if old.uid == record.uid and record.uid:
                if old == record:
                    return False
                before = old.count
                del self.recent[i]
                break
        self.recent.append(record)
        self.touched = now
        if category is None:
            return True
        last = min(record.last_time or now, now)
        first = min(record.first_time or last, last)
        f = self.findings.get(category)
        if f is None:
            f = Finding(record.reason, record.message, record.container, first, last)
            self.findings[category] = f
        else:
            f.first = min(f.first, first)
            if last >= f.last:
                f.last = last
                f.reason, f.message = record.reason, record.message
                f.container = record.container or f.container
        if category == "probe-failure" and _is_liveness(record):
            f.liveness = last if f.liveness is None else max(f.liveness, last)
            if record.reason == "Killing":
                f.kills += max(record.count - before, 0)
        return True


def _is_liveness(record: EventRecord) -> bool:
    return record.message.startswith("Liveness probe failed") or "failed liveness probe" in record.message


def event_reason(event: KubeEvent) -> str:
    """Normalise reasons whose meaning hides in the message (Multi-Attach is a FailedAttachVolume)."""
    if event.reason == "FailedAttachVolume" and event.message.startswith("Multi-Attach error"):
        return "Multi-Attach"
    return event.reason


def event_category(reason: str, catalog: Catalog, message: str = "") -> str | None:
    """The catalog's category of an event reason; two reasons mean a category only with their
    message: the kubelet's ``Killing`` "... failed liveness probe, will be restarted" is a probe
    failure, and its ``Evicted`` event is the (fresh) evidence of an eviction."""
    found = catalog.event_reasons.get(reason)
    if found is not None:
        return found
    if reason == "Killing" and "failed liveness probe" in message:
        return "probe-failure"
    if reason == "Evicted":
        return "evicted"
    return None


def event_record(event: KubeEvent, reason: str) -> EventRecord:
    container = None
    fp = event.regarding.field_path
    if fp:
        m = _FIELD_CONTAINER.search(fp)
        if m:
            container = m.group(1)
    return EventRecord(
        uid=event.uid,
        reason=reason,
        message=event.message,
        type=event.type,
        count=event.count,
        first_time=event.first_time,
        last_time=event.last_time,
        object_kind=event.regarding.kind,
        object_name=event.regarding.name,
        container=container,
    )
