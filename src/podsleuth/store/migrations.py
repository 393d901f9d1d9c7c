"""Schema migrations, applied in order: SQLite's recorded in ``user_version``, PostgreSQL's
(``POSTGRES_MIGRATIONS``, the same tables) in the table ``podsleuth_schema``.

Append new steps; never edit a released one, because databases in the field already ran it.
"""

from __future__ import annotations

import sqlite3

RETENTION_INDEXES = """
    CREATE INDEX queue_batch ON queue(batch_id);
    CREATE INDEX queue_incident ON queue(incident_id, state);
    CREATE INDEX deliveries_done ON deliveries(state, done_at);
    CREATE INDEX notification_log_sent ON notification_log(sent_at);
    CREATE INDEX incidents_resolved ON incidents(status, resolved_at);
    CREATE INDEX notify_state_incident ON notify_state(incident_id);
"""
"""The same DDL in both dialects: one migration step in each backend."""

CHANGE_COUNTER = """
    ALTER TABLE incidents ADD COLUMN changes BIGINT NOT NULL DEFAULT 0;
    UPDATE incidents SET changes = (SELECT COUNT(*) FROM timeline t WHERE t.incident_id = incidents.id);
"""
"""Each incident counts its own changes (the ``delivery.sequence`` of its latest one), so its
timeline can be bounded (``TIMELINE_KEPT``) without the sequence going back; a store written
before this step starts from the timeline rows it has (none had been deleted yet). The same DDL
in both dialects (SQLite reads BIGINT as INTEGER)."""

MIGRATIONS: tuple[str, ...] = (
    # 1: incidents, timeline, alert queue, outbox, notify state, notification log, silences
    """
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        status TEXT NOT NULL,
        data TEXT NOT NULL,
        opened_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        resolved_at REAL
    );
    CREATE INDEX incidents_status ON incidents(status);
    CREATE TABLE timeline (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        incident_id TEXT NOT NULL,
        at REAL NOT NULL,
        event TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX timeline_incident ON timeline(incident_id, id);
    CREATE TABLE queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        receiver TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        event TEXT NOT NULL,
        change TEXT NOT NULL,
        enqueued_at REAL NOT NULL,
        ready_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        batch_id TEXT,
        reason TEXT
    );
    CREATE INDEX queue_pending ON queue(receiver, state, ready_at);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id TEXT NOT NULL,
        receiver TEXT NOT NULL,
        target TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        last_error TEXT NOT NULL DEFAULT '',
        done_at REAL,
        UNIQUE (batch_id, target)
    );
    CREATE INDEX deliveries_due ON deliveries(receiver, state, next_attempt_at);
    CREATE TABLE notify_state (
        receiver TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        last_sent_at REAL NOT NULL,
        last_hash TEXT NOT NULL,
        last_event TEXT NOT NULL,
        PRIMARY KEY (receiver, incident_id)
    );
    CREATE TABLE notification_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id INTEGER NOT NULL,
        receiver TEXT NOT NULL,
        target TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        sent_at REAL NOT NULL,
        incident_ids TEXT NOT NULL
    );
    CREATE TABLE silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at REAL NOT NULL,
        ends_at REAL NOT NULL,
        comment TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 2: retention (prune) and per-incident delivery order: look rows up by batch, incident, age
    RETENTION_INDEXES,
    # 3: failover (docs/ha.md): who handed a delivery out, whether it may have reached its sink
    """
    ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
    ALTER TABLE deliveries ADD COLUMN in_doubt INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: a change counter per incident, so the timeline can be bounded (CHANGE_COUNTER)
    CHANGE_COUNTER,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to ``SCHEMA_VERSION``; refuse a database written by a newer podsleuth."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"store schema version {version} is newer than this podsleuth supports ({SCHEMA_VERSION})"
        )
    for number in range(version, SCHEMA_VERSION):
        # BEGIN IMMEDIATE so two processes opening a fresh file do not both migrate.
        conn.execute("BEGIN IMMEDIATE")
        try:
            (current,) = conn.execute("PRAGMA user_version").fetchone()
            if current == number:
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


# --- PostgreSQL -------------------------------------------------------------------------------
# The same tables as SQLite with PostgreSQL types (BIGSERIAL for AUTOINCREMENT, DOUBLE PRECISION
# for REAL; JSON stays TEXT so both backends read back exactly what they wrote). The version is
# kept in ``podsleuth_schema``; ``podsleuth.store.postgres`` applies the steps under an advisory
# lock so two watchers starting together do not both migrate.

POSTGRES_MIGRATIONS: tuple[str, ...] = (
    # 1: the SQLite schema, step 1
    """
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        status TEXT NOT NULL,
        data TEXT NOT NULL,
        opened_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        resolved_at DOUBLE PRECISION
    );
    CREATE INDEX incidents_status ON incidents(status);
    CREATE TABLE timeline (
        id BIGSERIAL PRIMARY KEY,
        incident_id TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        event TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX timeline_incident ON timeline(incident_id, id);
    CREATE TABLE queue (
        id BIGSERIAL PRIMARY KEY,
        receiver TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        event TEXT NOT NULL,
        change TEXT NOT NULL,
        enqueued_at DOUBLE PRECISION NOT NULL,
        ready_at DOUBLE PRECISION NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        batch_id TEXT,
        reason TEXT
    );
    CREATE INDEX queue_pending ON queue(receiver, state, ready_at);
    CREATE TABLE deliveries (
        id BIGSERIAL PRIMARY KEY,
        batch_id TEXT NOT NULL,
        receiver TEXT NOT NULL,
        target TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at DOUBLE PRECISION NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        last_error TEXT NOT NULL DEFAULT '',
        done_at DOUBLE PRECISION,
        UNIQUE (batch_id, target)
    );
    CREATE INDEX deliveries_due ON deliveries(receiver, state, next_attempt_at);
    CREATE TABLE notify_state (
        receiver TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        last_sent_at DOUBLE PRECISION NOT NULL,
        last_hash TEXT NOT NULL,
        last_event TEXT NOT NULL,
        PRIMARY KEY (receiver, incident_id)
    );
    CREATE TABLE notification_log (
        id BIGSERIAL PRIMARY KEY,
        delivery_id BIGINT NOT NULL,
        receiver TEXT NOT NULL,
        target TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        sent_at DOUBLE PRECISION NOT NULL,
        incident_ids TEXT NOT NULL
    );
    CREATE TABLE silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at DOUBLE PRECISION NOT NULL,
        ends_at DOUBLE PRECISION NOT NULL,
        comment TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    """,
    # 2: delivery claims, so two processes sharing the database never send one row twice at once
    """
    ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
    ALTER TABLE deliveries ADD COLUMN claimed_until DOUBLE PRECISION;
    """,
    # 3: retention (prune) and per-incident delivery order (SQLite step 2)
    RETENTION_INDEXES,
    # 4: failover: deliveries that may have reached their sink, and the fence of the leader
    """
    ALTER TABLE deliveries ADD COLUMN in_doubt INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE leadership (
        id INTEGER PRIMARY KEY,
        holder TEXT NOT NULL,
        generation BIGINT NOT NULL,
        owner TEXT NOT NULL,
        since DOUBLE PRECISION NOT NULL
    );
    """,
    # 5: a change counter per incident (SQLite step 4)
    CHANGE_COUNTER,
)

POSTGRES_SCHEMA_VERSION = len(POSTGRES_MIGRATIONS)
