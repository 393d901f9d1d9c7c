"""5,000 nodes: node sync, node cache memory, kubelet heartbeat CPU, node-agent discovery.

The fake API server runs in a child process (it gets the second core, and its serialized objects
do not count in our memory) with ``--nodes`` realistic ~12 KB nodes (``lab.sample_nodes``),
``--pods`` pods spread over them and one node-agent pod per node. Four measurements:

1. initial sync of the nodes through the reflector (in this process), against the same bytes
   decoded by a lean msgspec struct (name + condition type/status: the reference);
2. a real ``python -m podsleuth watch`` (node agents off): time to /readyz, RSS with everything
   cached, CPU as % of a core (utime+stime of /proc/<pid>/stat) with the nodes quiet and while
   the server sends ``--rate`` node MODIFIED/s (every kubelet's status every 10 s);
3. bare node-agent discovery (``daemonset`` mode, one agent pod list per node) with 5,000 agent
   pods: one lookup, then bursts of 100, 1,000 and 5,000 at once (API connections bounded by
   the client's pool of 32, each lookup by ``node_agents.timeout``);
4. ``node_agent.ask`` for every node at once (discovery + GET findings, bounded by
   ``MAX_CONCURRENT_ASKS``): a local listener answering after 50 ms counts how many agent
   connections are open at the same time.

Run: python bench/bench_nodes.py [--nodes 5000] [--pods 50000] [--rate 500] [--seconds 30] [--windows 1]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import msgspec
from idle import cpu_seconds, rss_mib

from podsleuth.watch.objects import Node


def _own_rss() -> float:
    return rss_mib(os.getpid())

AGENT_NS = "podsleuth"
AGENT_LABEL = ("app.kubernetes.io/component", "node-agent")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _agent_pod(i: int, node: str) -> dict[str, object]:
    from podsleuth.lab.sample_pods import sample_pod

    pod = sample_pod(i, namespace=AGENT_NS, node=node)
    pod["metadata"]["name"] = f"podsleuth-node-agent-{i:05d}"
    pod["metadata"]["labels"] = {AGENT_LABEL[0]: AGENT_LABEL[1], "app.kubernetes.io/name": "podsleuth"}
    pod["status"]["podIP"] = "127.0.0.1"  # every agent on the loopback listener of step 4
    return pod


def _serve(port: int, nodes: int, pods: int, conn: Connection) -> None:
    from podsleuth.lab.fake_apiserver import FakeApiServer
    from podsleuth.lab.sample_nodes import sample_node
    from podsleuth.lab.sample_pods import sample_pod

    async def main() -> None:
        api = FakeApiServer(port=port, window=20_000)
        objs = [sample_node(n) for n in range(nodes)]
        for node in objs:
            api.store.put("nodes", node)
        for i in range(pods):
            api.store.put("pods", sample_pod(i, namespace=f"ns-{i % 20}", node=f"node-{i % nodes}"))
        for n in range(nodes):
            api.store.put("pods", _agent_pod(n, f"node-{n}"))
        rate, beat, loop = 0.0, 0, asyncio.get_running_loop()

        async def commands() -> None:
            nonlocal rate
            while (msg := await loop.run_in_executor(None, conn.recv)) != "stop":
                rate = float(msg)

        async with api:
            conn.send("ready")
            control = asyncio.create_task(commands())
            next_at, owed = loop.time(), 0.0
            while not control.done():
                next_at += 0.02
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                owed += rate * 0.02
                while owed >= 1:  # round-robin: each node's heartbeat every nodes/rate seconds
                    owed -= 1
                    node = objs[beat % nodes]
                    h, m, sec = 10 + beat // 3_600_000 % 10, beat // 60_000 % 60, beat // 1000 % 60
                    stamp = f"2026-11-20T{h}:{m:02d}:{sec:02d}Z"
                    for cond in node["status"]["conditions"]:
                        cond["lastHeartbeatTime"] = stamp
                    api.store.put("nodes", node)
                    beat += 1
            conn.send(beat)

    asyncio.run(main())


class _LeanCondition(msgspec.Struct):
    type: str = ""
    status: str = ""


class _LeanStatus(msgspec.Struct):
    conditions: list[_LeanCondition] = []


class _LeanMeta(msgspec.Struct):
    name: str = ""


class _LeanNode(msgspec.Struct):
    metadata: _LeanMeta = msgspec.field(default_factory=_LeanMeta)
    status: _LeanStatus = msgspec.field(default_factory=_LeanStatus)


class _LeanList(msgspec.Struct):
    items: list[_LeanNode] = []


class _NodeList(msgspec.Struct):
    items: list[Node] = []


async def sync_nodes(kubeconfig: Path) -> None:
    from podsleuth.kube import connect
    from podsleuth.watch import NODES, Reflector, Synced
    async with await connect(kubeconfig=str(kubeconfig), context=None) as client:
        before = _own_rss()
        reflector = Reflector(client=client, resource=NODES, page_size=500)
        start = time.perf_counter()
        async for item in reflector:
            if isinstance(item, Synced):
                break
        took, count, after = time.perf_counter() - start, len(reflector.cache), _own_rss()
        print(f"[1] reflector synced {count:,} nodes in {took:.2f} s ({count / took:,.0f} nodes/s, "
              "pages of 500); "
              f"RSS +{after - before:.0f} MiB ({(after - before) * 1024 / count:.1f} KiB per cached node)")
        raw = await client.get("/api/v1/nodes", {})
        t0 = time.perf_counter()
        full = msgspec.json.decode(raw, type=_NodeList)
        t1 = time.perf_counter()
        lean = msgspec.json.decode(raw, type=_LeanList)
        t2 = time.perf_counter()
        assert len(full.items) == len(lean.items) == count
        print(f"    one unpaginated list: {len(raw) / 2**20:.0f} MiB "
              f"({len(raw) / count / 1024:.1f} KiB per node); "
              f"podsleuth Node decode {t1 - t0:.3f} s vs lean decode {t2 - t1:.3f} s "
              f"(x{(t1 - t0) / (t2 - t1):.2f}); whole reflector sync vs lean decode x{took / (t2 - t1):.1f}")


def _ready(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def watcher_cpu(
    kubeconfig: Path, tmp: Path, control: Connection, rate: float, seconds: float, windows: int
) -> None:
    metrics_port = _free_port()
    (tmp / "c.yaml").write_text('node_agents: {discovery: "off"}\n')
    t0 = time.monotonic()
    with open(tmp / "log.txt", "wb") as log, open(tmp / "out.jsonl", "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "podsleuth", "watch", "--kubeconfig", str(kubeconfig), "--config",
             str(tmp / "c.yaml"), "--output", "json", "--store", f"sqlite:///{tmp / 's.db'}",
             "--metrics-port", str(metrics_port), "--metrics-host", "127.0.0.1", "--no-leader-elect"],
            stdout=out, stderr=log)
    try:
        while not _ready(metrics_port):
            if proc.poll() is not None or time.monotonic() - t0 > 600:
                raise SystemExit(f"watcher did not get ready; see {tmp / 'log.txt'}")
            time.sleep(0.2)
        print(f"[2] podsleuth watch ready in {time.monotonic() - t0:.1f} s (process start to /readyz); "
              f"RSS {rss_mib(proc.pid):.0f} MiB with nodes + pods + events cached", flush=True)
        time.sleep(10)
        for r in (0.0, *[rate] * windows):  # several windows at the rate: RSS over time
            control.send(str(r))
            time.sleep(3)
            c0, w0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            cpu = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - w0)
            print(f"    {r:>4.0f} node MODIFIED/s: watcher CPU {cpu:6.2%} of a core over {seconds:.0f} s; "
                  f"RSS {rss_mib(proc.pid):.0f} MiB", flush=True)
        control.send("0")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def discovery(kubeconfig: Path, nodes: int, agent_port: int) -> None:
    from podsleuth.config import NodeAgentSettings
    from podsleuth.diagnose.node_agent import AgentUnavailable, ask, discover
    from podsleuth.kube import connect

    settings = NodeAgentSettings(discovery="daemonset", namespace=AGENT_NS, port=agent_port, timeout=5.0)
    async with await connect(kubeconfig=str(kubeconfig), context=None) as client:
        t0 = time.perf_counter()
        for n in range(20):
            await discover(client, settings, f"node-{n * 97 % nodes}")
        one = (time.perf_counter() - t0) / 20
        print(f"[3] discovery: one lookup {one * 1000:.1f} ms (list agent pods by label + spec.nodeName)")
        for burst in sorted({min(b, nodes) for b in (100, 1000, nodes)}):
            before, t0 = _own_rss(), time.perf_counter()
            urls = await asyncio.gather(*(discover(client, settings, f"node-{n}") for n in range(burst)),
                                        return_exceptions=True)
            took = time.perf_counter() - t0
            failed = [u for u in urls if isinstance(u, BaseException)]
            print(f"    {burst:,} lookups at once: {took:.1f} s, {len(failed):,} failed"
                  f"{f' ({failed[0]})' if failed else ''}; RSS +{_own_rss() - before:.0f} MiB")

        open_now = peak = accepted = 0

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal open_now, peak, accepted
            open_now, accepted = open_now + 1, accepted + 1
            peak = max(peak, open_now)
            try:
                await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(0.05)  # the agent's scan
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 15\r\nConnection: close\r\n\r\n{\"findings\":[]}")
                await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                open_now -= 1
                writer.close()

        server = await asyncio.start_server(hold, "127.0.0.1", agent_port, backlog=8192)
        async with server:
            t0 = time.perf_counter()
            results = await asyncio.gather(
                *(ask(client, settings, node=f"node-{n}", pod_uid=None, kubelet_dir=None, since=60.0,
                      sa_token_file=None) for n in range(nodes)), return_exceptions=True)
            took = time.perf_counter() - t0
        failed = [r for r in results if isinstance(r, AgentUnavailable)]
        other = [r for r in results if isinstance(r, BaseException) and not isinstance(r, AgentUnavailable)]
        print(f"[4] ask() of {nodes:,} agents at once (discovery + GET findings, each agent 50 ms): "
              f"{took:.1f} s, {len(failed):,} AgentUnavailable{f' ({failed[0]})' if failed else ''}"
              f"{f', {len(other)} other errors ({other[0]!r})' if other else ''}; "
              f"peak {peak:,} agent connections open at the same time ({accepted:,} accepted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=500.0, help="node MODIFIED/s in step 2")
    parser.add_argument("--seconds", type=float, default=30.0, help="CPU window per rate")
    parser.add_argument("--windows", type=int, default=1, help="consecutive CPU windows at --rate")
    parser.add_argument("--skip-watcher", action="store_true")
    parser.add_argument("--only-discovery", action="store_true")
    args = parser.parse_args()
    port, ctx = _free_port(), multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(port, args.nodes, args.pods, child), daemon=True)
    server.start()
    tmp = Path(tempfile.mkdtemp(prefix="podsleuth-nodes-"))
    try:
        print(f"fake API server: {args.nodes:,} nodes, {args.pods:,} pods, {args.nodes:,} agent pods ...",
              flush=True)
        if not parent.poll(900) or parent.recv() != "ready":
            raise SystemExit("fake API server did not start")
        from podsleuth.lab.fake_apiserver import FakeApiServer

        kubeconfig = FakeApiServer(port=port).kubeconfig_path(tmp)
        if not args.only_discovery:
            asyncio.run(sync_nodes(kubeconfig))
        if not (args.skip_watcher or args.only_discovery):
            watcher_cpu(kubeconfig, tmp, parent, args.rate, args.seconds, args.windows)
        asyncio.run(discovery(kubeconfig, args.nodes, _free_port()))
    finally:
        parent.send("stop")
        if parent.poll(30):
            print(f"(the server sent {parent.recv():,} node heartbeats)")
        server.join(timeout=30)
        if server.is_alive():
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
