"""The Kubernetes Event sink writes a Warning on the pod through the injected ``post``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from podsleuth.alert.notifier import Notifier
from podsleuth.alert.options import AlertOptions
from podsleuth.config import AlertSettings, Receiver
from podsleuth.errors import ApiError
from podsleuth.store.sqlite import SqliteStore
from tests.alert.helpers import FakeClock, change


class PostRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: list[Exception] = []

    async def __call__(self, path: str, body: dict[str, Any]) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.calls.append((path, body))


def make(store: SqliteStore, clock: FakeClock, post: PostRecorder) -> Notifier:
    settings = AlertSettings(receivers=[Receiver(name="events", kubernetes_events={})])
    options = replace(AlertOptions.from_settings(settings), group_wait=0.0)
    return Notifier(settings, store, clock=clock, options=options, kube_post=post)


async def test_event_on_the_pod(store: SqliteStore, clock: FakeClock) -> None:
    post = PostRecorder()
    notifier = make(store, clock, post)
    await notifier.submit(change(namespace="monitoring", pod="dashboard-1"))
    await notifier.submit(
        change(
            id="n",
            namespace=None,
            pod=None,
            node="node-3",
            diagnosed=False,
            category="node-not-ready",
            reason="NodeNotReady",
        )
    )
    await notifier.pump()
    await notifier.aclose()
    (node_path, node_body), (path, body) = sorted(post.calls, key=lambda c: c[1]["involvedObject"]["kind"])
    assert path == "/api/v1/namespaces/monitoring/events"
    assert body["involvedObject"] == {
        "kind": "Pod",
        "apiVersion": "v1",
        "namespace": "monitoring",
        "name": "dashboard-1",
    }
    assert body["type"] == "Warning" and body["reason"] == "RootCauseFound"
    assert "//deleted" in body["message"] and "\n" not in body["message"]
    assert body["metadata"]["namespace"] == "monitoring"
    assert node_path == "/api/v1/namespaces/default/events"
    assert node_body["involvedObject"]["kind"] == "Node" and node_body["reason"] == "PodsleuthIncident"


async def test_api_errors_are_retried_and_409_is_success(store: SqliteStore, clock: FakeClock) -> None:
    post = PostRecorder()
    post.fail = [ApiError("boom", status=503)]
    notifier = make(store, clock, post)
    await notifier.submit(change())
    await notifier.pump()
    assert post.calls == []
    post.fail = [ApiError("exists", status=409)]
    clock.advance(600)
    await notifier.pump()
    await notifier.aclose()
    assert [d.state for d in await store.deliveries()] == ["sent"]


async def test_without_a_client_the_sink_is_off(store: SqliteStore, clock: FakeClock) -> None:
    settings = AlertSettings(receivers=[Receiver(name="events", kubernetes_events={})])
    notifier = Notifier(settings, store, clock=clock)
    assert notifier.sinks == {"events": {}}
