"""The agent's HTTP API: bearer auth, path confinement to the kubelet dirs, 503 when busy."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from podsleuth.node.check import CheckOptions
from podsleuth.node.server import AGENT, ServerConfig, make_app

TOKEN = "s3cret-token"
UID = "0b7e6a3c-1f2d-4c5e-9a8b-7c6d5e4f3a21"


@pytest.fixture
def kubelet(tmp_path: Path) -> Path:
    k = tmp_path / "kubelet"
    (k / "pods" / UID / "volumes" / "kubernetes.io~empty-dir" / "cache").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", k / "pods" / UID / "escape")
    return k


@pytest.fixture
async def client(tmp_path: Path, kubelet: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    log = tmp_path / "kern.log"
    log.write_text((Path(__file__).parent / "fixtures" / "oom-modern-global.txt").read_text())
    opts = CheckOptions(kubelet_dirs=(str(kubelet),), mount_pid="self", kernel_log=str(log),
                        probe_timeout=2.0)
    app = make_app(ServerConfig(options=opts, token_file=str(token), max_concurrent=1))
    async with TestClient(TestServer(app)) as c:
        yield c


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_unauthenticated_requests_are_rejected(client: TestClient) -> None:  # type: ignore[type-arg]
    for url in ("/v1/findings", "/v1/kernel-events", f"/v1/pods/{UID}/mounts", "/v1/probe?path=/x"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            r = await client.get(url, headers=headers)
            assert r.status == 401, (url, headers)
    assert (await client.get("/healthz")).status == 200


async def test_findings_and_kernel_events(client: TestClient) -> None:  # type: ignore[type-arg]
    r = await client.get("/v1/findings", headers=AUTH)
    assert r.status == 200
    body = await r.json()
    oom = [f for f in body["findings"] if f["kind"] == "oom-kill"]
    assert oom and oom[0]["pod_uid"] == "6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    assert set(oom[0]) == {
        "kind", "severity", "path", "pod_uid", "volume", "process", "detail", "data", "translations"
    }
    r = await client.get("/v1/kernel-events?since=1h", headers=AUTH)
    assert r.status == 200 and "events" in await r.json()
    assert (await client.get("/v1/kernel-events?since=bogus", headers=AUTH)).status == 400
    r = await client.get(f"/v1/pods/{UID}/mounts", headers=AUTH)
    assert (await r.json())["pod_uid"] == UID
    assert (await client.post("/v1/findings", headers=AUTH)).status == 405
    metrics = await (await client.get("/metrics")).text()
    assert "podsleuth_node_requests_total" in metrics and "podsleuth_node_findings" in metrics


async def test_probe_paths_confined_to_kubelet_dirs(client: TestClient, kubelet: Path) -> None:  # type: ignore[type-arg]
    inside = kubelet / "pods" / UID / "volumes" / "kubernetes.io~empty-dir" / "cache"
    r = await client.get("/v1/probe", params={"path": str(inside)}, headers=AUTH)
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["probe"]["status"] == "ok" and body["mounted"] is False
    for bad, status in [
        ("/etc/shadow", 403),
        (str(kubelet), 403),
        (f"{kubelet}/pods/../../outside", 400),
        (f"{kubelet}//pods", 400),
        ("relative/path", 400),
        (f"{kubelet}/pods/{UID}/escape", 403),  # symlink out of the kubelet dir
        ("", 400),
    ]:
        r = await client.get("/v1/probe", params={"path": bad}, headers=AUTH)
        assert r.status == status, (bad, r.status, await r.text())


async def test_busy_probe_slots_answer_503_at_once(client: TestClient) -> None:  # type: ignore[type-arg]
    agent = client.server.app[AGENT]
    await agent.slots.acquire()  # the only slot is taken by a (pretend) hung probe
    try:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        r = await client.get("/v1/findings", headers=AUTH)
        assert r.status == 503 and r.headers["Retry-After"] == "1"
        assert loop.time() - t0 < 1.0
    finally:
        agent.slots.release()
    assert (await client.get("/v1/findings", headers=AUTH)).status == 200
