from __future__ import annotations

import logging
from pathlib import Path

import pytest

from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector
from tests.waiting import eventually

from .helpers import Driver, FakeSleep, Observed, names, pod


async def test_retries_with_backoff_until_the_server_comes_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeApiServer(bookmark_interval=None)
    await api.start()
    await api.stop()  # down, but we know its port
    api.put("pods", pod("a"))
    observed = Observed()
    sleep = FakeSleep()
    async with await connect(kubeconfig=str(api.kubeconfig_path(tmp_path)), context=None) as client:
        reflector = Reflector(
            client=client, resource=PODS, observer=observed, sleep=sleep, jitter=lambda: 1.0, backoff_max=4.0
        )
        with caplog.at_level(logging.WARNING, logger="podsleuth.watch"):
            async with Driver(reflector) as d:
                await eventually(lambda: len(sleep.delays) >= 5, what="five retries")
                await api.start()
                try:
                    assert names(await d.until_synced()) == [("added", "a")]
                    await api.wait_for_watches()
                    api.put("pods", pod("b"))
                    assert names(await d.changes(1)) == [("added", "b")]
                finally:
                    await api.stop()
    assert sleep.delays[:5] == [0.5, 1.0, 2.0, 4.0, 4.0]  # exponential, capped
    assert {r for _, r in observed.restarts} == {"connection"}
    assert api.url in caplog.records[0].message
    assert "cannot reach the API server" in caplog.records[0].message
