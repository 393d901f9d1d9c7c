"""Initial paginated sync of N realistic pods (~6 KB each) through the reflector.

The fake API server runs in a child process (its 100,000 serialized pods would otherwise count
in our resident memory, and it gets the second core); the parent connects through a kubeconfig
like ``podsleuth watch`` would, lists with ``limit=500`` pages and stops at the Synced marker.

Run: python bench/bench_initial_sync.py [--pods 100000] [--page-size 500]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import socket
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.lab.sample_pods import sample_pod
from podsleuth.watch import PODS, Reflector, Synced


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _serve(port: int, pods: int, ready: Connection) -> None:
    async def main() -> None:
        api = FakeApiServer(port=port, bookmark_interval=None, window=1000)
        for i in range(pods):
            api.store.put("pods", sample_pod(i, namespace=f"ns-{i % 20}"))
        async with api:
            ready.send(api.store.rv)
            await asyncio.get_running_loop().run_in_executor(None, ready.recv)

    asyncio.run(main())


async def _sync(port: int, page_size: int) -> tuple[float, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = FakeApiServer(port=port).kubeconfig_path(Path(tmp))
        async with await connect(kubeconfig=str(kubeconfig), context=None) as client:
            reflector = Reflector(client=client, resource=PODS, page_size=page_size)
            start = time.perf_counter()
            async for item in reflector:
                if isinstance(item, Synced):
                    break
            return time.perf_counter() - start, len(reflector.cache), _rss_mib()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--no-gc", action="store_true", help="disable the cyclic GC during the sync")
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, args.pods, child))
    server.start()
    try:
        print(f"fake API server: generating {args.pods:,} pods ...", flush=True)
        parent.recv()
        before = _rss_mib()
        seconds, count, rss = asyncio.run(_sync(port, args.page_size))
        print(
            f"synced {count:,} pods in {seconds:.2f} s (page size {args.page_size}): "
            f"{count / seconds:,.0f} pods/s"
        )
        print(
            f"resident memory: {rss:.0f} MiB after sync ({before:.0f} MiB before); "
            f"{(rss - before) * 1024 / max(count, 1):.2f} KiB per pod"
        )
    finally:
        parent.send("stop")
        server.join(timeout=30)
        if server.is_alive():
            server.kill()


if __name__ == "__main__":
    main()
