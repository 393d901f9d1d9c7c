from __future__ import annotations

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector
from tests.waiting import eventually

from .helpers import Driver, FakeSleep, Observed, names, pod


async def test_bookmark_moves_the_resume_point_past_a_short_history(
    api: FakeApiServer, client: KubeClient
) -> None:
    api.store.window = 5
    api.put("pods", pod("a"))
    observed = Observed()
    reflector = Reflector(client=client, resource=PODS, observer=observed, sleep=FakeSleep())
    async with Driver(reflector) as d:
        await d.until_synced()
        await api.wait_for_watches()
        for i in range(20):  # other kinds push the pods' resourceVersion out of the window
            api.put("nodes", {"metadata": {"name": f"n{i}"}})
        api.bookmark()
        await eventually(lambda: reflector.resource_version == str(api.store.rv), what="the bookmark")
        api.end_watches()  # a normal end of stream: resume from the bookmark, no re-list
        await eventually(lambda: observed.restarts, what="the restart")
        await api.wait_for_watches()
        api.put("pods", pod("b"))
        assert names(await d.changes(1)) == [("added", "b")]
    watches = [q for m, p, q in api.requests if q.get("watch") == "true"]
    assert len(watches) == 2
    lists = [q for m, p, q in api.requests if "watch" not in q]
    assert len(lists) == 1
    assert [r for _, r in observed.restarts] == ["stream-end"]
