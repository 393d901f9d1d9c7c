"""What the SQLite and PostgreSQL stores share beyond the SQL (``podsleuth.store.statements``).

Pure logic: JSON encoding, the rows written for a change, a batch plan or a sent delivery, the
records built from rows read, and ``prune``'s chunk loop over a small "delete one chunk"
callable. ``SqlReads`` implements the read-only ``Store`` methods that are the same query on
both backends over one method, ``_fetchall``, that each backend provides.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple

from podsleuth.store.base import (
    JSON,
    TIMELINE_KEPT,
    BatchPlan,
    Delivery,
    IncidentRecord,
    QueuedChange,
    Silence,
)
from podsleuth.store.statements import Statements

Row = tuple[Any, ...]
log = logging.getLogger(__name__)

RESOLVED = "incident.resolved"
PRUNE_TABLES = ("deliveries", "notification_log", "queue", "incidents", "timeline", "silences")
"""The tables ``prune`` reports on, in the order of its result."""


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


# --- rows written ---
def incident_rows(change: JSON, at: float) -> tuple[Row, Row]:
    """The arguments of ``upsert_incident`` and ``insert_timeline`` for one incident change."""
    incident = change["incident"]
    event = str(change["event"])
    resolved = event == RESOLVED
    upsert = (
        str(incident["id"]),
        str(incident.get("fingerprint") or incident["id"]),
        "resolved" if resolved else "open",
        dumps(incident),
        at,
        at,
        at if resolved else None,
    )
    return upsert, (str(incident["id"]), at, event, dumps(incident))


def trim_rows(incident_id: str, *, changes: int, kept: int = TIMELINE_KEPT) -> Row | None:
    """The ``trim_timeline`` arguments once an incident has more than ``kept`` changes (keep its
    first row and the newest ``kept - 1``), else None: most incidents never pay for the delete."""
    if changes <= kept:
        return None
    return (incident_id, incident_id, incident_id, kept - 1)


def with_sequence(change: JSON, sequence: int) -> JSON:
    """The change as queued: ``delivery.sequence`` numbers the changes of its incident (1, 2, ...),
    so a receiver can drop a redelivery marked ``possible_duplicate`` (docs/contract.md)."""
    return {**change, "delivery": {"sequence": sequence, "possible_duplicate": False}}


def queue_rows(
    items: Sequence[tuple[str, str, str, JSON, float]], at: float, sequences: Mapping[str, int]
) -> list[Row]:
    """The ``insert_queue`` rows for (receiver, incident_id, event, change, ready_at) items;
    ``sequences``: incident id -> the number of changes recorded for it."""
    return [(r, i, e, dumps(with_sequence(c, sequences.get(i, 0))), at, ready) for r, i, e, c, ready in items]


class BatchRows(NamedTuple):
    """The rows ``commit_batch`` writes, one list per statement."""

    batched: list[Row]
    """``batch_queue``"""
    suppressed: list[Row]
    """``suppress_queue``"""
    deliveries: list[Row]
    """``insert_delivery``"""
    notify: list[Row]
    """``upsert_notify_state``"""


def batch_rows(plan: BatchPlan, at: float) -> BatchRows:
    payload = dumps(plan.payload)
    return BatchRows(
        [(plan.batch_id, i) for i in plan.sent_ids],
        [(plan.batch_id, reason, i) for i, reason in plan.suppressed.items()],
        [(plan.batch_id, plan.receiver, t, payload, at, at) for t in plan.targets],
        [tuple(s) for s in plan.notify],
    )


def notification_log_row(delivery_id: int, sent: Sequence[Any], at: float) -> Row:
    """The ``insert_notification_log`` row for a delivery just sent; ``sent`` = its ``SENT_COLS``."""
    ids = [c["incident"]["id"] for c in json.loads(sent[3]).get("changes", [])]
    return (delivery_id, sent[0], sent[1], sent[2], at, dumps(ids))


def silence_row(silence: Silence) -> Row:
    return (
        silence.id,
        dumps(silence.matchers),
        silence.starts_at,
        silence.ends_at,
        silence.comment,
        silence.created_by,
        silence.created_at,
    )


# --- records read ---
def silence_record(row: Sequence[Any]) -> Silence | None:
    """A silence row as read, or None (one warning naming its id) when its ``matchers`` column is
    not a JSON object of strings: a row written by hand or by an older version must cost only
    itself, never ``silence list``, the notifier's matching or the console's /silences page."""
    try:
        matchers = json.loads(row[1])
    except (TypeError, ValueError) as e:
        log.warning("skipped stored silence %r: its matchers are not valid JSON (%s)", row[0], e)
        return None
    if not isinstance(matchers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in matchers.items()
    ):
        log.warning("skipped stored silence %r: its matchers are not an object of strings", row[0])
        return None
    return Silence(row[0], matchers, row[2], row[3], row[4], row[5], row[6])


def incident_record(row: Sequence[Any]) -> IncidentRecord:
    return IncidentRecord(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])


def delivery_record(r: Sequence[Any]) -> Delivery:
    return Delivery(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8], r[9], bool(r[10]))


# --- retention ---
async def prune_in_chunks(
    statements: Statements,
    delete: Callable[[str], Awaitable[int]],
    incidents: Callable[[], Awaitable[tuple[int, int]]],
    *,
    chunk: int,
    incident_chunk: int,
) -> dict[str, int]:
    """``prune``: each simple statement run by ``delete`` (one chunk of at most ``chunk`` rows
    per transaction, returning the rows deleted) until a chunk comes back short, then
    ``incidents`` (one chunk of resolved incidents with their timeline and notify state,
    returning (incidents, timeline rows) deleted) until fewer than ``incident_chunk`` go."""
    counts = dict.fromkeys(PRUNE_TABLES, 0)
    for table, sql in statements.prune_simple:
        while True:
            n = await delete(sql)
            counts[table] += n
            if n < chunk:
                break
    while True:
        n, timeline = await incidents()
        counts["incidents"] += n
        counts["timeline"] += timeline
        if n < incident_chunk:
            break
    return counts


class SqlReads:
    """The read-only ``Store`` methods that run the same query on both backends."""

    _sql: Statements

    async def _fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def open_incidents(self) -> list[IncidentRecord]:
        return [incident_record(r) for r in await self._fetchall(self._sql.open_incidents)]

    async def incident(self, incident_id: str) -> IncidentRecord | None:
        rows = await self._fetchall(self._sql.incident, (incident_id,))
        return incident_record(rows[0]) if rows else None

    async def timeline(self, incident_id: str) -> list[tuple[float, str, JSON]]:
        rows = await self._fetchall(self._sql.timeline, (incident_id,))
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    async def queued(self, receiver: str) -> list[QueuedChange]:
        rows = await self._fetchall(self._sql.queued, (receiver,))
        return [QueuedChange(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]

    async def due_for_repeat(self, receiver: str, *, before: float, limit: int = 500) -> list[IncidentRecord]:
        """Open incidents this receiver was last told about before ``before``, not queued again."""
        rows = await self._fetchall(self._sql.due_for_repeat, (receiver, before, limit))
        return [incident_record(r) for r in rows]

    async def deliveries(self, *, state: str | None = None) -> list[Delivery]:
        if state:
            rows = await self._fetchall(self._sql.deliveries_in_state, (state,))
        else:
            rows = await self._fetchall(self._sql.all_deliveries)
        return [delivery_record(r) for r in rows]

    async def notification_log(self) -> list[tuple[str, str, str, float, list[str]]]:
        rows = await self._fetchall(self._sql.notification_log)
        return [(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    async def silences(self, *, now: float, include_expired: bool = False) -> list[Silence]:
        if include_expired:
            rows = await self._fetchall(self._sql.all_silences)
        else:
            rows = await self._fetchall(self._sql.live_silences, (now,))
        return [s for s in map(silence_record, rows) if s is not None]
