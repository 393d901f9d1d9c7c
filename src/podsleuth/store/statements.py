"""The SQL both backends run, written once with ``?`` placeholders.

``SQLITE`` holds the statements as written here; ``POSTGRES`` is the same set converted to
psycopg's ``%s`` placeholders once, at import, with the few statements that genuinely differ
replaced (tie-breaking ``ORDER BY``s, the delivery updates that also release a claim, and the
incident upsert, which returns the incident's change counter: SQLite only gained ``RETURNING``
in 3.35, later than some Python 3.11 builds ship).
Statements only one backend runs (claiming deliveries, locking queue rows, SQLite's prune of
incidents) live in that backend's module.

No statement may contain a literal ``%`` (psycopg would read it as a placeholder); conversion
refuses one. ``HEAD_OF_LINE`` (``podsleuth.store.base``) has no parameters and is used as is.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

INCIDENT_COLS = "id, fingerprint, status, data, opened_at, updated_at, resolved_at"
DELIVERY_COLS = (
    "id, batch_id, receiver, target, payload, created_at, attempts, next_attempt_at, state, last_error,"
    " in_doubt"
)
SENT_COLS = "receiver, target, batch_id, payload"
"""What ``mark_sent`` reads back from the delivery it marked, for the notification log."""

_RELEASE = ", claimed_by=NULL, claimed_until=NULL"
"""PostgreSQL: a delivery that is sent, retried later or dead is no longer claimed."""
_RELEASE_SQLITE = ", claimed_by=NULL"
"""SQLite: the same; its claims only say which process handed a delivery out (no expiry)."""
_ADOPT = "UPDATE deliveries SET in_doubt=1{release} WHERE state='pending' AND claimed_by IS NOT NULL"
"""Every pending delivery handed out and not finished - by a dead process, or by this one before
a step-down cancelled it: the caller has nothing in flight when it adopts."""

_DUE_FOR_REPEAT = (
    "SELECT i.id, i.fingerprint, i.status, i.data, i.opened_at, i.updated_at, i.resolved_at"
    " FROM notify_state n JOIN incidents i ON i.id = n.incident_id"
    " WHERE n.receiver=? AND n.last_sent_at<? AND n.last_event!='incident.resolved'"
    " AND i.status='open' AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.receiver=n.receiver"
    " AND q.incident_id=n.incident_id AND q.state='queued')"
)
_MARK_SENT = "UPDATE deliveries SET state='sent', attempts=attempts+1, done_at=?{release} WHERE id=?"
_MARK_RETRY = "UPDATE deliveries SET attempts=?, next_attempt_at=?, last_error=?{release} WHERE id=?"
_MARK_DEAD = "UPDATE deliveries SET state='dead', attempts=?, done_at=?, last_error=?{release} WHERE id=?"
_SILENCES = "SELECT id, matchers, starts_at, ends_at, comment, created_by, created_at FROM silences"


@dataclass(frozen=True)
class Statements:
    """One dialect's statements (see the module docstring)."""

    # incidents
    upsert_incident: str
    insert_timeline: str
    open_incidents: str
    incident: str
    timeline: str
    change_count: str
    """The number of changes recorded for an incident (its ``changes`` counter, one per
    ``upsert_incident``): the ``delivery.sequence`` of its latest."""
    trim_timeline: str
    """Delete an incident's timeline rows between its first and its newest ``?`` (offset ``?`` =
    that number), all looked up in the index ``timeline_incident(incident_id, id)``."""
    # queue
    insert_queue: str
    queued: str
    next_ready_at: str
    batch_queue: str
    suppress_queue: str
    # notify state
    upsert_notify_state: str
    notify_states: str
    """Incomplete: ends in ``incident_id``; each backend appends its list test (``IN``/``ANY``)."""
    due_for_repeat: str
    # deliveries (the outbox)
    insert_delivery: str
    all_deliveries: str
    deliveries_in_state: str
    mark_sent: str
    mark_retry: str
    mark_dead: str
    insert_notification_log: str
    notification_log: str
    adopt_deliveries: str
    """Release every claim on a pending delivery and mark those deliveries in doubt."""
    # silences
    add_silence: str
    all_silences: str
    live_silences: str
    expire_silence: str
    # retention: each deletes up to ``?`` (a chunk) rows finished before ``?``
    prune_deliveries: str
    prune_notification_log: str
    prune_queue: str
    prune_silences: str

    @property
    def prune_simple(self) -> tuple[tuple[str, str], ...]:
        """(table, statement) for the tables ``prune`` sweeps with one statement, in order."""
        return (
            ("deliveries", self.prune_deliveries),
            ("notification_log", self.prune_notification_log),
            ("queue", self.prune_queue),
            ("silences", self.prune_silences),
        )


def to_postgres(sql: str) -> str:
    """``sql`` with psycopg placeholders: each ``?`` becomes ``%s``."""
    if "%" in sql:
        raise ValueError(f"a literal % in a shared statement would break psycopg: {sql!r}")
    return sql.replace("?", "%s")


def _converted(statements: Statements) -> Statements:
    return Statements(**{f.name: to_postgres(getattr(statements, f.name)) for f in fields(statements)})


