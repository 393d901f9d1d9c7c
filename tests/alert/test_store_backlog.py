"""The in-memory backlog of store writes: kept in order while the store fails, written when it
answers again, bounded - an overflow drops the oldest, counted and logged."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from podsleuth.alert.backlog import Backlog, StoreHealth, Write
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import change


async def test_backlog_keeps_order_bounds_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await SqliteStore.open(tmp_path / "s.db")
    disk_full = True

    async def write(entry: Write) -> None:  # the store behind a disk that fills, then frees
        if disk_full:
            raise OSError(errno.ENOSPC, "No space left on device")
        await store.record_and_enqueue(entry.change, entry.items, at=entry.at)

    registry = CollectorRegistry()
    health = StoreHealth(registry)
    written: list[str] = []
    backlog = Backlog(
        write, health, capacity=3, on_written=lambda w: written.append(w.change["incident"]["id"])
    )
    for n in range(5):
        c = change(id=f"i{n}")
        await backlog.submit(Write(c, [("hook", f"i{n}", "incident.opened", c, 0.0)], float(n)))
    assert len(backlog) == 3 and backlog.dropped == 2
    assert health.problem is not None and "No space left" in health.problem
    assert registry.get_sample_value("podsleuth_store_degraded") == 1.0
    assert registry.get_sample_value("podsleuth_store_backlog_dropped_total") == 2.0
    assert registry.get_sample_value("podsleuth_store_backlog") == 3.0
    assert "store backlog full" in caplog.text
    assert not await backlog.flush()  # still full: nothing lost from the backlog
    assert len(backlog) == 3
    disk_full = False
    c = change(id="i5")
    await backlog.submit(Write(c, [("hook", "i5", "incident.opened", c, 0.0)], 5.0))  # behind the others
    assert len(backlog) == 3 and backlog.dropped == 3  # still bounded: i2 went
    assert await backlog.flush()
    assert written == ["i3", "i4", "i5"]  # in order, the newest last
    assert [r.incident_id for r in await store.queued("hook")] == ["i3", "i4", "i5"]
    assert health.problem is None and registry.get_sample_value("podsleuth_store_degraded") == 0.0
    await store.aclose()
