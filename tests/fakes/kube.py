"""Fixtures shared by the tests that talk to the fake API server (imported by their conftests).

``no_leaked_tasks`` fails any test that leaves asyncio tasks behind (a watcher or an elector
that cannot be stopped is one that hangs shutdown).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from podsleuth.kube import KubeClient, connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.waiting import eventually


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield

    def left() -> set[asyncio.Task[object]]:
        return {t for t in asyncio.all_tasks() - before if t is not asyncio.current_task() and not t.done()}

    try:  # let cancelled tasks and closing connections finish
        await eventually(lambda: not left(), within=0.5)
    except AssertionError:
        pytest.fail(f"test left asyncio tasks behind: {left()}")


@pytest.fixture
async def api() -> AsyncIterator[FakeApiServer]:
    async with FakeApiServer(bookmark_interval=None) as server:
        yield server


@pytest.fixture
async def client(api: FakeApiServer, tmp_path: Path) -> AsyncIterator[KubeClient]:
    async with await connect(
        kubeconfig=str(api.kubeconfig_path(tmp_path)), context=None, request_timeout=5.0
    ) as c:
        yield c
