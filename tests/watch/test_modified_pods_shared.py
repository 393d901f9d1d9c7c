"""Pods changed by MODIFIED events end up sharing their strings and label sets again."""

from __future__ import annotations

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.lab.sample_pods import sample_pod
from podsleuth.watch import PODS, Reflector
from podsleuth.watch.interning import EVENTS_PER_PASS

from .helpers import Driver, FakeSleep


async def test_replicas_modified_over_and_over_share_labels_again(
    api: FakeApiServer, client: KubeClient
) -> None:
    first, second = sample_pod(0), sample_pod(1)  # two replicas of one Deployment
    reflector = Reflector(client=client, resource=PODS, sleep=FakeSleep())
    async with Driver(reflector) as d:
        await d.until_synced()
        await api.wait_for_watches()
        for i in range(EVENTS_PER_PASS + 1):
            for raw in (first, second):
                raw["status"]["message"] = f"version {i}"  # a MODIFIED event each
                api.put("pods", raw)
        await d.changes(2 * (EVENTS_PER_PASS + 1))
        a, b = (reflector.cache[("shop", raw["metadata"]["name"])] for raw in (first, second))
        assert a.status.message == b.status.message == f"version {EVENTS_PER_PASS}"
        assert a.metadata.labels == b.metadata.labels
        assert a.metadata.labels is b.metadata.labels, "a pass shared the modified pods"
        assert a.metadata.namespace is b.metadata.namespace
        types_a = [c.type for c in a.status.conditions or ()]
        types_b = [c.type for c in b.status.conditions or ()]
        assert types_a and all(x is y for x, y in zip(types_a, types_b, strict=True))
