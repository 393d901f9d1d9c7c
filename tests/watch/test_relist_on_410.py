from __future__ import annotations

import pytest

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector

from .helpers import Driver, FakeSleep, Observed, names, pod


def _lists(api: FakeApiServer) -> int:
    return sum(1 for m, p, q in api.requests if p == "/api/v1/pods" and "watch" not in q)


@pytest.mark.parametrize("reason", ["Expired", "Gone"])
async def test_error_410_in_stream_relists_without_duplicates(
    api: FakeApiServer, client: KubeClient, reason: str
) -> None:
    for name in ("a", "b", "c"):
        api.put("pods", pod(name))
    observed = Observed()
    reflector = Reflector(client=client, resource=PODS, observer=observed, sleep=FakeSleep())
    async with Driver(reflector) as d:
        assert len(await d.until_synced()) == 3
        await api.wait_for_watches()
        api.compact()
        api.inject_error(code=410, reason=reason)
        assert await d.until_synced() == []  # re-listed, unchanged objects yield nothing
        assert _lists(api) == 2
        api.put("pods", pod("d"))
        assert names(await d.changes(1)) == [("added", "d")]
    assert ("pods", "expired") in observed.restarts
    assert observed.synced == ["pods", "pods"]


async def test_http_410_on_resume_relists(client: KubeClient, api: FakeApiServer) -> None:
    api.gone_form = "http"
    api.put("pods", pod("a"))
    observed = Observed()
    sleep = FakeSleep()
    reflector = Reflector(client=client, resource=PODS, observer=observed, sleep=sleep)
    async with Driver(reflector) as d:
        await d.until_synced()
        await api.wait_for_watches()
        api.stall_watches()
        api.put("pods", pod("a", phase="Failed"))
        api.compact()
        api.drop_watches()  # resumes from the old resourceVersion: HTTP 410, then a re-list
        changes = await d.until_synced()
        assert [(c.kind, c.new and c.new.status.phase) for c in changes] == [("modified", "Failed")]
    assert [r for _, r in observed.restarts] == ["connection", "expired"]
