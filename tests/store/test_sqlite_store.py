"""The SQLite store: versioned schema, state that survives a reopen, concurrent writers (WAL)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from podsleuth.errors import ConfigError
from podsleuth.store import default_store_path, open_store, sqlite_path
from podsleuth.store.base import Silence
from podsleuth.store.migrations import SCHEMA_VERSION
from podsleuth.store.sqlite import SqliteStore


def incident_change(event: str, iid: str) -> dict[str, object]:
    return {"event": event, "incident": {"id": iid, "fingerprint": f"fp-{iid}", "category": "crash-loop"}}


async def test_schema_version_and_wal(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'a' / 'p.db'}")
    await store.aclose()
    conn = sqlite3.connect(tmp_path / "a" / "p.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"incidents", "timeline", "queue", "deliveries", "notification_log", "silences"} <= tables
    conn.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        await SqliteStore.open(path)


async def test_open_incidents_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    store = await SqliteStore.open(path)
    await store.record_change(incident_change("incident.opened", "a"), at=1.0)
    await store.record_change(incident_change("incident.opened", "b"), at=2.0)
    await store.record_change(incident_change("incident.resolved", "b"), at=3.0)
    await store.aclose()
    store = await SqliteStore.open(path)
    assert [i.id for i in await store.open_incidents()] == ["a"]
    assert [e for _, e, _ in await store.timeline("b")] == ["incident.opened", "incident.resolved"]
    await store.aclose()


async def test_concurrent_writers(tmp_path: Path) -> None:
    """The CLI adds silences while the watcher writes incidents to the same file."""
    path = tmp_path / "p.db"
    a, b = await SqliteStore.open(path), await SqliteStore.open(path)

    async def incidents() -> None:
        for n in range(200):
            await a.record_change(incident_change("incident.opened", f"i{n}"), at=float(n))

    async def silences() -> None:
        for n in range(50):
            await b.add_silence(Silence(f"s{n}", {"namespace": "x"}, 0.0, 10.0, "", "me", 0.0))

    await asyncio.gather(incidents(), silences())
    assert len(await b.open_incidents()) == 200
    assert len(await a.silences(now=1.0)) == 50
    assert await a.expire_silence("s7", at=2.0)
    assert len(await b.silences(now=3.0)) == 49
    await a.aclose()
    await b.aclose()


def test_store_urls(tmp_path: Path) -> None:
    assert sqlite_path("sqlite:///var/lib/podsleuth/p.db") == "/var/lib/podsleuth/p.db"
    assert sqlite_path("sqlite:////var/lib/p.db") == "/var/lib/p.db"
    assert sqlite_path("sqlite:///./p.db") == "./p.db"
    assert sqlite_path("sqlite:///:memory:") == ":memory:"
    assert sqlite_path("/tmp/x.db") == "/tmp/x.db"
    with pytest.raises(ConfigError, match="PostgreSQL"):
        sqlite_path("postgresql://u@db/x")
    with pytest.raises(ConfigError, match="scheme"):
        sqlite_path("mysql://db/x")
    env = {"XDG_DATA_HOME": str(tmp_path), "HOME": "/nonexistent"}
    assert default_store_path(env=env) == tmp_path / "podsleuth" / "podsleuth.db"
    assert default_store_path(env={"HOME": "/home/u"}) == Path("/home/u/.local/share/podsleuth/podsleuth.db")
