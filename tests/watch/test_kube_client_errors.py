from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiohttp import web

from podsleuth import errors
from podsleuth.kube import KubeClient, connect
from podsleuth.lab.fake_apiserver import FakeApiServer

from .helpers import client_of


async def test_unreachable_names_the_server(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = FakeApiServer(port=port)  # never started
    async with await connect(kubeconfig=str(api.kubeconfig_path(tmp_path)), context=None) as client:
        with pytest.raises(errors.ApiUnreachable) as info:
            await client.get("/api/v1/pods", {})
    assert str(info.value).startswith(f"cannot reach the API server at http://127.0.0.1:{port}")
    assert info.value.__cause__ is not None


async def test_non_status_bodies_are_truncated_and_mapped(tmp_path: Path) -> None:
    async def html(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>" + "bad gateway " * 500 + "</html>")

    async with client_of(html, tmp_path) as client:
        with pytest.raises(errors.ApiServerError) as info:
            await client.get("/api/v1/pods", {})
    assert info.value.status == 502
    assert len(str(info.value)) < 300 and str(info.value).endswith("...")


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/apis/nope.example.com/v1/things", errors.ApiNotFound),
        ("/api/v1/namespaces/default/pods/missing", errors.ApiNotFound),
    ],
)
async def test_status_mapping(client: KubeClient, path: str, error: type[errors.ApiError]) -> None:
    with pytest.raises(error):
        await client.get(path)


async def test_post_creates_and_conflicts(api: FakeApiServer, client: KubeClient) -> None:
    body = {
        "metadata": {"name": "e1"},
        "reason": "PodsleuthDiagnosis",
        "message": "root cause",
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "shop"},
        "type": "Warning",
    }
    created = await client.post("/api/v1/namespaces/shop/events", body)
    assert b'"resourceVersion"' in created
    with pytest.raises(errors.ApiConflict) as info:
        await client.post("/api/v1/namespaces/shop/events", body)
    assert (info.value.status, info.value.reason) == (409, "AlreadyExists")
