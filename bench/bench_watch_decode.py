"""Decode throughput of realistic ~6 KB pod watch lines: podsleuth's watcher vs the usual way.

Three figures on one core:
- decode: one msgspec pass of a watch line into ``WatchEvent[Pod]`` (the slim struct);
- lean: decode plus a dict update keyed by namespace/name, the floor of any caching watcher;
- reflector: the whole watcher loop without the socket (decode, ERROR/BOOKMARK dispatch,
  cache update, typed ``Change``), lines fed from memory;
- official: the ``kubernetes`` client's watch path (json.loads, json.dumps of the object,
  ``ApiClient.deserialize`` into ``V1Pod``), which is how most Python watchers are written.

Run: python bench/bench_watch_decode.py [--lines N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from podsleuth.lab.sample_pods import watch_lines
from podsleuth.watch import PODS, Change, Reflector
from podsleuth.watch.objects import Pod
from podsleuth.watch.wire import Decoders

BATCH = 10
"""Lines per network read, about what 64 KiB reads of ~6 KB events give."""


def bench_decode(lines: list[bytes], rounds: int) -> float:
    decode = Decoders(PODS.wire).event.decode
    start = time.perf_counter()
    for _ in range(rounds):
        for line in lines:
            decode(line)
    return len(lines) * rounds / (time.perf_counter() - start)


def bench_lean(lines: list[bytes]) -> float:
    """The leanest possible consumer: decode and a dict update, nothing else (the floor)."""
    decode = Decoders(Pod).event.decode
    cache: dict[tuple[str, str], Pod] = {}
    start = time.perf_counter()
    for line in lines:
        obj = decode(line).object
        cache[(obj.metadata.namespace, obj.metadata.name)] = obj
    return len(lines) / (time.perf_counter() - start)


class _MemoryClient:
    """Stands in for KubeClient: one watch stream served from memory, then the benchmark ends."""

    def __init__(self, lines: list[bytes], rounds: int) -> None:
        self.lines, self.rounds = lines, rounds

    async def stream_batches(
        self, path: str, params: Any, *, read_timeout: float, max_line: int
    ) -> AsyncIterator[list[bytes]]:
        for _ in range(self.rounds):
            for i in range(0, len(self.lines), BATCH):
                yield self.lines[i : i + BATCH]
        raise asyncio.CancelledError


async def _reflect(lines: list[bytes], rounds: int) -> float:
    reflector = Reflector(client=_MemoryClient(lines, rounds), resource=PODS)  # type: ignore[arg-type]
    reflector.resource_version = "1"  # skip the list: measure the watch loop
    count = 0
    start = time.perf_counter()
    try:
        async for item in reflector:
            if isinstance(item, Change):
                count += 1
    except asyncio.CancelledError:
        pass
    return len(lines) * rounds / (time.perf_counter() - start)


def bench_official(lines: list[bytes]) -> float:
    from kubernetes.client import ApiClient

    api_client = ApiClient()
    start = time.perf_counter()
    for line in lines:  # what kubernetes.watch.Watch.unmarshal_event does per line
        js = json.loads(line)
        js["raw_object"] = js["object"]
        js["object"] = api_client.deserialize(json.dumps(js["raw_object"]), "V1Pod", "application/json")
    return len(lines) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000, help="watch events (over 5,000 distinct pods)")
    parser.add_argument("--official-lines", type=int, default=2000)
    args = parser.parse_args()
    lines = watch_lines(args.lines)
    size = sum(map(len, lines)) / len(lines)
    print(f"{len(lines)} pod watch events over 5,000 pods, {size / 1024:.1f} KiB each on average")
    decode = bench_decode(lines, 1)
    print(f"msgspec slim decode      : {decode:>10,.0f} events/s ({1e6 / decode:.2f} us/event)")
    lean = bench_lean(lines)
    print(f"decode + dict update     : {lean:>10,.0f} events/s ({1e6 / lean:.2f} us/event)")
    reflect = asyncio.run(_reflect(lines, 1))
    print(f"reflector loop (no HTTP) : {reflect:>10,.0f} events/s ({1e6 / reflect:.2f} us/event)")
    official = bench_official(lines[: args.official_lines])
    print(f"official client V1Pod    : {official:>10,.0f} events/s ({1e6 / official:.0f} us/event)")
    print(f"ratio decode/official    : {decode / official:>10.1f}x")
    print(f"ratio reflector/official : {reflect / official:>10.1f}x")


if __name__ == "__main__":
    main()
