"""The incident store: incidents, their timeline, the alert outbox, notification log, silences.

``open_store(url)`` is the one entry point; ``sqlite:///path.db`` (or a bare path) is served by
SQLite, ``postgresql://`` (or ``postgres://``) by PostgreSQL through the same ``Store`` Protocol,
which several watchers can share (high availability, see docs/ha.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from podsleuth.errors import ConfigError
from podsleuth.store.base import Store
from podsleuth.store.sqlite import SqliteStore

__all__ = ["SqliteStore", "Store", "default_store_path", "default_store_url", "is_postgres", "open_store",
           "sqlite_path"]


def default_store_path(*, env: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/podsleuth/podsleuth.db``, else ``~/.local/share/podsleuth/podsleuth.db``."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "podsleuth" / "podsleuth.db"


def default_store_url() -> str:
    return f"sqlite:///{default_store_path()}"


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:`` URL (``sqlite:///abs``, ``sqlite:///:memory:``) or bare path."""
    if url.startswith("sqlite:///"):
        rest = url.removeprefix("sqlite:///")
        if rest == ":memory:" or rest.startswith("."):
            return rest
        return "/" + rest.lstrip("/")
    if url.startswith("sqlite://"):
        raise ConfigError(f"store URL {url!r}: use sqlite:///absolute/path.db or sqlite:///./relative.db")
    if "://" in url:
        scheme = url.split("://", 1)[0]
        if scheme.startswith("postgres"):
            raise ConfigError("store URL: a PostgreSQL URL is not a SQLite path; open it with open_store")
        raise ConfigError(f"store URL: unsupported scheme {scheme!r}; use sqlite:///path.db")
    return url


def is_postgres(url: str | None) -> bool:
    return bool(url) and str(url).split("://", 1)[0] in ("postgresql", "postgres")


async def open_store(url: str | None = None) -> Store:
    """Open (creating and migrating as needed) the store at ``url``; ``None`` = the default file."""
    if url and is_postgres(url):
        from podsleuth.store.postgres import PostgresStore

        return await PostgresStore.open(url)
    path = sqlite_path(url) if url else str(default_store_path())
    return await SqliteStore.open(path)
