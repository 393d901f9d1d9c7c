"""Fixtures of the HA tests: a fake API server and clients to it, a PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from podsleuth.kube import KubeClient, connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.store.postgres_server import PostgresServer, running_server, skip_reason

LEASES = "coordination.k8s.io/leases"


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    for _ in range(50):
        left = {t for t in asyncio.all_tasks() - before if t is not asyncio.current_task() and not t.done()}
        if not left:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"test left asyncio tasks behind: {left}")


@pytest.fixture
async def api() -> AsyncIterator[FakeApiServer]:
    async with FakeApiServer(bookmark_interval=None) as server:
        yield server


@pytest.fixture
async def client(api: FakeApiServer, tmp_path: Path) -> AsyncIterator[KubeClient]:
    async with await connect(kubeconfig=str(api.kubeconfig_path(tmp_path)), context=None,
                             request_timeout=5.0) as c:  # fmt: skip
        yield c


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with running_server() as server:
        yield server
