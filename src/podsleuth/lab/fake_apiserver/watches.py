"""One open watch on the fake API server: a queue of lines fed by the store, and its faults.

A watch is a 200 chunked response of ``{"type","object"}`` JSON lines. Faults act on the
queue: ``drop`` aborts the TCP connection mid-stream, ``stall`` keeps it open and silent,
``inject`` pushes a raw line (an ERROR Status, garbage) to the client.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from podsleuth.lab.fake_apiserver.selectors import Matcher
from podsleuth.lab.fake_apiserver.store import Entry, Kind, Record

INITIAL_EVENTS_END = b'{"k8s.io/initial-events-end":"true"}'


def event_line(type_: str, raw: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"


def bookmark_line(kind: Kind, rv: int, *, initial_end: bool = False) -> bytes:
    annotations = b',"annotations":' + INITIAL_EVENTS_END if initial_end else b""
    obj = (
        b'{"kind":"' + kind.kind.encode() + b'","apiVersion":"' + kind.group_version.encode() + b'",'
        b'"metadata":{"resourceVersion":"' + str(rv).encode() + b'"' + annotations + b"}}"
    )
    return event_line("BOOKMARK", obj)


def status_line(code: int, reason: str, message: str, *, retry_after: int = 0) -> bytes:
    import msgspec

    status: dict[str, object] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                 "message": message, "reason": reason, "code": code}  # fmt: skip
    if retry_after:
        status["details"] = {"retryAfterSeconds": retry_after}
    return event_line("ERROR", msgspec.json.encode(status))


class Close:
    """Queue sentinel: end the stream (``abort`` = drop the TCP connection, no final chunk)."""

    def __init__(self, *, abort: bool) -> None:
        self.abort = abort


@dataclass(eq=False)
class WatchConn:
    kind: Kind
    namespace: str | None
    labels: Matcher | None
    fields: Matcher | None
    bookmarks: bool
    queue: asyncio.Queue[bytes | Close] = field(default_factory=asyncio.Queue)
    flowing: asyncio.Event = field(default_factory=asyncio.Event)
    transport: asyncio.Transport | None = None

    def __post_init__(self) -> None:
        self.flowing.set()

    def matches(self, entry: Entry) -> bool:
        if self.namespace is not None and entry.namespace != self.namespace:
            return False
        if self.labels is not None and not self.labels(entry.labels):
            return False
        return self.fields is None or self.fields(entry.fields)

    def on_record(self, record: Record) -> None:
        if record.kind == self.kind.key and self.matches(record.entry):
            self.queue.put_nowait(event_line(record.type, record.entry.raw))

    def drop(self) -> None:
        """Abort the TCP connection at once, even if the stream is stalled."""
        if self.transport is not None:
            self.transport.abort()
        self.queue.put_nowait(Close(abort=True))
        self.flowing.set()

    async def pump(self, resp: web.StreamResponse, *, seconds: float) -> None:
        """Send queued lines until the server-side timeout, a Close, or the client leaves."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:
            while (remaining := deadline - loop.time()) > 0:
                try:
                    item = await asyncio.wait_for(self.queue.get(), remaining)
                except TimeoutError:
                    break
                batch: list[bytes] = []
                while not isinstance(item, Close):
                    batch.append(item)
                    if self.queue.empty():
                        break
                    item = self.queue.get_nowait()
                if batch:
                    await self.flowing.wait()
                    if self.transport is not None and self.transport.is_closing():
                        return
                    await resp.write(b"".join(batch))
                if isinstance(item, Close):
                    if item.abort:
                        return
                    break
            await resp.write_eof()
        except (ConnectionError, RuntimeError):
            return  # the client went away
