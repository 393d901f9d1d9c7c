from __future__ import annotations

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector

from .helpers import Driver, FakeSleep, names, pod


def _lists(api: FakeApiServer) -> int:
    return sum(1 for m, p, q in api.requests if "watch" not in q)


async def test_streaming_list_syncs_from_initial_events(api: FakeApiServer, client: KubeClient) -> None:
    for name in ("a", "b"):
        api.put("pods", pod(name))
    reflector = Reflector(client=client, resource=PODS, streaming_list=True, sleep=FakeSleep())
    async with Driver(reflector) as d:
        assert sorted(names(await d.until_synced())) == [("added", "a"), ("added", "b")]
        await api.wait_for_watches()
        api.put("pods", pod("c"))
        assert names(await d.changes(1)) == [("added", "c")]
        # a gap then 410: re-synced by a new streaming list, reconciled
        api.stall_watches()
        api.delete("pods", "default", "a")
        api.compact()
        api.drop_watches()
        assert names(await d.until_synced()) == [("deleted", "a")]
    first = api.requests[0][2]
    assert first["sendInitialEvents"] == "true" and first["resourceVersionMatch"] == "NotOlderThan"
    assert _lists(api) == 0


async def test_server_rejecting_streaming_lists_falls_back_to_pages(
    api: FakeApiServer, client: KubeClient
) -> None:
    api.streaming_lists = "reject"
    api.put("pods", pod("a"))
    reflector = Reflector(client=client, resource=PODS, streaming_list=True, sleep=FakeSleep())
    async with Driver(reflector) as d:
        assert names(await d.until_synced()) == [("added", "a")]
    assert _lists(api) == 1 and reflector.streaming_list is False


async def test_server_ignoring_streaming_lists_is_detected(api: FakeApiServer, client: KubeClient) -> None:
    api.streaming_lists = "ignore"  # like a pre-1.27 server: a plain watch with initial ADDED events
    api.put("pods", pod("a"))
    reflector = Reflector(client=client, resource=PODS, streaming_list=True, sleep=FakeSleep())
    async with Driver(reflector) as d:
        await api.wait_for_watches()
        api.bookmark()  # old servers send bookmarks without the initial-events-end annotation
        assert names(await d.until_synced()) == [("added", "a")]
    assert _lists(api) == 1 and reflector.streaming_list is False
