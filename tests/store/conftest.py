"""The store suite runs against every backend: SQLite (a temp file) and PostgreSQL (a real
server from Debian's packages, started once per session on loopback; a fresh database per test)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from podsleuth.store import Store, open_store
from podsleuth.store.migrations import POSTGRES_SCHEMA_VERSION, SCHEMA_VERSION
from tests.store.postgres_server import PostgresServer, postgres_server  # noqa: F401  (fixture)


@dataclass
class Backend:
    """One store database under test, whatever the engine."""

    name: str
    url: str
    schema_version: int
    read_version: Callable[[], int]
    write_version: Callable[[int], None]
    tables: Callable[[], set[str]]

    async def open(self) -> Store:
        return await open_store(self.url)


def _sqlite(path: Path) -> Backend:
    def read() -> int:
        with sqlite3.connect(path) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def write(version: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.close()

    def tables() -> set[str]:
        with sqlite3.connect(path) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    return Backend("sqlite", f"sqlite:///{path}", SCHEMA_VERSION, read, write, tables)


def _postgres(url: str) -> Backend:
    def read() -> int:
        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute("SELECT version FROM podsleuth_schema").fetchone()
            return int(row[0]) if row else 0

    def write(version: int) -> None:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS podsleuth_schema (version INTEGER NOT NULL)")
            conn.execute("DELETE FROM podsleuth_schema")
            conn.execute("INSERT INTO podsleuth_schema (version) VALUES (%s)", (version,))

    def tables() -> set[str]:
        with psycopg.connect(url, connect_timeout=10) as conn:
            rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'").fetchall()
            return {r[0] for r in rows}

    return Backend("postgresql", url, POSTGRES_SCHEMA_VERSION, read, write, tables)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return _sqlite(tmp_path / "a" / "p.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return _postgres(server.create_database())


OpenStore = Callable[[], Awaitable[Store]]
