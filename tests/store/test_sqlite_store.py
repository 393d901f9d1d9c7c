"""The SQLite store specifically: WAL, file URLs (the backend-neutral suite is test_store_suite.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from podsleuth.errors import ConfigError
from podsleuth.store import default_store_path, open_store, sqlite_path
from podsleuth.store.migrations import SCHEMA_VERSION


async def test_schema_version_and_wal(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'a' / 'p.db'}")
    await store.aclose()
    conn = sqlite3.connect(tmp_path / "a" / "p.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"incidents", "timeline", "queue", "deliveries", "notification_log", "silences"} <= tables
    conn.close()


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
