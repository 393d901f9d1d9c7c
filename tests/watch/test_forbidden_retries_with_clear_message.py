from __future__ import annotations

import logging

import pytest

from podsleuth.errors import ApiForbidden
from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector
from tests.waiting import eventually

from .helpers import Driver, FakeSleep, Observed, names, pod

USER = "system:serviceaccount:podsleuth:podsleuth"


async def test_forbidden_list_is_retried_and_names_the_permission(
    api: FakeApiServer, client: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    api.put("pods", pod("a"))
    api.deny("list", "pods")
    observed = Observed()
    sleep = FakeSleep()
    with caplog.at_level(logging.WARNING, logger="podsleuth.watch"):
        async with Driver(Reflector(client=client, resource=PODS, observer=observed, sleep=sleep)) as d:
            await eventually(lambda: len(observed.restarts) >= 3, what="three retries")
            api.allow("list", "pods")
            assert names(await d.until_synced()) == [("added", "a")]
    assert {r for _, r in observed.restarts} == {"forbidden"}
    message = caplog.records[0].message
    assert (
        f"forbidden: cannot list pods at the cluster scope as {USER} (RBAC: grant get/list/watch on pods)"
        in message
    )
    assert "Traceback" not in caplog.text


async def test_forbidden_watch_in_a_namespace(api: FakeApiServer, client: KubeClient) -> None:
    api.deny("watch", "pods")
    with pytest.raises(ApiForbidden) as info:
        async for _ in client.stream_batches(
            "/api/v1/namespaces/shop/pods", {"watch": "true"}, read_timeout=5
        ):
            pass
    assert str(info.value) == (
        f'forbidden: cannot watch pods in the namespace "shop" as {USER} (RBAC: grant get/list/watch on pods)'
    )
    assert info.value.status == 403
