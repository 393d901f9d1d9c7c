"""One object that this version does not know (a new enum value, a field of the wrong type, an
unknown container state) costs at most itself: never its list page, never the watch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from podsleuth.kube import KubeClient
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.metrics import WatchMetrics
from podsleuth.watch import NODES, PODS, Reflector
from podsleuth.watch.lenient import Skipped, convert
from podsleuth.watch.objects import Node, Pod

from .helpers import Driver, FakeSleep, Observed, names, pod


def _odd(name: str, **status: Any) -> dict[str, Any]:
    p = pod(name)
    p["status"].update(status)
    return p


async def test_list_page_with_odd_objects_keeps_all_but_the_undecodable_one(
    api: FakeApiServer, client: KubeClient
) -> None:
    api.put("pods", _odd("new-phase", phase="Hibernating"))
    api.put("pods", _odd("odd-condition", conditions=[{"type": "Ready", "status": "Maybe"}]))
    api.put(
        "pods",
        _odd(
            "new-state",
            containerStatuses=[
                {"name": "main", "ready": False, "restartCount": 0, "state": {"paused": {"since": "x"}}}
            ],
        ),
    )
    api.put(
        "pods",
        _odd(
            "wrong-types",
            startTime="yesterday",
            containerStatuses=[
                {"name": "main", "ready": True, "restartCount": "3", "state": {"running": {}}}
            ],
        ),
    )
    bad = pod("no-identity")
    bad["metadata"]["uid"] = 12345  # an identity field of the wrong type: beyond repair
    api.put("pods", bad)
    api.put("pods", pod("plain"))
    observed = Observed()
    reflector = Reflector(client=client, resource=PODS, observer=observed, sleep=FakeSleep(), page_size=4)
    async with Driver(reflector) as d:
        changes = await d.until_synced()
        assert sorted(n for _, n in names(changes)) == [
            "new-phase",
            "new-state",
            "odd-condition",
            "plain",
            "wrong-types",
        ]
        api.put("pods", pod("after"))  # the watch goes on from the list
        assert names(await d.changes(1)) == [("added", "after")]
    assert observed.skipped == [("pods", "invalid")]
    assert observed.restarts == [] and observed.synced == ["pods"]
    cache: dict[tuple[str, str], Pod] = reflector.cache
    assert cache[("default", "new-phase")].status.phase == "Hibernating"  # kept as the string
    conds = cache[("default", "odd-condition")].status.conditions
    assert conds is not None and conds[0].status == "Maybe"
    wrong = cache[("default", "wrong-types")]
    assert wrong.status.start_time is None  # the unparseable field alone is dropped
    css = wrong.status.container_statuses
    assert css is not None and css[0].restart_count == 3 and css[0].ready
    state = cache[("default", "new-state")].status.container_statuses[0].state  # type: ignore[index]
    assert state is not None and (state.waiting, state.running, state.terminated) == (None, None, None)


async def test_watch_event_with_undecodable_object_is_skipped_and_the_stream_goes_on(
    api: FakeApiServer, client: KubeClient
) -> None:
    metrics = WatchMetrics()
    reflector = Reflector(client=client, resource=PODS, observer=metrics, sleep=FakeSleep())
    async with Driver(reflector) as d:
        await d.until_synced()
        await api.wait_for_watches()
        bad = pod("bad")
        bad["metadata"]["namespace"] = ["a", "list"]
        api.inject_line(b'{"type":"ADDED","object":' + _json(bad) + b"}")
        api.put("pods", _odd("odd", phase="Paused", conditions=[{"type": "Ready", "status": 7}]))
        api.put("pods", pod("ok"))
        assert names(await d.changes(2)) == [("added", "odd"), ("added", "ok")]
        assert not reflector.backoff.failures
    text = metrics.exposition().decode()
    assert 'podsleuth_watch_objects_skipped_total{reason="invalid",resource="pods"} 1.0' in text
    odd: Pod = reflector.cache[("default", "odd")]
    assert odd.status.phase == "Paused"
    assert odd.status.conditions is not None and odd.status.conditions[0].status == "7"


async def test_node_with_unknown_condition_status_decodes(api: FakeApiServer, client: KubeClient) -> None:
    api.put(
        "nodes",
        {
            "metadata": {"name": "n1"},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "Degraded", "lastTransitionTime": "2026-01-01T00:00:00Z"}
                ]
            },
        },
    )
    api.put("nodes", {"metadata": {"name": "n2"}})
    observed = Observed()
    reflector = Reflector(client=client, resource=NODES, observer=observed, sleep=FakeSleep())
    async with Driver(reflector) as d:
        assert len(await d.until_synced()) == 2
    node: Node = reflector.cache[("", "n1")]
    assert node.status.conditions is not None and node.status.conditions[0].status == "Degraded"
    assert observed.skipped == [] and observed.restarts == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([1, 2], "not-an-object"),
        ({"metadata": {"name": 5}}, "invalid"),
        ({"spec": {}}, "no-name"),
        ({"metadata": {"name": "x"}, "status": {"conditions": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}, "invalid"),
    ],
)
def test_what_cannot_be_repaired_is_skipped_with_a_reason(value: Any, reason: str) -> None:
    with pytest.raises(Skipped) as e:
        convert(value, Pod)
    assert e.value.reason == reason


def test_nulls_are_absent_and_bad_list_items_are_dropped_alone() -> None:
    p, removed = convert(
        {
            "metadata": {"name": "x", "namespace": None, "labels": {"a": None}},
            "status": {"conditions": ["junk", {"type": "Ready", "status": "True"}]},
        },
        Pod,
    )
    assert p.metadata.namespace == "" and p.metadata.labels == {}
    assert p.status.conditions is not None and [c.type for c in p.status.conditions] == ["Ready"]
    assert removed == [".status.conditions[0]"]


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


async def test_a_deletion_whose_object_cannot_be_decoded_still_deletes(
    api: FakeApiServer, client: KubeClient
) -> None:
    api.put("pods", pod("doomed"))
    observed = Observed()
    reflector = Reflector(client=client, resource=PODS, observer=observed, sleep=FakeSleep())
    async with Driver(reflector) as d:
        assert names(await d.until_synced()) == [("added", "doomed")]
        await api.wait_for_watches()
        last = pod("doomed")
        last["metadata"]["uid"] = {"not": "a string"}
        api.inject_line(b'{"type":"DELETED","object":' + _json(last) + b"}")
        assert names(await d.changes(1)) == [("deleted", "doomed")]
    assert observed.skipped == [("pods", "invalid")]
    assert reflector.cache == {}
