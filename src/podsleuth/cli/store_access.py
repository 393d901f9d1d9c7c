"""Opening the store for a command, with every way it can be unusable as one line (exit 2).

A ``--store`` that is a directory, on a read-only file system, not a database, of a newer
schema, or a PostgreSQL server that refuses us is the user's environment, not a bug: the command
says which store and why, never a traceback (``ResourceError``).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

from podsleuth.errors import PodsleuthError, ResourceError
from podsleuth.redact import redact
from podsleuth.store import Store, default_store_path, is_postgres, open_store, sqlite_path

T = TypeVar("T")


def _where(store_url: str | None) -> str:
    return redact(store_url) if store_url else f"the default store {default_store_path()}"


def check_sqlite_path(store_url: str | None) -> None:
    """Refuse a SQLite path that can never be a database file, before SQLite says something vague."""
    if is_postgres(store_url):
        return
    path = sqlite_path(store_url) if store_url else str(default_store_path())
    if os.path.isdir(path):
        raise ResourceError(f"store {_where(store_url)}: is a directory, not a database file")


def _why(store_url: str | None) -> str:
    """SQLite's "unable to open database file" hides the usual cause; name it when it is this."""
    if is_postgres(store_url):
        return ""
    path = sqlite_path(store_url) if store_url else str(default_store_path())
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return " (its directory is on a read-only file system; SQLite needs to write next to the file)"
    except OSError:
        return f" (directory {directory} is not usable)"
    return ""


async def open_cli_store(store_url: str | None) -> Store:
    """``open_store`` with its failures mapped to ``ResourceError`` naming the (redacted) store."""
    check_sqlite_path(store_url)
    try:
        return await open_store(store_url)
    except PodsleuthError:
        raise
    except OSError as e:
        raise ResourceError(f"store {_where(store_url)}: {e.strerror or e}") from e
    except (sqlite3.Error, RuntimeError, ValueError) as e:
        # RuntimeError: "store schema version N is newer than this podsleuth supports"
        raise ResourceError(f"store {_where(store_url)}: {' '.join(str(e).split())}{_why(store_url)}") from e
    except Exception as e:
        if type(e).__module__.partition(".")[0] == "asyncpg":
            raise ResourceError(f"store {_where(store_url)}: {type(e).__name__}: {e}") from e
        raise


def run_on_store(store_url: str | None, fn: Callable[[Store], Awaitable[T]]) -> T:
    """Open the store (as ``open_cli_store``), run ``fn`` on it, close it: one command's work."""

    async def main() -> T:
        store = await open_cli_store(store_url)
        try:
            return await fn(store)
        finally:
            await store.aclose()

    return asyncio.run(main())
