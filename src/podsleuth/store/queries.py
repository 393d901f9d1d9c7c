"""Read-only questions a person asks the store: which incidents, what happened to one, who was told.

``incidents list``, ``incidents show`` and the web console read the store the watcher writes
through these functions and nothing else, so the SQL a reader runs lives in one place and works
on both backends (SQLite's ``?`` placeholders become PostgreSQL's ``%s``).

Filtering on the incident's own fields (namespace, category, severity, cluster, free text) is
done in Python over the JSON the watcher stored: the store keeps the contract's incident shape as
one document, so there is no column to index, and 10,000 incidents filter in tens of
milliseconds (``bench/bench_console.py``). The state and the time window are SQL conditions.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, NamedTuple

from podsleuth.store.base import IncidentRecord, Store
from podsleuth.store.common import Row, incident_record
from podsleuth.store.statements import INCIDENT_COLS

SEVERITY_RANK = {"critical": 0, "error": 1, "warning": 2}
SILENCE_FIELDS = frozenset(
    {"namespace", "pod", "node", "container", "category", "severity", "signature", "reason", "fingerprint",
     "id", "owner", "workload"}
)  # fmt: skip
"""The incident fields a silence matches on (``label.NAME`` too), as alerting's ``field_values``."""
MAX_SILENCE = 366 * 86400.0
"""Longest silence: a year (and a day). Longer is a typo, or a rule that belongs in ``watch.ignore``."""
STATES = ("open", "resolved", "all")


@dataclass(frozen=True, kw_only=True)
class IncidentFilter:
    """What ``incidents list`` and the console's list page ask for. Empty = no condition."""

    state: str = "open"
    namespaces: tuple[str, ...] = ()
    """Globs (``shop*``); any of them matches."""
    category: str = ""
    severity: str = ""
    cluster: str = ""
    since: float | None = None
    """Only incidents updated at or after this epoch time."""
    text: str = ""
    """Case-insensitive substring of id, pod, node, namespace, message, root cause or summary."""
    node: str = ""

    def matches(self, summary: Summary) -> bool:
        data = summary.fields
        namespace = str(data.get("namespace") or "")
        if self.namespaces and not any(fnmatchcase(namespace, g) for g in self.namespaces):
            return False
        for key in ("category", "severity", "cluster", "node"):
            wanted = getattr(self, key)
            if wanted and str(data.get(key) or "") != wanted:
                return False
        return not self.text or self.text.lower() in summary.haystack()


SUMMARY_FIELDS = ("namespace", "category", "severity", "cluster", "node", "pod", "container", "message",
                  "pods")
DIAGNOSIS_FIELDS = ("root_cause", "summary")


def _summary_sql(store: Store) -> str:
    """Only the fields a filter looks at, extracted by the database (far cheaper than decoding
    every stored document in Python: 10,000 incidents of ~8 KB each)."""
    if _is_postgres(store):
        fields = [f"(data::jsonb)->>'{f}'" for f in SUMMARY_FIELDS]
        fields += [f"(data::jsonb)->'diagnosis'->>'{f}'" for f in DIAGNOSIS_FIELDS]
    else:
        fields = [f"json_extract(data, '$.{f}')" for f in SUMMARY_FIELDS]
        fields += [f"json_extract(data, '$.diagnosis.{f}')" for f in DIAGNOSIS_FIELDS]
    return "SELECT id, status, updated_at, " + ", ".join(fields) + " FROM incidents"


class Summary(NamedTuple):
    id: str
    status: str
    updated_at: float
    fields: dict[str, Any]

    @classmethod
    def of(cls, row: Row) -> Summary:
        names = (*SUMMARY_FIELDS, *(f"diagnosis.{f}" for f in DIAGNOSIS_FIELDS))
        return cls(str(row[0]), str(row[1]), float(row[2]), dict(zip(names, row[3:], strict=True)))

    def haystack(self) -> str:
        parts = [self.id, *(v for v in self.fields.values() if isinstance(v, str))]
        return " ".join(parts).lower()


class Page(NamedTuple):
    incidents: list[IncidentRecord]
    total: int
    """How many matched the filter (all pages)."""
    by_category: dict[str, int]
    by_cluster: dict[str, int]
    latest_change: float
    """The newest ``updated_at`` in the store: the console's live view polls it."""


class Notification(NamedTuple):
    receiver: str
    target: str
    at: float
    result: str
    """``sent``, ``pending`` (waiting or retrying), or ``dead`` (given up)."""
    detail: str


def _is_postgres(store: Store) -> bool:
    return type(store).__name__ == "PostgresStore"


def _sql(store: Store, sql: str) -> str:
    """The statement in the store's dialect: PostgreSQL's driver takes ``%s``."""
    return sql.replace("?", "%s") if _is_postgres(store) else sql


async def _fetch(store: Store, sql: str, args: Sequence[Any] = ()) -> list[Row]:
    fetch = getattr(store, "_fetchall")  # noqa: B009 - the backends' shared read primitive
    rows: list[Row] = await fetch(_sql(store, sql), args)
    return rows


def _sort_key(summary: Summary) -> tuple[int, int, float, str]:
    """Open before resolved, then by severity, then newest first."""
    return (
        0 if summary.status == "open" else 1,
        SEVERITY_RANK.get(str(summary.fields.get("severity")), 3),
        -summary.updated_at,
        summary.id,
    )


