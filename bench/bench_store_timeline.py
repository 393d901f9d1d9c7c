"""What bounding the timeline costs per recorded change, on SQLite.

The store records an incident change as one transaction: upsert the incident, insert a timeline
row, and now also read the incident's change counter and, past ``TIMELINE_KEPT`` changes,
delete the middle row(s) that fell out of the kept window (``SqliteStore._record``). The
reference, measured in the same run on an identical file, is the plain insert the store did
before: the upsert and the timeline insert, nothing else (whose timeline then grows forever).

Two shapes, rounds of both interleaved so the machine's noise hits both alike:

* ``long``: one incident changing over and over (a crash loop for months): past the bound,
  every change deletes one row;
* ``many``: many incidents with a few changes each (the usual cluster): below the bound, the
  counter read is the only extra.

Each change carries a ~4 KB incident document, about what the watcher stores.

    python bench/bench_store_timeline.py [--changes 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from podsleuth.store.base import TIMELINE_KEPT
from podsleuth.store.common import incident_rows
from podsleuth.store.sqlite import SqliteStore
from podsleuth.store.statements import SQLITE

Record = Callable[[sqlite3.Connection, dict[str, object], float], None]


def plain(conn: sqlite3.Connection, change: dict[str, object], at: float) -> None:
    """The insert before the bound: incident upsert and timeline row."""
    upsert, timeline = incident_rows(change, at)
    conn.execute(SQLITE.upsert_incident, upsert)
    conn.execute(SQLITE.insert_timeline, timeline)


def change(iid: str, n: int) -> dict[str, object]:
    message = "Back-off restarting failed container app in pod shop/api-7d9f " * 60
    incident = {
        "id": iid,
        "fingerprint": f"fp-{iid}",
        "category": "crash-loop",
        "count": n,
        "message": message,
    }
    return {"event": "incident.updated" if n else "incident.opened", "incident": incident}


def run(conn: sqlite3.Connection, record: Record, changes: list[dict[str, object]], start: float) -> float:
    """Seconds per change, each change its own transaction (as the store commits them)."""
    began = time.perf_counter()
    for k, c in enumerate(changes):
        conn.execute("BEGIN IMMEDIATE")
        record(conn, c, start + k)
        conn.execute("COMMIT")
    return (time.perf_counter() - began) / len(changes)


def shapes(total: int) -> dict[str, list[dict[str, object]]]:
    per_incident = 10
    return {
        "long": [change("loop", n) for n in range(total)],
        "many": [change(f"i{n // per_incident}", n % per_incident) for n in range(total)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=20000, help="changes per shape (all rounds)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    records: dict[str, Record] = {"plain": plain, "bounded": SqliteStore._record}
    with tempfile.TemporaryDirectory() as tmp:
        for shape, changes in shapes(args.changes).items():
            conns = {name: SqliteStore._connect(str(Path(tmp) / f"{shape}-{name}.db")) for name in records}
            times: dict[str, list[float]] = {name: [] for name in records}
            size = len(changes) // args.rounds
            for r in range(args.rounds):
                part = changes[r * size : (r + 1) * size]
                for name, record in records.items():
                    times[name].append(run(conns[name], record, part, float(r * size)))
            rows = {n: c.execute("SELECT COUNT(*) FROM timeline").fetchone()[0] for n, c in conns.items()}
            for conn in conns.values():
                conn.close()
            per = {n: statistics.median(t) * 1e6 for n, t in times.items()}
            print(
                json.dumps(
                    {
                        "shape": shape,
                        "changes": size * args.rounds,
                        "timeline_kept": TIMELINE_KEPT,
                        "plain_us_per_change": round(per["plain"], 1),
                        "bounded_us_per_change": round(per["bounded"], 1),
                        "ratio": round(per["bounded"] / per["plain"], 3),
                        "timeline_rows": rows,
                    }
                )
            )


if __name__ == "__main__":
    main()
