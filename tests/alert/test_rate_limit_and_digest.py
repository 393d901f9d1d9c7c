"""A storm becomes a few messages: the per-receiver rate limit holds batches back and the next
message summarises the rest as digest lines."""

from __future__ import annotations

from dataclasses import replace

from podsleuth.alert.model import decode_change
from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions, RateLimit
from podsleuth.alert.render import Renderer
from podsleuth.config import AlertSettings, Receiver
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, RecordingSink, change


async def test_rate_limit_then_digest(store: SqliteStore, clock: FakeClock) -> None:
    settings = AlertSettings(receivers=[Receiver(name="chat")])
    sink = RecordingSink(target="apprise:0")  # a human receiver: rate limited by default
    options = replace(
        AlertOptions.from_settings(settings), group_wait=0.0, rate_limit=RateLimit(messages=2, period=60.0)
    )
    notifier = Notifier(settings, store, clock=clock, options=options, sinks={"chat": {"apprise:0": sink}})
    for n in range(30):
        await notifier.submit(change(id=f"i{n}", pod=f"web-{n}", namespace=f"ns-{n % 4}"))
        await notifier.pump()
        clock.advance(0.1)
    assert len(sink.batches) == 2  # the two tokens went to the first two incidents
    assert sum(len(b.changes) for b in sink.batches) == 2
    clock.advance(30)  # one token back
    await notifier.pump()
    assert len(sink.batches) == 3
    storm = sink.batches[2].changes
    assert len(storm) == 28  # nothing lost: every held-back change is in the digest message
    message = Renderer(max_detail=5).render(storm, fmt="markdown")
    assert "and 23 more pods in 4 namespaces failing with the same root cause" in message.body
    assert message.body.count("**Namespace:**") == 5


async def test_machine_receivers_are_not_rate_limited(store: SqliteStore, clock: FakeClock) -> None:
    settings = AlertSettings(receivers=[Receiver(name="hook")])
    sink = RecordingSink(target="webhook")
    options = replace(AlertOptions.from_settings(settings), group_wait=0.0)
    notifier = Notifier(settings, store, clock=clock, options=options, sinks={"hook": {"webhook": sink}})
    for n in range(40):
        await notifier.submit(change(id=f"i{n}"))
        await notifier.pump()
    assert len(sink.batches) == 40


def test_digest_groups_by_root_cause() -> None:
    changes = [decode_change(change(id=f"a{n}", pod=f"a-{n}", namespace="x")) for n in range(8)]
    changes += [decode_change(change(id=f"b{n}", pod=f"b-{n}", root_cause="image missing")) for n in range(3)]
    body = Renderer(max_detail=4).render(changes, fmt="text").body
    assert "...and 4 more pods in 1 namespace failing with the same root cause" in body
    assert "...and 2 more pods in 1 namespace failing with the same root cause (image missing)" in body
