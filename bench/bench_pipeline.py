"""Decode + detect throughput of the real watch pipeline vs the official client, same stream.

A separate process serves one chunked watch stream of realistic ~6 KB pod events (managedFields
included, as a kube-apiserver sends them) over loopback HTTP. Two consumers read the same
stream one after the other, each on one core:

- podsleuth: the real ``WatchPipeline`` (KubeClient stream -> Reflector -> Detector, events and
  nodes watched too, metrics on). Throughput is read from ``podsleuth_watch_events_total``.
- official: the ``kubernetes`` client's ``Watch().stream(list_pod_for_all_namespaces)``, which
  decodes each event into ``V1Pod`` (how most Python watchers are written), plus a dict update.

Run: python bench/bench_pipeline.py [--events N] [--official-events M]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from podsleuth.config import Settings
from podsleuth.detect import IncidentChange
from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import write_kubeconfig
from podsleuth.lab.sample_pods import watch_lines
from podsleuth.metrics import WatchMetrics
from podsleuth.runner import WatchPipeline

EMPTY_LIST = b'{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}'


def _serve(port: int, n: int, ready: Any) -> None:
    lines = watch_lines(n)
    payload = b"".join(lines)

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") not in ("true", "1", "True"):
            return web.Response(body=EMPTY_LIST, content_type="application/json")
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        if request.path.endswith("/pods"):
            for i in range(0, len(payload), 1 << 20):
                await resp.write(payload[i : i + (1 << 20)])
        await asyncio.sleep(3600)  # keep every stream open, like an idle watch
        return resp

    async def main() -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def _podsleuth(port: int, n: int) -> tuple[float, int]:
    changes: list[IncidentChange] = []

    async def emit(change: IncidentChange) -> None:
        changes.append(change)

    with tempfile.TemporaryDirectory() as tmp:
        client = await connect(
            kubeconfig=str(
                write_kubeconfig(Path(tmp) / "kubeconfig", f"http://127.0.0.1:{port}", token="bench")
            ),
            context=None,
        )
        metrics = WatchMetrics()
        pipeline = WatchPipeline(client=client, settings=Settings(), emit=emit, metrics=metrics)
        counts = metrics.event_counts
        task = asyncio.create_task(pipeline.run())
        # polled from outside, as anyone scraping /metrics would: no hook inside the pipeline
        while counts["pods"] < 1:  # noqa: ASYNC110
            await asyncio.sleep(0.0005)
        start, first = time.perf_counter(), counts["pods"]
        while counts["pods"] < n:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - start
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pipeline.aclose()
        await client.aclose()
    return (n - first) / elapsed, len(changes)


async def _lean(port: int, n: int) -> float:
    """The floor: aiohttp stream, line split, msgspec slim decode, a dict update, nothing else."""
    import aiohttp
    import msgspec

    from podsleuth.watch.objects import Pod
    from podsleuth.watch.wire import WatchEvent

    decode = msgspec.json.Decoder(WatchEvent[Pod]).decode
    cache: dict[tuple[str, str], Pod] = {}
    count, buf = 0, b""
    url = f"http://127.0.0.1:{port}/api/v1/pods"
    async with aiohttp.ClientSession() as session, session.get(url, params={"watch": "true"}) as resp:
        start = time.perf_counter()
        async for chunk in resp.content.iter_any():
            *lines, buf = (buf + chunk).split(b"\n")
            for line in lines:
                pod = decode(line).object
                cache[(pod.metadata.namespace, pod.metadata.name)] = pod
            count += len(lines)
            if count >= n:
                break
    return count / (time.perf_counter() - start)


def _official(port: int, n: int) -> float:
    from kubernetes import client, watch

    cfg = client.Configuration(host=f"http://127.0.0.1:{port}")
    api = client.CoreV1Api(client.ApiClient(cfg))
    cache: dict[tuple[str, str], Any] = {}
    start = time.perf_counter()
    count = 0
    for event in watch.Watch().stream(api.list_pod_for_all_namespaces, resource_version="1"):
        pod = event["object"]
        cache[(pod.metadata.namespace, pod.metadata.name)] = pod
        count += 1
        if count >= n:
            break
    return count / (time.perf_counter() - start)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(n: int) -> tuple[multiprocessing.Process, int]:
    port = _free_port()
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=_serve, args=(port, n, ready), daemon=True)
    proc.start()
    if not ready.wait(120):
        raise SystemExit("bench server did not start")
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="pod watch events for podsleuth")
    parser.add_argument("--official-events", type=int, default=5_000, help="events for the official client")
    args = parser.parse_args()
    size = sum(map(len, watch_lines(200))) / 200
    print(f"stream: realistic pod watch events, {size / 1024:.1f} KiB each, over loopback HTTP")

    proc, port = _server(args.events)
    try:
        ours, changes = asyncio.run(_podsleuth(port, args.events))
    finally:
        proc.kill()
    print(
        f"podsleuth pipeline (decode+detect): {ours:>9,.0f} events/s  ({args.events:,} events, "
        f"{changes} incident changes)"
    )

    proc, port = _server(args.events)
    try:
        lean = asyncio.run(_lean(port, args.events))
    finally:
        proc.kill()
    print(f"lean floor (decode + dict update) : {lean:>9,.0f} events/s  (no detection, no metrics)")

    proc, port = _server(args.official_events)
    try:
        official = _official(port, args.official_events)
    finally:
        proc.kill()
    print(f"official client (V1Pod)           : {official:>9,.0f} events/s ({args.official_events:,} events)")
    print(f"ratio                             : {ours / official:>9.1f}x")


if __name__ == "__main__":
    main()