SQLITE = Statements(
    upsert_incident=(
        f"INSERT INTO incidents ({INCIDENT_COLS}, changes) VALUES (?, ?, ?, ?, ?, ?, ?, 1)"
        " ON CONFLICT(id) DO UPDATE SET fingerprint=excluded.fingerprint, status=excluded.status,"
        " data=excluded.data,"
        " updated_at=excluded.updated_at, resolved_at=excluded.resolved_at,"
        " changes=incidents.changes+1"
    ),
    insert_timeline="INSERT INTO timeline (incident_id, at, event, data) VALUES (?, ?, ?, ?)",
    open_incidents=f"SELECT {INCIDENT_COLS} FROM incidents WHERE status='open' ORDER BY opened_at",
    incident=f"SELECT {INCIDENT_COLS} FROM incidents WHERE id=?",
    timeline="SELECT at, event, data FROM timeline WHERE incident_id=? ORDER BY id",
    change_count="SELECT changes FROM incidents WHERE id=?",
    trim_timeline=(
        "DELETE FROM timeline WHERE incident_id=?"
        " AND id > (SELECT MIN(id) FROM timeline WHERE incident_id=?)"
        " AND id <= (SELECT id FROM timeline WHERE incident_id=? ORDER BY id DESC LIMIT 1 OFFSET ?)"
    ),
    insert_queue=(
        "INSERT INTO queue (receiver, incident_id, event, change, enqueued_at, ready_at)"
        " VALUES (?, ?, ?, ?, ?, ?)"
    ),
    queued=(
        "SELECT id, receiver, incident_id, event, change, enqueued_at, ready_at FROM queue"
        " WHERE receiver=? AND state='queued' ORDER BY id"
    ),
    next_ready_at="SELECT MIN(ready_at) FROM queue WHERE receiver=? AND state='queued'",
    batch_queue="UPDATE queue SET state='batched', batch_id=? WHERE id=?",
    suppress_queue="UPDATE queue SET state='suppressed', batch_id=?, reason=? WHERE id=?",
    upsert_notify_state=(
        "INSERT INTO notify_state (receiver, incident_id, last_sent_at, last_hash, last_event)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(receiver, incident_id) DO UPDATE SET"
        " last_sent_at=excluded.last_sent_at, last_hash=excluded.last_hash,"
        " last_event=excluded.last_event"
    ),
    notify_states=(
        "SELECT receiver, incident_id, last_sent_at, last_hash, last_event FROM notify_state"
        " WHERE receiver=? AND incident_id"
    ),
    due_for_repeat=_DUE_FOR_REPEAT + " LIMIT ?",
    insert_delivery=(
        "INSERT INTO deliveries (batch_id, receiver, target, payload, created_at, next_attempt_at)"
        " VALUES (?, ?, ?, ?, ?, ?)"
    ),
    all_deliveries=f"SELECT {DELIVERY_COLS} FROM deliveries ORDER BY id",
    deliveries_in_state=f"SELECT {DELIVERY_COLS} FROM deliveries WHERE state=? ORDER BY id",
    mark_sent=_MARK_SENT.format(release=_RELEASE_SQLITE),
    mark_retry=_MARK_RETRY.format(release=_RELEASE_SQLITE),
    mark_dead=_MARK_DEAD.format(release=_RELEASE_SQLITE),
    insert_notification_log=(
        "INSERT INTO notification_log (delivery_id, receiver, target, batch_id, sent_at, incident_ids)"
        " VALUES (?, ?, ?, ?, ?, ?)"
    ),
    notification_log=(
        "SELECT receiver, target, batch_id, sent_at, incident_ids FROM notification_log ORDER BY id"
    ),
    adopt_deliveries=_ADOPT.format(release=_RELEASE_SQLITE),
    add_silence=(
        "INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    all_silences=_SILENCES + " ORDER BY created_at",
    live_silences=_SILENCES + " WHERE ends_at > ? ORDER BY created_at",
    expire_silence="UPDATE silences SET ends_at=? WHERE (id=? OR id LIKE ?) AND ends_at>?",
    prune_deliveries=(
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries"
        " WHERE state IN ('sent', 'dead') AND done_at < ? LIMIT ?)"
    ),
    prune_notification_log=(
        "DELETE FROM notification_log WHERE id IN (SELECT id FROM notification_log"
        " WHERE sent_at < ? LIMIT ?)"
    ),
    prune_queue=(
        "DELETE FROM queue WHERE id IN (SELECT q.id FROM queue q"
        " WHERE q.state IN ('batched', 'suppressed') AND q.enqueued_at < ? AND NOT EXISTS"
        " (SELECT 1 FROM deliveries e WHERE e.batch_id = q.batch_id AND e.state = 'pending')"
        " LIMIT ?)"
    ),
    prune_silences="DELETE FROM silences WHERE id IN (SELECT id FROM silences WHERE ends_at < ? LIMIT ?)",
)

POSTGRES = _converted(
    replace(
        SQLITE,
        upsert_incident=SQLITE.upsert_incident + " RETURNING changes",
        open_incidents=SQLITE.open_incidents + ", id",
        due_for_repeat=_DUE_FOR_REPEAT + " ORDER BY i.id LIMIT ?",
        mark_sent=_MARK_SENT.format(release=_RELEASE) + f" RETURNING {SENT_COLS}",
        mark_retry=_MARK_RETRY.format(release=_RELEASE),
        mark_dead=_MARK_DEAD.format(release=_RELEASE),
        adopt_deliveries=_ADOPT.format(release=_RELEASE),
        all_silences=SQLITE.all_silences + ", id",
        live_silences=SQLITE.live_silences + ", id",
    )
)
