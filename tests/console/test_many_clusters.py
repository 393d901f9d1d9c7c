"""Watchers of two clusters share one PostgreSQL store and one console: incidents are stamped
with their cluster, never collide (the same workload failing the same way in both clusters is
two incidents), and both `incidents list` and the console filter by cluster."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from podsleuth.lab.demo_cluster import demo_steps
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.store import open_store
from tests.fakes.net import free_port
from tests.store.postgres_server import PostgresServer, postgres_server  # noqa: F401  (fixture)
from tests.waiting import eventually


async def _watch(kubeconfig: Path, store_url: str, config: Path) -> list[dict[str, object]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podsleuth", "watch", "--kubeconfig", str(kubeconfig), "--config", str(config),
        "--store", store_url, "--duration", "6", "-o", "json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode == 0, err.decode()[-2000:]
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_two_clusters_one_store_one_console(postgres_server: PostgresServer, tmp_path: Path) -> None:  # noqa: F811
    store_url = postgres_server.create_database()
    (etl,) = [s.obj for s in demo_steps(datetime.now(UTC)) if s.obj["metadata"]["name"].startswith("etl-")]
    async with FakeApiServer() as eu_api, FakeApiServer() as us_api:
        runs = []
        for name, api in (("eu-west", eu_api), ("us-east", us_api)):
            api.put("pods", etl)  # the very same workload failing the same way in both clusters
            config = tmp_path / f"{name}.yaml"
            config.write_text(f"cluster: {{name: {name}}}\nnode_agents: {{discovery: off}}\n")
            runs.append(_watch(api.kubeconfig_path(_mkdir(tmp_path / name)), store_url, config))
        eu_lines, us_lines = await asyncio.gather(*runs)
    eu = {line["incident"]["id"] for line in eu_lines}  # type: ignore[index]
    us = {line["incident"]["id"] for line in us_lines}  # type: ignore[index]
    assert eu and us and not eu & us, "one incident per cluster, ids never collide"
    assert {line["incident"]["cluster"] for line in eu_lines} == {"eu-west"}  # type: ignore[index]

    listed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podsleuth", "incidents", "list", "--store", store_url, "--cluster", "us-east",
        "-o", "json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(listed.communicate(), timeout=60)
    assert listed.returncode == 0, err.decode()
    assert {json.loads(line)["id"] for line in out.decode().splitlines()} == us

    store = await open_store(store_url)
    try:
        records = await store.open_incidents()
        assert len({r.fingerprint for r in records}) == len(records) == len(eu | us)
    finally:
        await store.aclose()

    port = free_port()
    ui = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podsleuth", "ui", "--store", store_url, "--listen", f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            body = await _get_json(http, base + "/api/incidents?state=all")
            assert {i["cluster"] for i in body["incidents"]} == {"eu-west", "us-east"}
            eu_only = await _get_json(http, base + "/api/incidents?state=all&cluster=eu-west")
            assert {i["id"] for i in eu_only["incidents"]} == eu
            async with http.get(base + "/") as page:
                text = await page.text()
            assert "eu-west" in text and "us-east" in text, "counts per cluster on the list page"
    finally:
        ui.terminate()
        await ui.wait()


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


async def _get_json(http: aiohttp.ClientSession, url: str) -> dict[str, list[dict[str, object]]]:
    async def answer() -> dict[str, list[dict[str, object]]] | None:
        try:
            async with http.get(url) as response:
                return await response.json()  # type: ignore[no-any-return]
        except aiohttp.ClientConnectionError:
            return None

    return await eventually(answer, within=10, what=f"the console answering at {url}", every=0.1)
