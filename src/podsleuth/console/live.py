"""Live updates: a Server-Sent Events stream of incident changes.

The console may run in another process than the watcher (``podsleuth ui`` over a shared store),
so the stream polls the store's ``updated_at`` rather than listening to the pipeline: one cheap
``MAX``/range query per interval per open page, which also works for several watchers of
several clusters writing one PostgreSQL store. The list page reloads its rows when a change
arrives; filters stay in its URL.
"""

from __future__ import annotations

import asyncio
import json
import weakref

from aiohttp import web

from podsleuth.console.app import SETTINGS
from podsleuth.store.queries import changed_since, latest_change

KEEPALIVE = 15.0
STREAMS: web.AppKey[weakref.WeakSet[asyncio.Task[None]]] = web.AppKey("streams")


def _summary(record_data: dict[str, object], status: str) -> str:
    keys = ("id", "category", "severity", "namespace", "pod", "node", "count", "cluster")
    body = {k: record_data.get(k) for k in keys}
    body["state"] = status
    return json.dumps(body, ensure_ascii=False)


async def changes_stream(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    try:
        since = float(request.query.get("since", ""))
    except ValueError:
        since = await latest_change(settings.store)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    task = asyncio.current_task()
    if task is not None:
        request.app[STREAMS].add(task)
    quiet = 0.0
    try:
        await response.write(b"retry: 2000\n\n")
        while True:
            changed = await changed_since(settings.store, since)
            for record in changed:
                since = max(since, record.updated_at)
                data = _summary(record.data, record.status)
                frame = f"id: {record.updated_at!r}\nevent: incident\ndata: {data}\n\n"
                await response.write(frame.encode())
            quiet = 0.0 if changed else quiet + settings.poll_interval
            if quiet >= KEEPALIVE:
                await response.write(b": keepalive\n\n")
                quiet = 0.0
            await asyncio.sleep(settings.poll_interval)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


async def close_streams(app: web.Application) -> None:
    """On shutdown: end every open stream so the server stops at once."""
    streams: weakref.WeakSet[asyncio.Task[None]] = app[STREAMS]
    for task in list(streams):
        task.cancel()
