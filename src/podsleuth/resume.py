"""Carry open incidents across a restart of ``podsleuth watch``.

The detector starts empty: after a restart it re-detects every still-broken workload and would
open each incident again under a new id, and the notifier would alert on it a second time. The
store remembers the open incidents; this module maps a re-detected incident onto the stored one
(same fingerprint -> same id and first_seen; its "opened" becomes "updated"), and resolves the
stored incidents that the fresh cluster state no longer shows once the initial lists are synced
and the resolve grace has passed.

A re-detection is not news. The fresh detector counts from 1 again, and it catches the pod in
whatever state it is in now - a pull error alternating ErrImagePull and ImagePullBackOff shows
either, with a different signature and first diagnosis - so ``news`` drops every change of a
resumed incident until its count grows past the stored one, as the live detector stays silent
while the count stands still (reason, message and signature refresh silently). A resolve is
always news; an incident that resolved and recurs is a new one. The count continues from the
stored one (stored count + growth since the restart).

A new leader replaying what its warm standby detector saw (``Shadow``, replayed by
podsleuth.cli.watch_job) uses ``apply``: those are changes its predecessor may have emitted and
not delivered, not re-detections.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from podsleuth.alert.model import content_hash, decode_change
from podsleuth.detect import Incident, IncidentChange
from podsleuth.store.base import IncidentRecord

log = logging.getLogger(__name__)


@dataclass
class _Alias:
    record: IncidentRecord
    offset: int
    """Added to the detector's count: the stored count minus the count at re-detection."""
    floor: int
    """The stored count: changes at or below it restate the stored incident. -1 once it grew."""


class Resumption:
    def __init__(self, records: Sequence[IncidentRecord]) -> None:
        self._waiting: dict[str, IncidentRecord] = {r.fingerprint: r for r in records}
        """Stored open incidents not re-detected yet, by fingerprint."""
        self._aliases: dict[str, _Alias] = {}
        """Detector incident id -> the stored incident it continues."""

    @property
    def pending(self) -> int:
        return len(self._waiting)

    def _alias(self, incident: Incident) -> _Alias | None:
        alias = self._aliases.get(incident.id)
        if alias is None and (record := self._waiting.pop(incident.fingerprint, None)) is not None:
            stored = record.data.get("count") if isinstance(record.data, dict) else None
            count = stored if isinstance(stored, int) and stored > 0 else 0
            alias = _Alias(record, offset=max(0, count - incident.count), floor=count)
            self._aliases[incident.id] = alias
        return alias

    def apply(self, change: IncidentChange) -> IncidentChange:
        incident = change.incident
        alias = self._alias(incident)
        if alias is None:
            return change
        record = alias.record
        kind = change.kind
        if kind == "incident.resolved":
            self._aliases.pop(incident.id, None)
        elif kind == "incident.opened":
            kind = "incident.updated"
        first_seen = datetime.fromtimestamp(record.opened_at, UTC)
        continued = msgspec.structs.replace(
            incident,
            id=record.id,
            first_seen=min(first_seen, incident.first_seen),
            count=incident.count + alias.offset,
        )
        return msgspec.structs.replace(change, kind=kind, incident=continued)

    def news(self, change: IncidentChange) -> IncidentChange | None:
        """``apply``, or None while a resumed incident's count has not grown past the stored one
        (see the module docstring); a resolve is always news."""
        alias = self._alias(change.incident)
        mapped = self.apply(change)
        if alias is None or mapped.kind == "incident.resolved" or alias.floor < 0:
            return mapped
        if mapped.incident.count > alias.floor:
            alias.floor = -1
            return mapped
        log.debug("incident %s re-detected after a restart, count %d as stored: not sent again",
                  mapped.incident.id, mapped.incident.count)  # fmt: skip
        return None

    def resolve_leftovers(self, now: datetime) -> list[IncidentChange]:
        """Stored incidents the synced cluster no longer shows: resolved now."""
        changes = []
        for record in self._waiting.values():
            try:
                incident = msgspec.convert(record.data, Incident, strict=False)
            except msgspec.ValidationError as e:
                log.warning("stored incident %s cannot be read back (%s); resolving it as is", record.id, e)
                continue
            incident = msgspec.structs.replace(incident, last_seen=now, resolved_at=now)
            changes.append(IncidentChange(kind="incident.resolved", incident=incident))
        self._waiting.clear()
        return changes


class Shadow:
    """The latest change of every incident the detector knows, kept by a leader-elect replica
    whether it leads or not, in the order they happened: what a new leader replays against the
    shared store to catch up on what its predecessor missed. Resolved incidents are forgotten
    after ``keep_resolved`` seconds (their resolve is news only if a store still has them open)."""

    def __init__(self, *, keep_resolved: float = 900.0) -> None:
        self.keep_resolved = keep_resolved
        self._changes: OrderedDict[str, tuple[float, IncidentChange]] = OrderedDict()
        self._notes = 0

    def note(self, change: IncidentChange) -> None:
        key = change.incident.id
        self._changes[key] = (time.monotonic(), change)
        self._changes.move_to_end(key)
        self._notes += 1
        if self._notes % 1000 == 0:
            self.prune()

    def prune(self) -> None:
        before = time.monotonic() - self.keep_resolved
        for key, (at, change) in list(self._changes.items()):
            if change.kind == "incident.resolved" and at < before:
                del self._changes[key]

    def snapshot(self) -> list[IncidentChange]:
        return [change for _, change in self._changes.values()]

    def __len__(self) -> int:
        return len(self._changes)


def same_content(change: IncidentChange, record: IncidentRecord) -> bool:
    """Nothing a receiver would be told again: the stored incident says the same."""
    try:
        stored = decode_change({"event": "incident.updated", "incident": record.data})
    except (msgspec.ValidationError, KeyError, TypeError):
        return False
    return content_hash(decode_change(msgspec.to_builtins(change.to_contract()))) == content_hash(stored)
