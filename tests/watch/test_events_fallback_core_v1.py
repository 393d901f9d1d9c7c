from __future__ import annotations

from typing import Any

import pytest

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import EVENTS, Reflector
from podsleuth.watch.objects import KubeEvent

from .helpers import Driver, FakeSleep


def core_event(name: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "shop"},
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 3,
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1", "uid": "u1"},
        "source": {"component": "kubelet", "host": "node-3"},
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:05:00Z",
    }


@pytest.mark.parametrize("served", [True, False])
async def test_events_normalized_from_either_group(
    api: FakeApiServer, client: KubeClient, served: bool
) -> None:
    if not served:
        api.disable_group("events.k8s.io")
    api.put("events", core_event("e1", "FailedMount", "MountVolume.SetUp failed"))
    reflector = Reflector(client=client, resource=EVENTS, sleep=FakeSleep())
    async with Driver(reflector) as d:
        (change,) = await d.until_synced()
        api.put("events", core_event("e2", "BackOff", "Back-off restarting failed container"))
        (later,) = await d.changes(1)
    ev = change.new
    assert isinstance(ev, KubeEvent)
    assert (ev.reason, ev.message, ev.count, ev.host, ev.source) == (
        "FailedMount",
        "MountVolume.SetUp failed",
        3,
        "node-3",
        "kubelet",
    )
    assert ev.regarding.name == "web-1"
    assert later.new is not None and later.new.message == "Back-off restarting failed container"
    assert reflector.resource.group_version == ("events.k8s.io/v1" if served else "v1")
    paths = {p for m, p, q in api.requests}
    assert ("/api/v1/events" in paths) is not served
