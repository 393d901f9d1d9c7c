"""A hostile server streaming initial events forever, never the initial-events-end bookmark:
the reflector counts the initial phase's bytes while reading, gives up past the list cap (one
log line), drops what it held and lists again with backoff; memory never passes the bound."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from podsleuth.kube import KubeClient, connect
from podsleuth.kube.client import DEFAULT_MAX_LIST
from podsleuth.lab.fake_apiserver import write_kubeconfig
from podsleuth.watch import PODS, Reflector
from tests.waiting import eventually
from tests.watch.helpers import Driver, FakeSleep, Observed, pod

CAP = 64 * 1024
READ = 1 << 20
"""The client's read buffer: the bound is the cap plus at most one network read."""


def _added(n: int) -> bytes:
    return json.dumps({"type": "ADDED", "object": pod(f"p-{n}")}).encode() + b"\n"


@pytest.fixture
async def endless() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """Every streaming-list watch gets ADDED events forever (until the client hangs up)."""
    watches: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        watches.append(dict(request.query))
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        n = 0
        try:
            while True:
                await resp.write(b"".join(_added(n + i) for i in range(50)))
                n += 50
                await asyncio.sleep(0)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", watches
    await runner.cleanup()


@pytest.fixture
async def endless_client(
    endless: tuple[str, list[dict[str, str]]], tmp_path: Path
) -> AsyncIterator[KubeClient]:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", endless[0], token="t")
    async with await connect(kubeconfig=str(kubeconfig), context=None) as c:
        yield c


def test_the_default_cap_is_the_paginated_list_cap(endless_client: KubeClient) -> None:
    reflector = Reflector(client=endless_client, resource=PODS)
    assert reflector.max_list == DEFAULT_MAX_LIST == endless_client.max_list


async def test_an_endless_initial_phase_is_cut_at_the_cap_and_relisted(
    endless: tuple[str, list[dict[str, str]]], endless_client: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    _, watches = endless
    sleep, observed = FakeSleep(), Observed()
    reflector = Reflector(client=endless_client, resource=PODS, streaming_list=True, max_list=CAP,
                          sleep=sleep, jitter=lambda: 1.0, observer=observed)
    with caplog.at_level(logging.INFO, logger="podsleuth.watch"):
        async with Driver(reflector):
            await eventually(lambda: len(observed.restarts) >= 3, within=10, what="three restarts")
    assert {reason for _, reason in observed.restarts} == {"error"}
    assert not reflector.synced and reflector.cache == {} and reflector.resource_version is None
    # every retry is a new streaming list, after a backoff delay
    assert all(w.get("sendInitialEvents") == "true" and "resourceVersion" not in w for w in watches)
    assert len(sleep.delays) >= 3 and all(d > 0 for d in sleep.delays)
    lines = [r.getMessage() for r in caplog.records if "initial-events-end" in r.getMessage()]
    assert len(lines) >= 3 and len(lines) == len([r for r in caplog.records if r.levelno >= logging.WARNING])
    for line in lines:  # one line per restart, naming the cap; what was held stayed under the bound
        assert "exceeds 65536 bytes" in line and "re-listing" in line
        match = re.search(r"\((\d+) bytes read\)", line)
        assert match is not None
        assert CAP < int(match.group(1)) <= CAP + READ
