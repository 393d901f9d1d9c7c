"""Shared helpers of the alerting tests: contract dicts, a hand-set clock, real HTTP receivers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from podsleuth.alert.sinks import Batch
from tests.fakes.net import free_port


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def change(
    event: str = "incident.opened",
    *,
    id: str = "inc-1",
    namespace: str | None = "shop",
    pod: str | None = "web-7d9f-abcde",
    node: str | None = "node-3",
    container: str | None = "app",
    category: str = "container-start",
    reason: str = "RunContainerError",
    severity: str = "error",
    signature: str | None = "runc-1.1-via-procfd-enoent",
    diagnosed: bool = True,
    root_cause: str = "ceph-fuse restarted: the bind mount source is //deleted",
    count: int = 1,
    labels: dict[str, str] | None = None,
    owner: str = "web",
) -> dict[str, Any]:
    diagnosis = None
    if diagnosed:
        diagnosis = {
            "root_cause": root_cause,
            "summary": "the volume's FUSE daemon was OOM-killed and re-mounted over the stale mount",
            "confidence": 0.9,
            "evidence": [
                {"source": "mountinfo", "fact": "root ends with //deleted", "data": {}},
                {"source": "kmsg", "fact": "ceph-fuse OOM-killed at 10:02", "data": {}},
                {"source": "runc", "fact": "mount via /proc/self/fd/6: ENOENT", "data": {}},
                {"source": "events", "fact": "4 RunContainerError events", "data": {}},
            ],
            "remediation": ["Drain node-3 and restart the csi-cephfs plugin pod", "Delete the broken pods"],
        }
    return {
        "event": event,
        "incident": {
            "id": id,
            "fingerprint": f"fp-{id}",
            "category": category,
            "reason": reason,
            "signature": signature,
            "severity": severity,
            "namespace": namespace,
            "pod": pod,
            "node": node,
            "container": container,
            "owner": {"kind": "Deployment", "name": owner},
            "message": "error mounting ... (via /proc/self/fd/6): no such file or directory",
            "count": count,
            "first_seen": "2026-01-15T10:00:00Z",
            "last_seen": "2026-01-15T10:05:00Z",
            "diagnosis": diagnosis,
            "labels": labels or {},
        },
    }


class RecordingSink:
    """An in-memory sink that records batches and can be told to fail."""

    def __init__(self, target: str = "webhook") -> None:
        self.target = target
        self.description = f"recording {target}"
        self.secrets: tuple[str, ...] = ()
        self.batches: list[Batch] = []
        self.fail_with: Exception | None = None

    async def send(self, batch: Batch) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.batches.append(batch)

    async def aclose(self) -> None:
        return None

    @property
    def ids(self) -> list[list[str]]:
        return [[c.incident.id for c in b.changes] for b in self.batches]


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it is sent."""

    port: int
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    json_bodies: list[Any] = field(default_factory=list)
    """The bodies that were JSON, decoded (webhook payloads), in arrival order."""
    status: int = 200
    delay: float = 0.0
    reply: Any = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request.path_qs, dict(request.headers), body))
        with contextlib.suppress(ValueError):
            self.json_bodies.append(json.loads(body))
        self.arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply is not None:
            return web.json_response(self.reply, status=self.status)
        return web.Response(status=self.status, text="ok")


@asynccontextmanager
async def http_receiver(
    *, port: int | None = None, delay: float = 0.0, cancel_on_disconnect: bool = False
) -> AsyncIterator[Receiver]:
    """``cancel_on_disconnect``: a client that hangs up ends the handler's ``delay`` at once."""
    rec = Receiver(port=port or free_port(), delay=delay)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=0.5, handler_cancellation=cancel_on_disconnect
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", rec.port)
    await site.start()
    try:
        yield rec
    finally:
        await runner.cleanup()
