"""What ``watch`` tells the user: stdout (JSON lines or the live view) and its stderr notices.

Its own unit because stdout is a resource with a failure mode of its own: a slow reader (a full
pipe) must not freeze the event loop - lease renewal, watch reads and deliveries go on - so one
writer thread does every write, which also keeps the lines in order. ``Outbound`` is what an
active replica does with each change: print it, then queue it for alerting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

import click

from podsleuth.alert import failpoints
from podsleuth.alert.notifier import Notifier
from podsleuth.cli.election import Election
from podsleuth.cli.render import LiveView, use_color
from podsleuth.detect import Incident, IncidentChange
from podsleuth.errors import PodsleuthError
from podsleuth.metrics import WatchMetrics
from podsleuth.runner import WatchPipeline

log = logging.getLogger("podsleuth.cli.watch_job")
"""The logger the watcher's delivery messages always came from (operators grep for it)."""


def _plural(n: int, things: str) -> str:
    return f"{n:,} {things if n != 1 else things[:-1]}"


NOTICES = {
    "en": {
        "watching": "podsleuth: watching {scope} of {where}", "all": "all namespaces",
        "election": "podsleuth: leader election on lease {lease} as {identity}: silent until leading",
        "synced": "podsleuth: synced {counts} in {took:.1f} s; watching",
    },
    "zh": {
        "watching": "podsleuth：正在监视 {where} 的 {scope}", "all": "所有命名空间",
        "election": "podsleuth：在 Lease {lease} 上以 {identity} 参与选主：成为 leader 之前不输出",
        "synced": "podsleuth：已同步 {counts}，用时 {took:.1f} 秒；开始监视",
    },
}  # fmt: skip
"""The live view's stderr notices per language."""
ZH_COUNTS = {"pods": "{n:,} 个 Pod", "nodes": "{n:,} 个节点", "events": "{n:,} 个事件"}


class WatchOutput:
    """stdout of one ``watch`` (``fmt``: "json" or "text"), written by one thread; ``close``
    waits for the last line."""

    def __init__(self, fmt: str, *, stream: TextIO | None = None, lang: str = "en") -> None:
        self.fmt = fmt
        self._stream = sys.stdout if stream is None else stream
        self.view = LiveView(color=use_color(self._stream), lang=lang)
        self.lang = lang
        self._notices = NOTICES[lang]
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podsleuth-stdout")

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()

    async def _line(self, text: str) -> None:
        await asyncio.get_running_loop().run_in_executor(self._writer, self._write, text + "\n")

    async def change(self, change: IncidentChange) -> None:
        """One incident change: its contract JSON line, or the live view's lines if a person
        would notice anything changed."""
        if self.fmt == "json":
            text: str | None = json.dumps(change.to_contract(), ensure_ascii=False)
        else:
            text = self.view.render(change)
        if text is not None:
            await self._line(text)

    async def open_table(self, incidents: Sequence[Incident]) -> None:
        """The live view's closing table of what is still open (text only)."""
        if self.fmt == "text":
            await self._line(self.view.open_table(incidents))

    def announce_start(self, scope: tuple[str, ...], where: str, election: Election | None) -> None:
        """The live view's first lines: what is watched, and whether this replica may stay silent."""
        if self.fmt != "text":
            return
        words = self._notices
        click.echo(words["watching"].format(scope=", ".join(scope) or words["all"], where=where), err=True)
        if election is not None:
            lease = f"{election.namespace}/{election.name}"
            click.echo(words["election"].format(lease=lease, identity=election.identity), err=True)

    async def announce_sync(self, metrics: WatchMetrics, pipeline: WatchPipeline) -> None:
        """The live view's start line, once every initial list is in: the watch is really on."""
        if self.fmt != "text":
            return
        started = time.monotonic()
        await metrics.synced.wait()
        counts = pipeline.synced_counts
        resources = ("pods", "nodes", "events")
        if self.lang == "zh":
            parts = [ZH_COUNTS[r].format(n=counts.get(r, 0)) for r in resources]
        else:
            parts = [_plural(counts.get(r, 0), r) for r in resources]
        took = time.monotonic() - started
        separator = "、" if self.lang == "zh" else ", "
        click.echo(self._notices["synced"].format(counts=separator.join(parts), took=took), err=True)

    def close(self) -> None:
        self._writer.shutdown(wait=True)


class Outbound:
    """An active replica's publish step (``podsleuth.cli.leadership.Publish``): print the
    change, then hand it to the notifier; a store failure is logged, never fatal here (the
    notifier's backlog retries and the run's end reports what it never took)."""

    def __init__(self, output: WatchOutput, notifier: Notifier) -> None:
        self._output = output
        self._notifier = notifier

    async def __call__(self, change: IncidentChange) -> None:
        await self._output.change(change)
        failpoints.hit("publish.before-store")
        try:
            await self._notifier.submit(change.to_contract())
        except PodsleuthError as e:
            log.error("incident %s not queued for alerting: %s", change.incident.id, e)
        except (sqlite3.Error, OSError) as e:
            log.error("incident %s not queued for alerting: the store failed: %s", change.incident.id, e)
