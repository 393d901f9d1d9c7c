"""A watch answered with an empty 200 that closes at once (a misbehaving proxy) is not resumed
in a tight loop: the reflector backs off, and a healthy stream resets the backoff."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from podsleuth.kube import KubeClient, connect
from podsleuth.lab.fake_apiserver import write_kubeconfig
from podsleuth.watch import PODS, Reflector
from tests.waiting import eventually
from tests.watch.helpers import Driver, FakeSleep

EMPTY_LIST = b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]}'


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """Lists work; every watch gets 200 with an empty body."""
    watches: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        if request.query.get("watch") in ("true", "1"):
            watches.append(request.query.get("resourceVersion", ""))
            return web.Response(body=b"", content_type="application/json")
        return web.Response(body=EMPTY_LIST, content_type="application/json")

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", watches
    await runner.cleanup()


@pytest.fixture
async def proxy_client(proxy: tuple[str, list[str]], tmp_path: Path) -> AsyncIterator[KubeClient]:
    url, _ = proxy
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, token="t")
    async with await connect(kubeconfig=str(kubeconfig), context=None) as c:
        yield c


async def test_empty_streams_back_off_exponentially(
    proxy: tuple[str, list[str]], proxy_client: KubeClient
) -> None:
    sleep = FakeSleep()
    reflector = Reflector(client=proxy_client, resource=PODS, sleep=sleep, jitter=lambda: 1.0, backoff_max=30)
    async with Driver(reflector):
        await eventually(lambda: len(sleep.delays) >= 5, within=10, what="a backoff between empty watches")
    assert all(d > 0 for d in sleep.delays)
    assert sleep.delays[:5] == sorted(sleep.delays[:5]), "the delay grows"
    assert sleep.delays[4] > sleep.delays[0]
