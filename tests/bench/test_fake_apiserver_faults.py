"""The fake API server's request faults that bench/soak.py injects: HTTP 5xx answers for the
next N resource requests (with kube-apiserver's Status bodies), and slow answers."""

from __future__ import annotations

import time

import aiohttp

from podsleuth.lab.fake_apiserver import FakeApiServer


async def test_fail_requests_answers_the_next_n_with_a_status_then_recovers() -> None:
    async with FakeApiServer() as api, aiohttp.ClientSession() as s:
        api.fail_requests(2, code=503)
        url = f"{api.url}/api/v1/pods"
        answers = []
        for _ in range(3):
            async with s.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
                answers.append((r.status, (await r.json())["kind"], (await r.json()).get("reason")))
        assert answers == [(503, "Status", "ServiceUnavailable")] * 2 + [(200, "PodList", None)]
        api.fail_requests(1)
        async with s.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
            body = await r.json()
        assert (r.status, body["reason"], body["code"]) == (500, "InternalError", 500)
        assert body["message"].startswith("Internal error occurred:")


async def test_slow_requests_delays_every_answer_until_reset() -> None:
    async with FakeApiServer() as api, aiohttp.ClientSession() as s:
        url = f"{api.url}/api/v1/pods"
        api.slow_requests(0.4)
        start = time.monotonic()
        async with s.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
            assert r.status == 200
        assert time.monotonic() - start >= 0.4
        api.slow_requests(0)
        start = time.monotonic()
        async with s.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
            assert r.status == 200
        assert time.monotonic() - start < 0.3
