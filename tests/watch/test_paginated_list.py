from __future__ import annotations

from collections.abc import Mapping

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector, Synced

from .helpers import Driver, FakeSleep, Observed, names, pod


async def test_lists_in_pages_then_watches_from_the_list_resource_version(
    api: FakeApiServer, client: KubeClient
) -> None:
    for i in range(23):
        api.put("pods", pod(f"p{i:02d}"))
    list_rv = str(api.store.rv)
    observed = Observed()
    reflector = Reflector(client=client, resource=PODS, page_size=5, observer=observed, sleep=FakeSleep())
    async with Driver(reflector) as d:
        changes = await d.until_synced()
        assert sorted(names(changes)) == [("added", f"p{i:02d}") for i in range(23)]
        lists = [q for m, p, q in api.requests if p == "/api/v1/pods" and "watch" not in q]
        assert [q.get("limit") for q in lists] == ["5"] * 5
        assert "continue" not in lists[0] and all("continue" in q for q in lists[1:])
        api.put("pods", pod("late"))
        assert names(await d.changes(1)) == [("added", "late")]
        watch = next(q for m, p, q in api.requests if q.get("watch") == "true")
        assert watch["resourceVersion"] == list_rv
        assert watch["allowWatchBookmarks"] == "true"
        assert "timeoutSeconds" in watch
    assert observed.synced == ["pods"] and observed.events["pods"] == 1
    assert len(reflector.cache) == 24


async def test_continue_token_expired_mid_list_restarts_the_list(
    api: FakeApiServer, client: KubeClient
) -> None:
    for i in range(10):
        api.put("pods", pod(f"p{i}"))
    real_get = client.get
    pages = 0

    async def compacting_get(path: str, params: Mapping[str, str | int] | None = None) -> bytes:
        nonlocal pages
        pages += 1
        if pages == 2:
            api.compact()  # the first page's continue token is now too old
        return await real_get(path, params)

    client.get = compacting_get  # type: ignore[method-assign]
    observed = Observed()
    reflector = Reflector(client=client, resource=PODS, page_size=4, observer=observed, sleep=FakeSleep())
    async with Driver(reflector) as d:
        changes = await d.until_synced()
    assert sorted(names(changes)) == sorted(("added", f"p{i}") for i in range(10))
    assert ("pods", "expired") in observed.restarts


async def test_label_selector_is_sent_and_applied(api: FakeApiServer, client: KubeClient) -> None:
    api.put("pods", pod("a", labels={"app": "web"}))
    api.put("pods", pod("b", labels={"app": "db"}))
    reflector = Reflector(client=client, resource=PODS, label_selector="app=db", sleep=FakeSleep())
    async with Driver(reflector) as d:
        assert names(await d.until_synced()) == [("added", "b")]
        await api.wait_for_watches()
        api.put("pods", pod("c", labels={"app": "web"}))
        api.put("pods", pod("d", labels={"app": "db"}))
        assert names(await d.changes(1)) == [("added", "d")]


async def test_namespaced_reflector_lists_one_namespace(api: FakeApiServer, client: KubeClient) -> None:
    api.put("pods", pod("a", ns="shop"))
    api.put("pods", pod("b", ns="other"))
    reflector = Reflector(client=client, resource=PODS, namespace="shop", sleep=FakeSleep())
    async with Driver(reflector) as d:
        assert names(await d.until_synced()) == [("added", "a")]
        assert isinstance(Synced("pods", 1), Synced)
