"""The incident store interface: a Protocol and immutable records.

The notifier talks to the store only through ``Store`` so a PostgreSQL implementation can
replace SQLite later without touching alerting. Every method is async because the real work
(SQL) runs off the event loop; the detector must never wait on disk.

Queue -> batch -> delivery is the life of a notification:

* ``queue``: one row per (receiver, incident change), written by ``submit``; it waits here for
  its group window (``ready_at``) and for the receiver's rate limit.
* ``deliveries``: the outbox proper; one row per (batch, sink target), retried with backoff
  until sent or dead. A row is only marked sent after the sink said yes (at-least-once).

Per sink target, the deliveries of one incident go out in order and one at a time: a delivery
is not due while an earlier pending delivery to the same target carries a change of the same
incident (``HEAD_OF_LINE``), whether that one is in flight or waiting for its retry.

Nothing grows forever: ``prune`` deletes what is finished and older than the retention, and an
open incident keeps at most ``TIMELINE_KEPT`` timeline rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

JSON = dict[str, Any]

HEAD_OF_LINE = (
    " AND NOT EXISTS (SELECT 1 FROM queue mine"
    " JOIN queue theirs ON theirs.incident_id = mine.incident_id AND theirs.state = 'batched'"
    " JOIN deliveries e ON e.batch_id = theirs.batch_id"
    " WHERE mine.batch_id = d.batch_id AND mine.state = 'batched'"
    " AND e.receiver = d.receiver AND e.target = d.target AND e.state = 'pending' AND e.id < d.id)"
)
"""SQL condition on a pending delivery ``d``: no earlier pending delivery to the same target
carries a change of an incident that ``d`` carries (the incidents of a batch are its queue rows
in state ``batched``). Shared by both backends; it has no parameters."""

PRUNE_CHUNK = 2000
"""Rows deleted per transaction by ``prune``, so a first sweep of a big database does not hold
the write lock (SQLite) or run into the statement timeout (PostgreSQL)."""

TIMELINE_KEPT = 200
"""Timeline rows kept per incident: its first change (when and how it opened) and the newest
``TIMELINE_KEPT - 1``. An incident open for months (a crash loop whose count keeps changing, a
flapping node) would otherwise add a row per change forever, and ``prune`` only removes resolved
incidents. 200 covers days of an incident changing every few minutes, what a person reads in
``incidents show``; the incident's ``changes`` counter still counts every change (the
``delivery.sequence``), so the story can say how many were not kept."""


class QueuedChange(NamedTuple):
    """An incident change routed to one receiver, waiting to be batched."""

    id: int
    receiver: str
    incident_id: str
    event: str
    change: JSON
    enqueued_at: float
    ready_at: float


class Delivery(NamedTuple):
    """One batch to one sink target: the unit of retry in the outbox."""

    id: int
    batch_id: str
    receiver: str
    target: str
    payload: JSON
    created_at: float
    attempts: int
    next_attempt_at: float
    state: str
    last_error: str
    in_doubt: bool = False
    """Handed out by a process that died or was deposed before recording the outcome: it may
    have reached its sink, so it goes out again marked ``possible_duplicate``."""

    @property
    def possible_duplicate(self) -> bool:
        """It may have been delivered already: tried before (a timeout may hide a success; a
        batch is retried whole), or in doubt."""
        return self.in_doubt or self.attempts > 0


class NotifyState(NamedTuple):
    """What a receiver was last told about an incident: the basis of dedupe and repeat_interval."""

    receiver: str
    incident_id: str
    last_sent_at: float
    last_hash: str
    last_event: str


class Silence(NamedTuple):
    """Mute changes whose fields match every matcher (values are globs) until ``ends_at``."""

    id: str
    matchers: dict[str, str]
    starts_at: float
    ends_at: float
    comment: str
    created_by: str
    created_at: float


class IncidentRecord(NamedTuple):
    id: str
    fingerprint: str
    status: str
    data: JSON
    opened_at: float
    updated_at: float
    resolved_at: float | None


class BatchPlan(NamedTuple):
    """What the notifier decided for a set of queued changes, committed atomically."""

    batch_id: str
    receiver: str
    sent_ids: Sequence[int]
    suppressed: Mapping[int, str]
    """Queue id -> reason (silenced, unchanged, unrouted) for changes that are dropped."""
    targets: Sequence[str]
    payload: JSON
    notify: Sequence[NotifyState]


class Store(Protocol):
    """Persistence for incidents, the alert queue/outbox, notification log and silences."""

    async def record_change(self, change: JSON, *, at: float) -> None:
        """Upsert the incident and append the change to its timeline."""

    async def enqueue(self, items: Sequence[tuple[str, str, str, JSON, float]], *, at: float) -> None:
        """Queue (receiver, incident_id, event, change, ready_at) rows in one transaction."""

    async def record_and_enqueue(
        self, change: JSON, items: Sequence[tuple[str, str, str, JSON, float]], *, at: float
    ) -> None:
        """``record_change`` and ``enqueue`` in one transaction: the submit fast path."""

    async def queued(self, receiver: str) -> list[QueuedChange]: ...

    async def next_ready_at(self, receiver: str) -> float | None: ...

    async def commit_batch(self, plan: BatchPlan, *, at: float) -> None:
        """Mark queue rows batched/suppressed, create deliveries, update notify state."""

    async def notify_states(self, receiver: str, incident_ids: Sequence[str]) -> dict[str, NotifyState]: ...

    async def due_for_repeat(self, receiver: str, *, before: float, limit: int = 500) -> list[IncidentRecord]:
        """Open incidents last notified to ``receiver`` before ``before`` and not queued again."""

    async def due_deliveries(self, receiver: str, *, now: float, limit: int) -> list[Delivery]:
        """Pending deliveries due at ``now`` that head their incidents' line (``HEAD_OF_LINE``)."""

    async def next_delivery_at(self, receiver: str) -> float | None:
        """When the next delivery that heads its incidents' line is due (None = none pending)."""

    async def mark_sent(self, delivery_id: int, *, at: float) -> None: ...

    async def mark_retry(self, delivery_id: int, *, attempts: int, next_at: float, error: str) -> None: ...

    async def mark_dead(self, delivery_id: int, *, attempts: int, at: float, error: str) -> None: ...

    async def deliveries(self, *, state: str | None = None) -> list[Delivery]: ...

    async def adopt_deliveries(self) -> int:
        """Take over the pending deliveries handed out and never finished - by a process that was
        killed or deposed, or by this one before a step-down cancelled them: their claims go and
        they are marked in doubt. Call it with nothing in flight (on start, on taking the Lease).
        Returns how many."""

    async def fence(self, *, holder: str, generation: int, at: float) -> bool:
        """Record this process as the leader ``holder`` of Lease generation ``generation``, unless
        the store already names a newer one; True when it now holds the fence (SQLite: always)."""

    async def holds_fence(self, *, holder: str, generation: int) -> bool:
        """Still the leader the store names (checked before each delivery; SQLite: always)."""

    async def open_incidents(self) -> list[IncidentRecord]: ...

    async def incident(self, incident_id: str) -> IncidentRecord | None: ...

    async def timeline(self, incident_id: str) -> list[tuple[float, str, JSON]]:
        """(at, event, incident) oldest first: the incident's first change and its newest
        ``TIMELINE_KEPT - 1`` (the rows between are deleted as new changes come in)."""

    async def add_silence(self, silence: Silence) -> None: ...

    async def silences(self, *, now: float, include_expired: bool = False) -> list[Silence]: ...

    async def expire_silence(self, silence_id: str, *, at: float) -> bool: ...

    async def prune(self, older_than: float) -> dict[str, int]:
        """Retention sweep; returns the rows deleted per table. Deletes sent/dead deliveries done
        and notification log entries written before ``older_than``; batched/suppressed queue rows
        enqueued before it whose batch has no pending delivery left; incidents resolved before it
        (with their timeline and notify state) unless a change of theirs is still queued; and
        silences that ended before it. Open incidents, queued changes and pending deliveries are
        never touched."""

    async def aclose(self) -> None: ...
