"""The Alertmanager sink remembers an open alert's label set only once Alertmanager took it, so a
failed send that is retried still ends the alert under its old labels."""

from __future__ import annotations

import json

import pytest

from podsleuth.alert.model import decode_change
from podsleuth.alert.sinks import Batch, SinkError
from podsleuth.alert.sinks.alertmanager import AlertmanagerSink
from podsleuth.config import AlertmanagerReceiver
from tests.alert.helpers import FakeClock, change, http_receiver


def batch(n: int, *changes: dict[str, object]) -> Batch:
    return Batch(f"b{n}", "am", [decode_change(c) for c in changes], 0.0)


async def test_a_failed_send_keeps_the_old_labels_for_the_retry() -> None:
    async with http_receiver() as rec:
        sink = AlertmanagerSink(AlertmanagerReceiver(url=rec.url, timeout=5), clock=FakeClock(), hold=600.0)
        try:
            await sink.send(batch(1, change("incident.opened", id="a", pod="web-1")))
            rec.status = 503
            resolved = batch(2, change("incident.resolved", id="a", pod="web-2"))
            with pytest.raises(SinkError):
                await sink.send(resolved)
            rec.status = 200
            await sink.send(resolved)  # the outbox's retry
            # and once accepted, the old label set is forgotten
            await sink.send(batch(3, change("incident.opened", id="a", pod="web-3")))
        finally:
            await sink.aclose()
    bodies = [json.loads(body) for _, _, body in rec.requests]
    assert len(bodies) == 4
    failed, retried, reopened = bodies[1], bodies[2], bodies[3]
    assert failed == retried
    assert [a["labels"]["pod"] for a in retried] == ["web-2", "web-1"]  # web-1's alert is ended too
    assert all("startsAt" not in a for a in retried[1:])
    assert [a["labels"]["pod"] for a in reopened] == ["web-3"]


async def test_a_failed_update_keeps_the_old_labels() -> None:
    async with http_receiver() as rec:
        sink = AlertmanagerSink(AlertmanagerReceiver(url=rec.url, timeout=5), clock=FakeClock(), hold=600.0)
        try:
            await sink.send(batch(1, change("incident.opened", id="a", node="node-1")))
            rec.status = 500
            moved = batch(2, change("incident.updated", id="a", node="node-2"))
            with pytest.raises(SinkError):
                await sink.send(moved)
            rec.status = 200
            await sink.send(moved)
            await sink.send(batch(3, change("incident.resolved", id="a", node="node-2")))
        finally:
            await sink.aclose()
    bodies = [json.loads(body) for _, _, body in rec.requests]
    assert [a["labels"]["node"] for a in bodies[2]] == ["node-2", "node-1"]
    assert [a["labels"]["node"] for a in bodies[3]] == ["node-2"]  # node-1 was already ended
