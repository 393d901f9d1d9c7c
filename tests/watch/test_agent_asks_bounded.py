"""A burst of diagnoses over thousands of nodes opens at most ``MAX_CONCURRENT_ASKS`` agent
connections at once, and every ask still gets its answer (bench/bench_nodes.py measured the
unbounded burst: one connection per incident, discoveries failing in the API client's queue)."""

from __future__ import annotations

import asyncio

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose import node_agent

BODY = b'{"findings":[]}'


async def test_asks_are_bounded_and_all_answered() -> None:
    open_now = peak = 0

    async def agent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, peak
        open_now += 1
        peak = max(peak, open_now)
        try:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(0.02)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + BODY)
            await writer.drain()
        finally:
            open_now -= 1
            writer.close()

    server = await asyncio.start_server(agent, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    nodes = [f"node-{i}" for i in range(4 * node_agent.MAX_CONCURRENT_ASKS)]
    settings = NodeAgentSettings(discovery="static", urls={n: f"http://127.0.0.1:{port}" for n in nodes},
                                 timeout=10.0)
    async with server:
        reports = await asyncio.gather(*(
            node_agent.ask(None, settings, node=n, pod_uid=None, kubelet_dir=None, since=60.0,
                           sa_token_file=None) for n in nodes))
    assert len(reports) == len(nodes) and all(r.findings == [] for r in reports)
    assert 1 < peak <= node_agent.MAX_CONCURRENT_ASKS
