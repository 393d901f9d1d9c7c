"""One status mapping for every path: HTTP answers of every verb and ERROR events in a watch
stream reach the same ApiError class; 429 carries the server's Retry-After and the reflector
waits at least that long; what the HTTP library raises below never escapes unmapped."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from aiohttp import web

from podsleuth import errors
from podsleuth.kube import KubeClient
from podsleuth.kube.errors import MAX_RETRY_AFTER, Status, api_error, retry_after, stream_error
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector
from tests.waiting import eventually

from .helpers import Driver, FakeSleep, Observed, client_of, pod

EXPECTED: dict[int, type[errors.ApiError]] = {
    401: errors.ApiUnauthorized,
    403: errors.ApiForbidden,
    404: errors.ApiNotFound,
    409: errors.ApiConflict,
    410: errors.ApiGone,
    429: errors.ApiThrottled,
}


@pytest.mark.parametrize("code", range(400, 600))
def test_every_error_status_has_one_class_whatever_carried_it(code: int) -> None:
    expected = EXPECTED.get(code, errors.ApiServerError)
    body = b'{"kind":"Status","message":"m","reason":"R","code":%d}' % code
    by_http = api_error(status=code, body=body, method="GET", path="/api/v1/pods", verb="list", server="s")
    by_stream = stream_error(Status(kind="Status", message="m", reason="R", code=code), where="watch")
    for error in (by_http, by_stream):
        assert type(error) is expected
        assert error.status == code and error.reason == "R"
        assert isinstance(error, errors.PodsleuthError) and "\n" not in str(error)


def test_retry_after_reads_header_or_status_details_and_is_bounded() -> None:
    assert retry_after("7") == 7.0
    assert retry_after("Wed, 21 Oct 2026 07:28:00 GMT") == 1.0  # an HTTP date: try again soon
    assert retry_after("99999") == MAX_RETRY_AFTER
    assert retry_after(None) is None
    wire = b'{"kind":"Status","code":429,"details":{"retryAfterSeconds":3}}'
    assert retry_after(None, msgspec.json.decode(wire, type=Status)) == 3.0


async def test_a_429_answer_is_throttled_with_the_servers_retry_after(
    api: FakeApiServer, client: KubeClient
) -> None:
    api.fail_requests(1, code=429, retry_after=7)
    with pytest.raises(errors.ApiThrottled) as info:
        await client.get("/api/v1/pods", {})
    assert info.value.retry_after == 7.0 and info.value.status == 429
    assert "Too many requests" in str(info.value) and "retry after 7s" in str(info.value)


async def test_a_409_on_create_is_a_conflict_like_on_replace(api: FakeApiServer, client: KubeClient) -> None:
    lease = {"metadata": {"name": "l", "namespace": "kube-system"}, "spec": {}}
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
    await client.post(path, lease)
    with pytest.raises(errors.ApiConflict):
        await client.post(path, lease)


async def test_a_throttled_list_waits_at_least_retry_after(api: FakeApiServer, client: KubeClient) -> None:
    api.put("pods", pod("a"))
    api.fail_requests(1, code=429, retry_after=9)
    sleep, observed = FakeSleep(), Observed()
    async with Driver(Reflector(client=client, resource=PODS, observer=observed, sleep=sleep)) as d:
        await d.until_synced()
    assert [r for _, r in observed.restarts] == ["throttled"]
    assert sleep.delays and sleep.delays[0] >= 9.0


async def test_a_429_error_event_in_the_stream_waits_its_retry_after(
    api: FakeApiServer, client: KubeClient
) -> None:
    sleep, observed = FakeSleep(), Observed()
    async with Driver(Reflector(client=client, resource=PODS, observer=observed, sleep=sleep)) as d:
        await d.until_synced()
        await api.wait_for_watches(1, kind="pods")
        api.inject_error(code=429, reason="TooManyRequests", message="slow down", retry_after=4)
        await eventually(lambda: observed.restarts, what="the restart")
    assert observed.restarts[0][1] == "throttled"
    assert sleep.delays[0] >= 4.0


async def test_a_connection_cut_mid_answer_is_unreachable_not_a_library_error(tmp_path: Path) -> None:
    async def cut(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"kind":')
        assert request.transport is not None
        request.transport.close()
        return response

    async with client_of(cut, tmp_path) as client:
        with pytest.raises(errors.ApiUnreachable) as info:
            await client.get("/api/v1/pods", {})
    assert info.value.__cause__ is not None  # the library's exception, kept as the cause only