async def list_incidents(store: Store, wanted: IncidentFilter, *, limit: int = 50, offset: int = 0) -> Page:
    """One page of matching incidents (open first, by severity, newest first) and the counts."""
    where: list[str] = []
    args: list[object] = []
    if wanted.state in ("open", "resolved"):
        where.append("status = ?")
        args.append(wanted.state)
    if wanted.since is not None:
        where.append("updated_at >= ?")
        args.append(wanted.since)
    sql = _summary_sql(store)
    if where:
        sql += " WHERE " + " AND ".join(where)
    summaries = [Summary.of(r) for r in await _fetch(store, sql, args)]
    matched = [s for s in summaries if wanted.matches(s)]
    matched.sort(key=_sort_key)
    by_category = Counter(str(s.fields.get("category") or "-") for s in matched)
    by_cluster = Counter(str(s.fields.get("cluster") or "-") for s in matched)
    shown = [s.id for s in matched[offset : offset + limit]]
    records: dict[str, IncidentRecord] = {}
    if shown:
        marks = ", ".join("?" for _ in shown)
        rows = await _fetch(store, f"SELECT {INCIDENT_COLS} FROM incidents WHERE id IN ({marks})", shown)
        records = {r.id: r for r in map(incident_record, rows)}
    return Page(
        [records[i] for i in shown if i in records],
        len(matched),
        dict(by_category.most_common()),
        dict(sorted(by_cluster.items())),
        await latest_change(store),
    )


async def latest_change(store: Store) -> float:
    rows = await _fetch(store, "SELECT MAX(updated_at) FROM incidents")
    return float(rows[0][0] or 0.0) if rows else 0.0


async def changed_since(store: Store, since: float, *, limit: int = 200) -> list[IncidentRecord]:
    """Incidents changed after ``since``, oldest change first: what the live view pushes."""
    sql = f"SELECT {INCIDENT_COLS} FROM incidents WHERE updated_at > ? ORDER BY updated_at LIMIT ?"
    return [incident_record(r) for r in await _fetch(store, sql, (since, limit))]


async def find_incident(store: Store, ref: str) -> IncidentRecord | None:
    """By full id, or by a unique id prefix of at least 4 characters (as users paste them)."""
    record = await store.incident(ref)
    if record is not None or len(ref) < 4:
        return record
    escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    sql = f"SELECT {INCIDENT_COLS} FROM incidents WHERE id LIKE ? ESCAPE '\\' LIMIT 2"
    rows = await _fetch(store, sql, (escaped + "%",))
    return incident_record(rows[0]) if len(rows) == 1 else None


async def notifications(store: Store, incident_id: str) -> list[Notification]:
    """Who was told about this incident, when, and with what result (oldest first)."""
    needle = f'%"{incident_id}"%'
    sent = await _fetch(
        store,
        "SELECT receiver, target, sent_at FROM notification_log WHERE incident_ids LIKE ? ORDER BY id",
        (needle,),
    )
    out = [Notification(r[0], r[1], float(r[2]), "sent", "") for r in sent]
    unsent = await _fetch(
        store,
        "SELECT receiver, target, created_at, state, attempts, last_error FROM deliveries"
        " WHERE state IN ('pending', 'dead') AND payload LIKE ? ORDER BY id",
        (f'%"id":"{incident_id}"%',),
    )
    for r in unsent:
        detail = f"{r[4]} attempt(s)" + (f"; last error: {r[5]}" if r[5] else "")
        out.append(Notification(r[0], r[1], float(r[2]), str(r[3]), detail))
    out.sort(key=lambda n: n.at)
    return out


@dataclass(frozen=True)
class IncidentStory:
    """Everything ``incidents show`` and the incident page tell about one incident."""

    record: IncidentRecord
    timeline: list[tuple[float, str, dict[str, Any]]]
    notifications: list[Notification]
    silences: list[dict[str, Any]]
    """Silences whose matchers match this incident (live or expired), as stored."""
    linked: list[IncidentRecord] = field(default_factory=list)
    """Other incidents of the same correlation group (one cause, several victims)."""
    changes: int = 0
    """Every change recorded for the incident; the timeline keeps at most ``TIMELINE_KEPT``."""

    @property
    def timeline_dropped(self) -> int:
        """Changes between the first and the oldest kept one that the bounded timeline let go."""
        return max(0, self.changes - len(self.timeline))


async def story(store: Store, record: IncidentRecord, *, now: float) -> IncidentStory:
    timeline = await store.timeline(record.id)
    fields = _match_fields(record.data)
    silences = [
        s._asdict()
        for s in await store.silences(now=now, include_expired=True)
        if all(fnmatchcase(fields.get(k, ""), v) for k, v in s.matchers.items())
    ]
    linked: list[IncidentRecord] = []
    group = (record.data.get("diagnosis") or {}).get("group") or {}
    for other_id in group.get("incidents") or []:
        if other_id != record.id:
            other = await store.incident(str(other_id))
            if other is not None:
                linked.append(other)
    rows = await _fetch(store, "SELECT changes FROM incidents WHERE id=?", (record.id,))
    changes = int(rows[0][0]) if rows else len(timeline)
    return IncidentStory(record, timeline, await notifications(store, record.id), silences, linked, changes)


def _match_fields(data: dict[str, Any]) -> dict[str, str]:
    """The flat fields silences match on (as ``podsleuth.alert.model.field_values``, which the
    store may not import: it sits below alerting)."""
    owner = data.get("owner") or {}
    out = {k: str(data.get(k) or "") for k in SILENCE_FIELDS - {"owner", "workload"}}
    out["owner"] = str(owner.get("name") or "")
    out["workload"] = f"{owner.get('kind')}/{owner.get('name')}" if owner else ""
    for key, value in (data.get("labels") or {}).items():
        out[f"label.{key}"] = str(value)
    return out


def to_json(record: IncidentRecord) -> str:
    """The contract's incident shape, one line (``incidents list -o json``)."""
    return json.dumps(record.data, ensure_ascii=False, separators=(",", ":"))
