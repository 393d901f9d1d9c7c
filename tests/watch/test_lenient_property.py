"""Property: whatever happens to some objects (values this version never saw, fields removed,
fields of another type, unknown keys), the reflector keeps going and every *other* object's
incident still appears. Realistic pods and nodes are mutated at random, served by the fake API
server in the initial list and in the watch, and fed through the real reflector and detector."""

from __future__ import annotations

import asyncio
import copy
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsleuth.detect import Detector
from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.lab.sample_pods import sample_pod
from podsleuth.watch import NODES, PODS, Change, Reflector, Synced
from tests.detect.builders import detector, node_conditions, node_dict, pod_dict, waiting

from .helpers import FakeSleep, Observed

Path_ = list[str | int]
_IDENTITY = {"name", "namespace", "labels", "generateName"}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["True", "False", "Unknown", "Hibernating", "", "2026-13-45"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: Path_) -> list[Path_]:
    """Paths into what podsleuth decodes: spec, status, metadata but for what the (fake) API
    server itself needs to store the object (name, namespace, labels)."""
    out: list[Path_] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        if (
            (not prefix and k not in ("metadata", "spec", "status"))
            or (prefix == ["metadata"] and k in _IDENTITY)
            or k == "managedFields"
        ):
            continue
        out.append([*prefix, k])
        out.extend(_paths(v, [*prefix, k]))
    return out


@st.composite
def mutated(draw: st.DrawFn, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with 1-4 random mutations: replace, delete, or add an unknown key anywhere."""
    obj = copy.deepcopy(obj)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(obj, [])
        path = draw(st.sampled_from(paths).filter(lambda p: p != ["metadata"]))
        parent: Any = obj
        for step in path[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if op == "replace":
            parent[path[-1]] = draw(json_values)
        elif op == "delete":
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.text(min_size=1, max_size=8))] = draw(json_values)
    return obj


def _crashing(name: str) -> dict[str, Any]:
    return pod_dict(
        name=name,
        namespace="shop",
        uid=f"uid-{name}",
        owner=("ReplicaSet", f"{name}-rs"),
        containers=[waiting("app", "CrashLoopBackOff", "back-off 5m0s", restarts=9)],
    )


async def _scenario(
    odd_pods: list[dict[str, Any]], odd_nodes: list[dict[str, Any]], late: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    det: Detector = detector()
    seen: set[tuple[str, str]] = set()
    watched_seen = asyncio.Event()
    """(category, pod or node name) of every incident change"""
    observed = Observed()

    async def consume(reflector: Reflector[Any], handle: Any, synced: asyncio.Event) -> None:
        async for item in reflector:
            if isinstance(item, Synced):
                synced.set()
                continue
            assert isinstance(item, Change)
            for ch in handle(item.old, None if item.kind == "deleted" else item.new, now):
                inc = ch.incident
                for name in (inc.pod, inc.node, *inc.pods, *inc.nodes):
                    if name:
                        seen.add((inc.category, name))
                if ("crash-loop", "watched-crash") in seen:
                    watched_seen.set()

    async with FakeApiServer(bookmark_interval=None) as api:
        for p in odd_pods:
            api.put("pods", p)
        api.put("pods", _crashing("listed-crash"))
        for n in odd_nodes:
            api.put("nodes", n)
        api.put(
            "nodes", node_dict("node-down", node_conditions(ready="False", ready_reason="KubeletNotReady"))
        )
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = str(api.kubeconfig_path(Path(tmp)))
            async with await connect(kubeconfig=kubeconfig, context=None, request_timeout=5.0) as client:
                pods = Reflector(
                    client=client, resource=PODS, observer=observed, sleep=FakeSleep(), page_size=3
                )
                nodes = Reflector(client=client, resource=NODES, observer=observed, sleep=FakeSleep())
                pods_synced, nodes_synced = asyncio.Event(), asyncio.Event()
                tasks = [
                    asyncio.create_task(consume(pods, det.on_pod, pods_synced)),
                    asyncio.create_task(consume(nodes, det.on_node, nodes_synced)),
                ]
                try:
                    async with asyncio.timeout(10):
                        await pods_synced.wait()
                        await nodes_synced.wait()
                        await api.wait_for_watches(2)
                        api.put("pods", late)  # an odd object in the watch stream
                        api.put("pods", _crashing("watched-crash"))
                        await watched_seen.wait()  # the watch went on after the odd object
                finally:
                    for t in tasks:
                        t.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
    assert ("crash-loop", "listed-crash") in seen
    assert ("node-not-ready", "node-down") in seen
    assert observed.restarts == []  # never a re-list loop, never a restart
    assert sorted(observed.synced) == ["nodes", "pods"]  # one list each
    skipped_pods = sum(1 for r, _ in observed.skipped if r == "pods")
    assert len(pods.cache) + skipped_pods >= len(odd_pods) + 2


BASE_PODS = [sample_pod(i, namespace="shop") for i in range(3)]
BASE_NODE = node_dict("node-odd", node_conditions(ready="True"))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    odd_pods=st.tuples(*(mutated(p) for p in BASE_PODS)),
    odd_node=mutated(BASE_NODE),
    late=mutated(sample_pod(7, namespace="shop")),
)
def test_odd_objects_never_stop_the_reflector_nor_hide_other_incidents(
    odd_pods: tuple[dict[str, Any], ...], odd_node: dict[str, Any], late: dict[str, Any]
) -> None:
    json.dumps([odd_pods, odd_node, late])  # what the fake server will serve is JSON
    asyncio.run(_scenario(list(odd_pods), [odd_node], late))
