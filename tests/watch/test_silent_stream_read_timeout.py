from __future__ import annotations

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector

from .helpers import Driver, FakeSleep, Observed, names, pod


async def test_a_stalled_stream_is_detected_and_replaced(api: FakeApiServer, client: KubeClient) -> None:
    api.put("pods", pod("a"))
    observed = Observed()
    reflector = Reflector(
        client=client, resource=PODS, observer=observed, sleep=FakeSleep(), read_timeout=0.3
    )
    async with Driver(reflector) as d:
        await d.until_synced()
        await api.wait_for_watches()
        api.stall_watches()  # connection open, nothing sent, no FIN: only a read timeout notices
        api.put("pods", pod("b"))  # stuck in the stalled stream
        assert names(await d.changes(1, within=3.0)) == [("added", "b")]  # via the new stream
    assert [r for _, r in observed.restarts] == ["read-timeout"]
    assert sum(1 for m, p, q in api.requests if "watch" not in q) == 1
