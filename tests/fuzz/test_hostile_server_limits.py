"""A broken or hostile API server cannot push the watcher's memory past the documented caps:
an endless list body, an endless chain of list pages and an endless watch line are refused or
skipped while reading (docs/configuration.md "Limits against a hostile API server")."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from podsleuth.kube.client import KubeClient, OversizeLine, ResponseTooLarge, connect

MiB = 1 << 20
CAP = 8 * MiB


async def _endless_body(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    await resp.write(b'{"kind":"PodList","metadata":{},"items":[')
    chunk = b'{"metadata":{"name":"p"}},' * (MiB // 26)
    for _ in range(10_000):  # 10 GB if nobody stops reading
        await resp.write(chunk)
    return resp


async def _endless_pages(request: web.Request) -> web.Response:
    n = int(request.query.get("continue", "0"))
    pad = "x" * MiB
    items = f'[{{"metadata":{{"name":"{pad}"}}}}]'
    body = f'{{"kind":"PodList","metadata":{{"continue":"{n + 1}"}},"items":{items}}}'
    return web.Response(text=body, content_type="application/json")


async def _endless_line(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    await resp.write(b'{"type":"ADDED","object":{"metadata":{"name":"')
    for _ in range(64):  # a 64 MiB line, then a good one
        await resp.write(b"a" * MiB)
    await resp.write(b'"}}}\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}\n')
    return resp


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[KubeClient]:
    app = web.Application()
    app.router.add_get("/body", _endless_body)
    app.router.add_get("/pages", _endless_pages)
    app.router.add_get("/line", _endless_line)
    async with TestServer(app, host="127.0.0.1") as server:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{server.port}'}}}}]\n"
            "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
            "current-context: x\n"
        )
        kube = await connect(kubeconfig=str(kubeconfig), context=None, request_timeout=60)
        kube.max_response = CAP
        kube.max_list = 4 * CAP
        try:
            yield kube
        finally:
            await kube.aclose()


async def test_an_endless_list_body_is_refused_at_the_cap(client: KubeClient) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge, match="exceeds 8 MiB"):
            await asyncio.wait_for(client.get("/body", {"limit": 500}), 30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * CAP, f"peak {peak / MiB:.0f} MiB while refusing a body capped at 8 MiB"


async def test_an_endless_chain_of_pages_is_refused_at_the_list_cap(client: KubeClient) -> None:
    params: dict[str, str | int] = {"limit": 500}
    pages = 0
    with pytest.raises(ResponseTooLarge, match="over its pages"):
        while pages < 1000:
            await client.get("/pages", params)
            pages += 1
            params["continue"] = str(pages)
    assert 25 <= pages <= 33  # 32 MiB of ~1 MiB pages
    # a new list (no continue token) starts its count again
    await client.get("/pages", {"limit": 500})


async def test_an_endless_watch_line_is_skipped_not_buffered(client: KubeClient) -> None:
    tracemalloc.start()
    seen: list[object] = []
    try:
        async for batch in client.stream_batches("/line", {}, read_timeout=30, max_line=CAP):
            seen += [b if isinstance(b, OversizeLine) else bytes(b) for b in batch]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(seen[0], OversizeLine) and seen[0].size > 64 * MiB
    assert seen[1] == b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}'
    assert peak < 3 * CAP, f"peak {peak / MiB:.0f} MiB while skipping a 64 MiB line"
