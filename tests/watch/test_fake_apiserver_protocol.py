"""The fake API server's own wire behaviour: what the real kube-apiserver does."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from podsleuth.lab.fake_apiserver import FakeApiServer

from .helpers import pod


async def _get(api: FakeApiServer, path: str, **params: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(api.url + path, params=params) as r:
        return r.status, await r.json()


async def _watch_lines(
    api: FakeApiServer, path: str, **params: str
) -> tuple[aiohttp.ClientResponse, list[Any]]:
    async with aiohttp.ClientSession() as s, s.get(api.url + path, params=params) as r:
        body = await r.read()
        return r, [json.loads(line) for line in body.splitlines()]


async def test_pagination_with_continue_tokens(api: FakeApiServer) -> None:
    for i in range(5):
        api.put("pods", pod(f"p{i}"))
    status, page1 = await _get(api, "/api/v1/pods", limit="2")
    assert status == 200 and page1["kind"] == "PodList"
    assert [p["metadata"]["name"] for p in page1["items"]] == ["p0", "p1"]
    rv = page1["metadata"]["resourceVersion"]
    api.put("pods", pod("p9"))  # later pages keep the first page's resourceVersion
    _, page2 = await _get(api, "/api/v1/pods", limit="2", **{"continue": page1["metadata"]["continue"]})
    assert page2["metadata"]["resourceVersion"] == rv
    assert [p["metadata"]["name"] for p in page2["items"]] == ["p2", "p3"]
    api.compact()
    status, expired = await _get(
        api, "/api/v1/pods", limit="2", **{"continue": page2["metadata"]["continue"]}
    )
    assert status == 410
    assert (expired["kind"], expired["reason"], expired["code"]) == ("Status", "Expired", 410)


async def test_too_old_watch_is_an_error_event_in_a_200_chunked_stream(api: FakeApiServer) -> None:
    api.put("pods", pod("a"))
    api.compact()
    resp, lines = await _watch_lines(api, "/api/v1/pods", watch="1", resourceVersion="1")
    assert resp.status == 200 and resp.headers["Transfer-Encoding"] == "chunked"
    floor = api.store.floor
    assert lines == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: 1 ({floor + 1})",
                "reason": "Expired",
                "code": 410,
            },
        }
    ]


async def test_watch_replays_from_a_resource_version_and_times_out(api: FakeApiServer) -> None:
    api.put("pods", pod("a"))
    rv = str(api.store.rv)
    api.put("pods", pod("b"))
    api.delete("pods", "default", "a")
    _, lines = await _watch_lines(
        api, "/api/v1/pods", watch="true", resourceVersion=rv, timeoutSeconds="1", allowWatchBookmarks="true"
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "b"), ("DELETED", "a")]
    assert int(lines[1]["object"]["metadata"]["resourceVersion"]) == api.store.rv


async def test_initial_events_end_bookmark(api: FakeApiServer) -> None:
    api.put("pods", pod("a"))
    _, lines = await _watch_lines(
        api,
        "/api/v1/pods",
        watch="true",
        sendInitialEvents="true",
        resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
        timeoutSeconds="1",
    )
    assert [e["type"] for e in lines] == ["ADDED", "BOOKMARK"]
    assert lines[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_field_and_label_selectors(api: FakeApiServer) -> None:
    api.put("pods", pod("a", node="n1", labels={"app": "web", "tier": "fe"}))
    api.put("pods", pod("b", node="n2", labels={"app": "db"}))
    _, lst = await _get(api, "/api/v1/pods", fieldSelector="spec.nodeName=n2")
    assert [p["metadata"]["name"] for p in lst["items"]] == ["b"]
    _, lst = await _get(api, "/api/v1/pods", labelSelector="app in (web,cache),tier")
    assert [p["metadata"]["name"] for p in lst["items"]] == ["a"]
    _, lst = await _get(api, "/api/v1/namespaces/default/pods", fieldSelector="metadata.name!=a")
    assert [p["metadata"]["name"] for p in lst["items"]] == ["b"]


async def test_get_one_object_and_logs(api: FakeApiServer) -> None:
    api.put("pods", pod("a"))
    api.set_log("default", "a", "one\ntwo\nthree\n", container="main", previous=True)
    status, obj = await _get(api, "/api/v1/namespaces/default/pods/a")
    assert status == 200 and obj["kind"] == "Pod"
    async with aiohttp.ClientSession() as s:
        url = api.url + "/api/v1/namespaces/default/pods/a/log"
        async with s.get(url, params={"previous": "true", "tailLines": "2", "container": "main"}) as r:
            assert r.content_type == "text/plain" and await r.text() == "two\nthree\n"
        async with s.get(url, params={"previous": "false"}) as r:
            assert r.status == 400


async def test_events_are_served_in_both_groups(api: FakeApiServer) -> None:
    api.put(
        "events",
        {
            "metadata": {"name": "e", "namespace": "ns"},
            "message": "m",
            "reason": "r",
            "involvedObject": {"kind": "Pod", "name": "p"},
        },
    )
    _, v1 = await _get(api, "/apis/events.k8s.io/v1/events")
    assert v1["items"][0]["note"] == "m" and v1["items"][0]["regarding"]["name"] == "p"
    api.disable_group("events.k8s.io")
    status, _ = await _get(api, "/apis/events.k8s.io/v1/events")
    assert status == 404


@pytest.mark.parametrize("verb", ["list", "watch"])
async def test_rbac_denial_is_a_real_status(api: FakeApiServer, verb: str) -> None:
    api.deny(verb, "pods")
    params = {"watch": "true"} if verb == "watch" else {}
    status, body = await _get(api, "/api/v1/namespaces/shop/pods", **params)
    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'pods is forbidden: User "system:serviceaccount:podsleuth:podsleuth" cannot '
        f'{verb} resource "pods" in API group "" in the namespace "shop"'
    )
