"""Noise control: which queued changes become one notification, and which are not worth one.

Pure functions and a token bucket, so grouping, repeat_interval, silences and rate limits are
tested with a hand-set clock and no I/O. The notifier feeds them rows from the store and
commits the returned plan atomically.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from podsleuth.alert.model import ChangePayload, content_hash, decode_change, field_values
from podsleuth.alert.routing import matchers_match
from podsleuth.store.base import BatchPlan, NotifyState, QueuedChange, Silence


class TokenBucket:
    """``capacity`` messages per ``period``; refills continuously. State is per process."""

    def __init__(self, *, capacity: int, period: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / period
        self.tokens = float(capacity)
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def available_at(self, now: float) -> float:
        """When the next message may go (``now`` if one may go now)."""
        self._refill(now)
        return now if self.tokens >= 1.0 else now + (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


def silenced_by(change: ChangePayload, silences: Sequence[Silence], *, now: float) -> Silence | None:
    fields = field_values(change.incident)
    for s in silences:
        if s.starts_at <= now < s.ends_at and matchers_match(s.matchers, fields):
            return s
    return None


@dataclass(frozen=True, slots=True)
class Policy:
    repeat_interval: float
    send_resolved: bool
    max_batch: int
    victims_with_cause: bool = True
    """Send a cause and its victims in one message: a linked change (``caused_by`` /
    ``victims``, docs/diagnosis.md) that alone would wait as unchanged goes out with the other."""


def linked_ids(change: ChangePayload) -> set[str]:
    """The incidents a change is linked to as victim (its cause) or as cause (its victims)."""
    d = change.incident.diagnosis
    if d is None:
        return set()
    out = set(d.victims.incidents) if d.victims else set()
    if d.caused_by and d.caused_by.incident:
        out.add(d.caused_by.incident)
    return out


def _send(
    row: QueuedChange,
    change: ChangePayload,
    h: str,
    heard: bool,
    receiver: str,
    now: float,
    sent_ids: list[int],
    changes: list[dict[str, object]],
    notify: list[NotifyState],
) -> None:
    payload_change, event = row.change, change.event
    if not heard and event == "incident.updated":
        # the receiver's first news of this incident (its "opened" was folded into this
        # later update in the same window, or came before a silence ended): say opened
        payload_change, event = {**row.change, "event": "incident.opened"}, "incident.opened"
    sent_ids.append(row.id)
    changes.append(payload_change)
    notify.append(NotifyState(receiver, row.incident_id, now, h, event))


def plan_batch(
    rows: Sequence[QueuedChange],
    *,
    receiver: str,
    states: Mapping[str, NotifyState],
    silences: Sequence[Silence],
    policy: Policy,
    targets: Sequence[str],
    now: float,
) -> BatchPlan:
    """Decide the fate of every row: sent in this batch, or suppressed with a reason.

    Only the latest change of an incident in the window is considered (an update overtaken by
    a resolve is news no longer); the first change a receiver gets of an incident is always an
    "opened"; a resolve is sent only to receivers that heard of the incident; an update that
    changes nothing but counters waits for ``repeat_interval``.
    """
    rows = list(rows)[: policy.max_batch]
    latest: dict[str, QueuedChange] = {}
    suppressed: dict[int, str] = {}
    for row in rows:
        previous = latest.get(row.incident_id)
        if previous is not None:
            suppressed[previous.id] = "superseded"
        latest[row.incident_id] = row
    sent_ids: list[int] = []
    changes: list[dict[str, object]] = []
    notify: list[NotifyState] = []
    held: list[tuple[QueuedChange, ChangePayload, str]] = []
    for row in latest.values():
        change = decode_change(row.change)
        state = states.get(row.incident_id)
        heard = state is not None and state.last_event != "incident.resolved"
        h = content_hash(change)
        if silenced_by(change, silences, now=now) is not None:
            suppressed[row.id] = "silenced"
            continue
        if change.resolved:
            if not heard:
                suppressed[row.id] = "never-notified"
                continue
            if not policy.send_resolved:
                suppressed[row.id] = "send-resolved-off"
                notify.append(NotifyState(receiver, row.incident_id, now, h, change.event))
                continue
        elif (
            heard
            and state is not None
            and state.last_hash == h
            and now - state.last_sent_at < policy.repeat_interval
        ):
            suppressed[row.id] = "unchanged"
            held.append((row, change, h))
            continue
        _send(row, change, h, heard, receiver, now, sent_ids, changes, notify)
    if policy.victims_with_cause and held:
        sent = {c.incident.id for c in map(decode_change, changes)}
        for row, change, h in held:
            if sent & linked_ids(change):
                del suppressed[row.id]
                _send(row, change, h, True, receiver, now, sent_ids, changes, notify)
    batch_id = uuid.uuid4().hex
    payload = {"batch_id": batch_id, "receiver": receiver, "created_at": now, "changes": changes}
    return BatchPlan(
        batch_id=batch_id,
        receiver=receiver,
        sent_ids=sent_ids,
        suppressed=suppressed,
        targets=list(targets) if changes else [],
        payload=payload,
        notify=notify,
    )
