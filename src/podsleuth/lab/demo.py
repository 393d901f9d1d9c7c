"""The demo cluster: the fake API server playing ``demo_cluster.demo_steps`` in real time.

``podsleuth watch --demo`` takes everything demo-specific from here (its kubeconfig, default
store and duration), so the generic watch path (``podsleuth.cli.watch_job``) never imports the
lab: the demo is one more cluster to watch, chosen by the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from podsleuth.lab.demo_cluster import demo_logs, demo_steps
from podsleuth.lab.fake_apiserver import FakeApiServer

DEMO_DURATION = 12.0
"""Seconds ``watch --demo`` runs unless ``--duration`` says otherwise: every step has played."""
DEMO_STORE = "sqlite:///:memory:"
"""The demo's store unless one is configured: nothing of a demo lands on disk."""
DEMO_CLUSTER = "demo"
"""The cluster name the demo's incidents carry when the config names none."""


class DemoCluster:
    """``async with DemoCluster(now=...) as c:`` serves ``c.api`` and publishes each step on time."""

    def __init__(self, *, now: datetime) -> None:
        self.api = FakeApiServer(bookmark_interval=5.0)
        self._steps = sorted(demo_steps(now), key=lambda s: s.at)
        self._player: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DemoCluster:
        await self.api.start()
        for namespace, pod, container, text in demo_logs():
            self.api.set_log(namespace, pod, text, container=container, previous=True)
        for step in self._steps:
            if step.at <= 0:
                self.api.put(step.plural, step.obj)
        self._player = asyncio.create_task(self._play())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
        await self.api.stop()

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for step in self._steps:
            if step.at <= 0:
                continue
            await asyncio.sleep(max(0.0, start + step.at - loop.time()))
            self.api.put(step.plural, step.obj)


@contextlib.asynccontextmanager
async def demo_kubeconfig() -> AsyncIterator[str]:
    """A kubeconfig (a temporary file) pointing at a demo cluster that plays while in use."""
    with tempfile.TemporaryDirectory(prefix="podsleuth-demo-") as tmp:
        async with DemoCluster(now=datetime.now(UTC)) as cluster:
            yield str(cluster.api.kubeconfig_path(Path(tmp)))


def record_demo(store: Path, *, seconds: float = 8.0, data_dir: Path | None = None) -> list[dict[str, Any]]:
    """Run the real ``podsleuth watch --demo`` into the SQLite file ``store`` and return the
    contract incidents it printed, latest state of each, in first-seen order: a store written by
    the real pipeline, for the console's tests, benchmark and screenshots. ``data_dir`` becomes
    the process's ``XDG_DATA_HOME`` (so nothing lands in the user's own data dir)."""
    env = dict(os.environ, XDG_DATA_HOME=str(data_dir or store.parent))
    run = subprocess.run(
        [sys.executable, "-m", "podsleuth", "watch", "--demo", "--duration", str(seconds), "--output", "json",
         "--store", f"sqlite:///{store}"],
        capture_output=True, text=True, timeout=seconds + 90, env=env,
    )  # fmt: skip
    if run.returncode != 0:
        raise RuntimeError(f"watch --demo failed ({run.returncode}): {run.stderr[-2000:]}")
    latest: dict[str, dict[str, Any]] = {}
    for line in run.stdout.splitlines():
        incident = json.loads(line)["incident"]
        latest[incident["id"]] = incident
    return list(latest.values())
