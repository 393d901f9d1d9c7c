"""An incident open for months keeps a bounded timeline (its first change and the newest ones)
while its change counter, the ``delivery.sequence``, keeps counting; a store written before the
counter existed gets it from the timeline it has; ``incidents show`` says what was not kept."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import psycopg
from click.testing import CliRunner

from podsleuth.cli import cli
from podsleuth.store import Store, open_store
from podsleuth.store.base import TIMELINE_KEPT
from podsleuth.store.migrations import MIGRATIONS, POSTGRES_MIGRATIONS
from podsleuth.store.queries import story
from podsleuth.store.statements import to_postgres
from tests.store.conftest import Backend

RECEIVER = "ops"


def change(iid: str, event: str, count: int) -> dict[str, object]:
    incident = {"id": iid, "fingerprint": f"fp-{iid}", "category": "crash-loop", "count": count}
    return {"event": event, "incident": incident}


async def record(store: Store, iid: str, event: str, n: int) -> None:
    """One change, recorded and queued for a receiver in one transaction (as the notifier does)."""
    c = change(iid, event, n)
    await store.record_and_enqueue(c, [(RECEIVER, iid, event, c, float(n))], at=float(n))


async def sequences(store: Store, iid: str) -> list[int]:
    return [q.change["delivery"]["sequence"] for q in await store.queued(RECEIVER) if q.incident_id == iid]


async def test_a_long_open_incident_keeps_its_first_and_newest_changes(backend: Backend) -> None:
    store = await backend.open()
    try:
        await record(store, "loop", "incident.opened", 0)
        await record(store, "other", "incident.opened", 0)
        for n in range(1, 1001):
            await record(store, "loop", "incident.updated", n)
        timeline = await store.timeline("loop")
        assert len(timeline) == TIMELINE_KEPT
        assert (timeline[0][0], timeline[0][1]) == (0.0, "incident.opened")
        assert [at for at, _, _ in timeline[1:]] == [float(n) for n in range(1002 - TIMELINE_KEPT, 1001)]
        assert [data["count"] for _, _, data in timeline[-2:]] == [999, 1000]
        assert await sequences(store, "loop") == list(range(1, 1002))  # past the bound, never back
        assert await sequences(store, "other") == [1]
        assert len(await store.timeline("other")) == 1  # another incident's rows are not touched
        record_ = await store.incident("loop")
        assert record_ is not None
        told = await story(store, record_, now=2000.0)
        assert (told.changes, told.timeline_dropped) == (1001, 1001 - TIMELINE_KEPT)
        await record(store, "loop", "incident.resolved", 1001)
        assert (await sequences(store, "loop"))[-1] == 1002
        timeline = await store.timeline("loop")
        assert len(timeline) == TIMELINE_KEPT and timeline[-1][1] == "incident.resolved"
        assert timeline[0][1] == "incident.opened"
    finally:
        await store.aclose()


def _old_store(backend: Backend, timelines: dict[str, int]) -> None:
    """A store as the previous podsleuth left it (every step but the last), with ``timelines``:
    incident id -> its number of timeline rows (none deleted then)."""
    incident = "INSERT INTO incidents VALUES (?, ?, 'open', ?, 0, ?, NULL)"
    row = "INSERT INTO timeline (incident_id, at, event, data) VALUES (?, ?, ?, ?)"
    rows: list[tuple[str, tuple[object, ...]]] = []
    for iid, n in timelines.items():
        rows.append((incident, (iid, f"fp-{iid}", json.dumps(change(iid, "x", n)["incident"]), float(n - 1))))
        for k in range(n):
            event = "incident.opened" if k == 0 else "incident.updated"
            rows.append((row, (iid, float(k), event, json.dumps(change(iid, event, k)["incident"]))))
    if backend.name == "sqlite":
        path = Path(backend.url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as conn:
            for step in MIGRATIONS[:-1]:
                conn.executescript(step)
            conn.executemany(row, [a for sql, a in rows if sql == row])
            conn.executemany(incident, [a for sql, a in rows if sql == incident])
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
        conn.close()
        return
    with psycopg.connect(backend.url, autocommit=True, connect_timeout=10) as pg:
        for step in POSTGRES_MIGRATIONS[:-1]:
            for statement in step.split(";"):
                if statement.strip():
                    pg.execute(statement.encode())
        with pg.cursor() as cur:
            cur.executemany(to_postgres(incident), [a for sql, a in rows if sql == incident])
            cur.executemany(to_postgres(row), [a for sql, a in rows if sql == row])
    backend.write_version(len(POSTGRES_MIGRATIONS) - 1)


async def test_a_store_from_before_the_counter_counts_on_from_its_timeline(backend: Backend) -> None:
    _old_store(backend, {"long": TIMELINE_KEPT + 50, "short": 3})
    store = await backend.open()
    try:
        assert backend.read_version() == backend.schema_version
        for iid, count in (("long", TIMELINE_KEPT + 50), ("short", 3)):
            record_ = await store.incident(iid)
            assert record_ is not None
            told = await story(store, record_, now=1e6)
            assert (told.changes, told.timeline_dropped) == (count, 0)
        await record(store, "long", "incident.updated", 1000)
        await record(store, "short", "incident.updated", 1000)
        assert await sequences(store, "long") == [TIMELINE_KEPT + 51]
        assert await sequences(store, "short") == [4]
        long = await store.timeline("long")  # the first change after the upgrade trims the excess
        assert len(long) == TIMELINE_KEPT and long[0][1] == "incident.opened" and long[-1][0] == 1000.0
        assert [at for at, _, _ in long[1:-1]] == [float(k) for k in range(52, TIMELINE_KEPT + 50)]
        assert len(await store.timeline("short")) == 4
    finally:
        await store.aclose()


def test_incidents_show_says_how_many_changes_were_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    updates = 1400

    async def fill() -> None:
        store = await open_store(f"sqlite:///{path}")
        try:
            await store.record_change(change("crashloop01", "incident.opened", 0), at=0.0)
            for n in range(1, updates + 1):
                await store.record_change(change("crashloop01", "incident.updated", n), at=float(n))
        finally:
            await store.aclose()

    asyncio.run(fill())
    dropped = updates + 1 - TIMELINE_KEPT
    text = CliRunner().invoke(cli, ["incidents", "show", "crashloop01", "--store", str(path), "--lang", "en"])
    assert text.exit_code == 0, text.output
    timeline = text.output.split("TIMELINE\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert timeline[0].endswith("incident.opened")
    assert (
        timeline[1] == f"  …  {dropped:,} earlier changes not kept" == "  …  1,201 earlier changes not kept"
    )
    assert len(timeline) == TIMELINE_KEPT + 1
    zh = CliRunner().invoke(cli, ["incidents", "show", "crashloop01", "--store", str(path), "--lang", "zh"])
    assert f"{dropped:,} 条更早的变更未保留" in zh.output
    shown = CliRunner().invoke(cli, ["incidents", "show", "crashloop01", "--store", str(path), "-o", "json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["timeline_dropped"] == dropped and len(data["timeline"]) == TIMELINE_KEPT
    assert data["timeline"][0]["event"] == "incident.opened" and data["timeline"][-1]["at"] == float(updates)
