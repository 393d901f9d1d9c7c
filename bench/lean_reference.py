"""The leanest Python watch consumer: the floor podsleuth's watch path is measured against.

aiohttp stream, split on newlines, one msgspec decode of each line into podsleuth's own slim
``Pod`` struct, a dict update keyed by namespace/name; nothing else (no reconnects, no
bookmarks, no detection, no metrics). Any caching watcher written in Python pays at least this,
so "podsleuth >= 90 % of lean" says podsleuth's extra work costs at most a tenth.

The struct module (``podsleuth/watch/objects.py``, which imports only msgspec) is loaded by
file path, not through the ``podsleuth.watch`` package: the package imports the Kubernetes
client (~40 MiB), and the floor's memory must not pay for what only podsleuth needs.

Importable (``consume``, ``rss_mib``) and a script:
    python bench/lean_reference.py --url http://127.0.0.1:PORT/api/v1/pods --events N [--rss]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import msgspec

OBJECTS = Path(__file__).resolve().parent.parent / "src" / "podsleuth" / "watch" / "objects.py"


def _objects() -> ModuleType:
    """podsleuth's slim structs, without importing the podsleuth package."""
    name = "_lean_objects"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, OBJECTS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def rss_mib() -> float:
    """Resident set size of this process (VmRSS), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class LeanResult:
    events: int
    seconds: float
    cached: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def consume(url: str, events: int, *, limit: float = 600.0) -> tuple[LeanResult, dict[Any, Any]]:
    """Read ``events`` watch lines from ``url`` (``?watch=true`` added) into a dict; the clock
    starts at the first chunk, as podsleuth's is started at its first counted event."""
    event: Any = msgspec.defstruct("Event", [("type", str), ("object", _objects().Pod)])
    decode = msgspec.json.Decoder(event).decode
    cache: dict[tuple[str, str], Any] = {}
    count, buf = 0, b""
    client_timeout = aiohttp.ClientTimeout(total=limit, sock_connect=10)
    async with (
        aiohttp.ClientSession(timeout=client_timeout) as session,
        session.get(url, params={"watch": "true"}) as resp,
    ):
        resp.raise_for_status()
        start = time.perf_counter()
        async for chunk in resp.content.iter_any():
            *lines, buf = (buf + chunk).split(b"\n")
            for line in lines:
                pod = decode(line).object
                cache[(pod.metadata.namespace, pod.metadata.name)] = pod
            count += len(lines)
            if count >= events:
                break
        seconds = time.perf_counter() - start
    return LeanResult(count, seconds, len(cache)), cache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a pod watch URL (the stream's server)")
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--rss", action="store_true", help="print only the RSS (MiB) once done")
    args = parser.parse_args()
    result, cache = asyncio.run(consume(args.url, args.events))
    if args.rss:
        print(f"{rss_mib():.1f} {len(cache)}")
    else:
        print(f"lean: {result.rate:,.0f} events/s ({result.events:,} events, {result.cached:,} cached)")


if __name__ == "__main__":
    main()
