"""Carry open incidents across a restart of ``podsleuth watch``.

The detector starts empty: after a restart it re-detects every still-broken workload and would
open each incident again under a new id, and the notifier would alert on it a second time. The
store remembers the open incidents; this module maps a re-detected incident onto the stored one
(same fingerprint -> same id and first_seen; its "opened" becomes "updated"), and resolves the
stored incidents that the fresh cluster state no longer shows once the initial lists are synced
and the resolve grace has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from podsleuth.detect import Incident, IncidentChange
from podsleuth.store.base import IncidentRecord

log = logging.getLogger(__name__)


class Resumption:
    def __init__(self, records: Sequence[IncidentRecord]) -> None:
        self._waiting: dict[str, IncidentRecord] = {r.fingerprint: r for r in records}
        """Stored open incidents not re-detected yet, by fingerprint."""
        self._aliases: dict[str, IncidentRecord] = {}
        """Detector incident id -> the stored incident it continues."""

    @property
    def pending(self) -> int:
        return len(self._waiting)

    def apply(self, change: IncidentChange) -> IncidentChange:
        incident = change.incident
        record = self._aliases.get(incident.id) or self._waiting.pop(incident.fingerprint, None)
        if record is None:
            return change
        kind = change.kind
        if kind == "incident.resolved":
            self._aliases.pop(incident.id, None)
        else:
            self._aliases[incident.id] = record
            if kind == "incident.opened":
                kind = "incident.updated"
        first_seen = datetime.fromtimestamp(record.opened_at, UTC)
        continued = msgspec.structs.replace(
            incident, id=record.id, first_seen=min(first_seen, incident.first_seen)
        )
        return msgspec.structs.replace(change, kind=kind, incident=continued)

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
