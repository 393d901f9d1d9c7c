"""A running ``WatchPipeline`` against the fake API server, with the changes it emitted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from podsleuth.config import Settings, parse_settings
from podsleuth.detect import IncidentChange
from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.metrics import WatchMetrics
from podsleuth.runner import WatchPipeline
from tests.waiting import eventually

FAST = """
watch:
  backoff_max: 0.2s
  read_timeout: 5s
  thresholds: {stuck_creating: 2s, pending: 1s, resolve_after: 1s, terminating_extra: 1s}
"""


class Running:
    def __init__(self, api: FakeApiServer, pipeline: WatchPipeline, changes: list[IncidentChange]) -> None:
        self.api, self.pipeline, self.changes = api, pipeline, changes

    @property
    def metrics(self) -> WatchMetrics:
        return self.pipeline.metrics

    def of(self, kind: str, category: str | None = None) -> list[IncidentChange]:
        return [
            c
            for c in self.changes
            if c.kind == kind and (category is None or c.incident.category == category)
        ]

    async def until(self, predicate: Callable[[], bool], *, within: float = 10.0) -> None:
        try:
            await eventually(predicate, within=within)
        except AssertionError as e:
            pytest.fail(f"{e}; changes: {self.changes}")


@pytest.fixture
def settings() -> Settings:
    return parse_settings(FAST)


@pytest.fixture
async def running(settings: Settings, tmp_path: Path) -> AsyncIterator[Running]:
    changes: list[IncidentChange] = []

    async def emit(change: IncidentChange) -> None:
        changes.append(change)

    async with FakeApiServer(bookmark_interval=0.5) as api:
        client = await connect(kubeconfig=str(api.kubeconfig_path(tmp_path)), context=None)
        pipeline = WatchPipeline(client=client, settings=settings, emit=emit, metrics=WatchMetrics())
        task = asyncio.create_task(pipeline.run())
        try:
            yield Running(api, pipeline, changes)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pipeline.aclose()
            await client.aclose()
