"""Helpers of the watch tests: sample objects, a reflector driver, fake sleep and observer."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from podsleuth.kube import KubeClient, connect
from podsleuth.lab.fake_apiserver import write_kubeconfig
from podsleuth.watch.changes import Change, Synced
from podsleuth.watch.reflector import Reflector


def pod(
    name: str,
    *,
    ns: str = "default",
    node: str = "node-1",
    phase: str = "Running",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "web"}},
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": "nginx:1.25"}]},
        "status": {"phase": phase},
    }


class FakeSleep:
    """Records requested backoff delays and advances fake time by them: no real time passes,
    only a yield to the loop so that a retry loop cannot starve the test driving it."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 0.0

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        await asyncio.sleep(0)


class Observed:
    """A WatchObserver that counts."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()
        self.restarts: list[tuple[str, str]] = []
        self.synced: list[str] = []
        self.bad: list[tuple[str, str]] = []
        self.skipped: list[tuple[str, str]] = []

    def on_events(self, resource: str, count: int) -> None:
        self.events[resource] += count

    def on_restart(self, resource: str, reason: str) -> None:
        self.restarts.append((resource, reason))

    def on_synced(self, resource: str) -> None:
        self.synced.append(resource)

    def on_bad_line(self, resource: str, reason: str) -> None:
        self.bad.append((resource, reason))

    def on_object_skipped(self, resource: str, reason: str) -> None:
        self.skipped.append((resource, reason))


class Driver:
    """Runs a reflector in a task; tests await what it yields, with timeouts."""

    def __init__(self, reflector: Reflector[Any]) -> None:
        self.reflector = reflector
        self.queue: asyncio.Queue[Change[Any] | Synced] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Driver:
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def _run(self) -> None:
        async for item in self.reflector:
            self.queue.put_nowait(item)

    async def next(self, within: float = 5.0) -> Change[Any] | Synced:
        return await asyncio.wait_for(self.queue.get(), within)

    async def until_synced(self, within: float = 5.0) -> list[Change[Any]]:
        """The changes before the next Synced marker."""
        changes: list[Change[Any]] = []
        async with asyncio.timeout(within):
            while not isinstance(item := await self.queue.get(), Synced):
                changes.append(item)
        return changes

    async def changes(self, n: int, within: float = 5.0) -> list[Change[Any]]:
        out: list[Change[Any]] = []
        async with asyncio.timeout(within):
            while len(out) < n:
                item = await self.queue.get()
                if isinstance(item, Change):
                    out.append(item)
        return out


def names(changes: list[Change[Any]]) -> list[tuple[str, str]]:
    return [(c.kind, (c.new or c.old).metadata.name) for c in changes]  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def client_of(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], tmp_path: Path
) -> AsyncIterator[KubeClient]:
    """A KubeClient connected to a one-route HTTP server answering every GET with ``handler``:
    for what no API server would send (an HTML proxy page, a connection cut mid-answer)."""
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{runner.addresses[0][1]}")
        async with await connect(kubeconfig=str(kubeconfig), context=None) as client:
            yield client
    finally:
        await runner.cleanup()
