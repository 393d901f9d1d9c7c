"""A stored silence whose ``matchers`` column is not a JSON object of strings (written by hand or
by an older version) is skipped alone, with one warning naming it, on every backend."""

from __future__ import annotations

import logging
import sqlite3

import psycopg
import pytest

from podsleuth.store.base import Silence
from tests.store.conftest import Backend

BAD = {
    "bad-json": '{"namespace": ',
    "bad-list": '["namespace", "x"]',
    "bad-value": '{"namespace": 3}',
    "bad-null": "null",
}


def _insert_raw(backend: Backend, sid: str, matchers: str) -> None:
    row = (sid, matchers, 0.0, 5000.0, "", "hand", 0.0)
    if backend.name == "sqlite":
        conn = sqlite3.connect(backend.url.removeprefix("sqlite:///"))
        with conn:
            conn.execute("INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        conn.close()
        return
    with psycopg.connect(backend.url, autocommit=True, connect_timeout=10) as pg:
        pg.execute("INSERT INTO silences VALUES (%s, %s, %s, %s, %s, %s, %s)", row)


async def test_a_bad_matchers_row_is_skipped_alone(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    store = await backend.open()
    try:
        await store.add_silence(Silence("good-1", {"namespace": "x"}, 0.0, 5000.0, "", "me", 0.0))
        for sid, matchers in BAD.items():
            _insert_raw(backend, sid, matchers)
        await store.add_silence(Silence("good-2", {"pod": "web-*"}, 0.0, 5000.0, "", "me", 0.0))
        with caplog.at_level(logging.WARNING, logger="podsleuth.store"):
            live = await store.silences(now=1.0)
            every = await store.silences(now=1.0, include_expired=True)
    finally:
        await store.aclose()
    assert sorted(s.id for s in live) == ["good-1", "good-2"]
    assert sorted(s.id for s in every) == ["good-1", "good-2"]
    assert {s.id: s.matchers for s in live}["good-2"] == {"pod": "web-*"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # one line per bad row per read (two reads)
    assert len(warnings) == 2 * len(BAD)
    for sid in BAD:
        assert sum(sid in w for w in warnings) == 2
