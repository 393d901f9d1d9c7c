from __future__ import annotations

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.watch import PODS, Reflector

from .helpers import Driver, FakeSleep, Observed, names, pod


async def test_malformed_wrong_shape_and_oversize_lines_are_counted_and_skipped(
    api: FakeApiServer, client: KubeClient
) -> None:
    observed = Observed()
    reflector = Reflector(client=client, resource=PODS, observer=observed, sleep=FakeSleep(), max_line=4096)
    async with Driver(reflector) as d:
        await d.until_synced()
        await api.wait_for_watches()
        api.inject_line(b'{"type":"ADDED","object":{"metadata":')
        api.inject_line(b'{"type":"ADDED","object":{"metadata":"not-a-mapping"}}')
        api.inject_line(
            b'{"type":"ADDED","object":{"metadata":{"name":"x"}},"pad":"' + b"x" * 300_000 + b'"}'
        )
        api.inject_line(b"[1, 2, 3]")
        api.inject_line(b'{"type":"SURPRISE","object":{}}')
        api.put("pods", pod("ok"))
        assert names(await d.changes(1)) == [("added", "ok")]
    assert [r for _, r in observed.bad] == [
        "malformed",
        "oversize",
        "wrong-shape",
        "wrong-shape",
    ]
    # a well-formed watch event whose object is beyond repair: that object alone is skipped
    assert observed.skipped == [("pods", "invalid")]
    assert observed.restarts == []  # the stream went on
    assert list(reflector.cache) == [("default", "ok")]
