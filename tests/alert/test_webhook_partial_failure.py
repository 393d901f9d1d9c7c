"""A batch whose posts partly fail is retried without resending what the receiver accepted."""

from __future__ import annotations

import json

from aiohttp import web

from podsleuth.alert.model import decode_change
from podsleuth.alert.sinks import Batch, SinkError
from podsleuth.alert.sinks.webhook import WebhookSink
from podsleuth.config import WebhookReceiver
from tests.alert.helpers import change
from tests.fakes.net import free_port


async def test_only_the_failed_posts_are_sent_again() -> None:
    accepted: list[str] = []
    refused_once: set[str] = set()

    async def handle(request: web.Request) -> web.Response:
        incident = json.loads(await request.read())["incident"]["id"]
        if incident == "inc-2" and incident not in refused_once:
            refused_once.add(incident)
            return web.Response(status=503)
        accepted.append(incident)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    sink = WebhookSink(WebhookReceiver(url=f"http://127.0.0.1:{port}/hook"))
    batch = Batch(
        batch_id="b1", receiver="hook", created_at=0.0,
        changes=[decode_change(change(id=f"inc-{n}")) for n in (1, 2, 3)],
    )  # fmt: skip
    try:
        try:
            await sink.send(batch)
            raise AssertionError("a refused post fails the batch")
        except SinkError:
            pass
        assert sorted(accepted) == ["inc-1", "inc-3"]
        await sink.send(batch)  # the outbox's retry
        assert sorted(accepted) == ["inc-1", "inc-2", "inc-3"], "each change accepted exactly once"
        await sink.send(Batch(batch_id="b2", receiver="hook", created_at=0.0, changes=batch.changes))
        assert len(accepted) == 6, "another batch is another notification"
    finally:
        await sink.aclose()
        await runner.cleanup()
