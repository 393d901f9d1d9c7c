from __future__ import annotations

import logging

import pytest

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector
from tests.waiting import eventually

from .helpers import Driver, FakeSleep, Observed, names, pod


async def test_dropped_watch_resumes_from_last_resource_version(
    api: FakeApiServer, client: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    api.put("pods", pod("a"))
    observed = Observed()
    sleep = FakeSleep()
    reflector = Reflector(client=client, resource=PODS, observer=observed, sleep=sleep, jitter=lambda: 1.0)
    async with Driver(reflector) as d:
        await d.until_synced()
        await api.wait_for_watches()
        api.put("pods", pod("b"))
        assert names(await d.changes(1)) == [("added", "b")]
        seen_rv = reflector.resource_version
        with caplog.at_level(logging.INFO, logger="podsleuth.watch"):
            api.drop_watches()
            await eventually(lambda: observed.restarts, what="the restart")
            await api.wait_for_watches()
        api.put("pods", pod("c"))
        assert names(await d.changes(1)) == [("added", "c")]
    watches = [q for m, p, q in api.requests if q.get("watch") == "true"]
    assert watches[-1]["resourceVersion"] == seen_rv
    assert sum(1 for m, p, q in api.requests if "watch" not in q) == 1  # no re-list
    assert [r for _, r in observed.restarts] == ["connection"]
    assert sleep.delays == [0.5]
    assert any(
        "pods: watch restart (connection)" in r.message
        and f"resuming from resourceVersion {seen_rv}" in r.message
        and "in 0.5s" in r.message
        for r in caplog.records
    )
