"""One FUSE daemon restart on one node breaking pods of three workloads is one group, not 3 alerts."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from podsleuth.config import NodeAgentSettings, Settings
from podsleuth.detect import IncidentChange
from podsleuth.diagnose.correlate import Correlator
from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.metrics import WatchMetrics
from podsleuth.runner import WatchPipeline
from tests.diagnose.chain import founding
from tests.diagnose.chain.conftest import NODE, FakeAgent, node
from tests.waiting import eventually

PODS = range(1, 4)


def test_correlator_merges_groups_by_key() -> None:
    c = Correlator()
    g1 = {
        "key": "n|cause|conn",
        "pods": ["a/p1"],
        "volumes": ["v1"],
        "workloads": ["Deployment/a"],
        "incidents": ["i1"],
    }
    merged, others = c.add("i1", g1)
    assert others == [] and merged["incidents"] == ["i1"]
    merged, others = c.add("i2", {**g1, "pods": ["b/p2"], "volumes": ["v2"], "incidents": ["i2"]})
    assert merged["pods"] == ["a/p1", "b/p2"] and merged["incidents"] == ["i1", "i2"]
    assert others == ["i1"], "the earlier member is re-emitted with the bigger group"
    c.drop("i1")
    assert c.group("i2") is not None and c.group("i2")["incidents"] == ["i2"]  # type: ignore[index]


async def test_watch_emits_one_group_listing_every_pod(tmp_path: Path) -> None:
    changes: list[IncidentChange] = []

    async def emit(change: IncidentChange) -> None:
        changes.append(change)

    async with (
        FakeApiServer(bookmark_interval=None) as api,
        FakeAgent(
            founding.findings(PODS), {founding.uid(i): founding.mounts(i) for i in PODS}, token=""
        ) as agent,
    ):
        api.put("nodes", node())
        api.put("pods", founding.plugin_pod())
        for i in PODS:
            for plural, obj in founding.objects(i):
                api.put(plural, obj)
        settings = Settings(node_agents=NodeAgentSettings(discovery="static", urls={NODE: agent.url}))
        client = await connect(kubeconfig=str(api.kubeconfig_path(tmp_path)), context=None)
        pipeline = WatchPipeline(client=client, settings=settings, emit=emit, metrics=WatchMetrics())
        task = asyncio.create_task(pipeline.run())
        try:
            def grouped() -> bool:
                groups = {c.incident.id: (c.to_contract()["incident"]["diagnosis"] or {}).get("group")
                          for c in changes}  # fmt: skip
                return len(groups) == 3 and all(g and len(g["pods"]) == 3 for g in groups.values())

            await eventually(grouped, within=15, what="three groups of three pods")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pipeline.aclose()
            await client.aclose()
    finals = {c.incident.id: c.to_contract()["incident"]["diagnosis"] for c in changes
              if c.incident.diagnosis}  # fmt: skip
    groups = [d["group"] for d in finals.values() if d and "group" in d]
    keys = {g["key"] for g in groups}
    assert len(keys) == 1, keys
    group = groups[-1]
    assert group["pods"] == [f"shop/app{i}-5f7b9c8d4-x{i}" for i in PODS]
    assert group["volumes"] == [f"pv-{i}" for i in PODS]
    assert group["workloads"] == [f"Deployment/app{i}" for i in PODS]
    assert len(group["incidents"]) == 3
    assert {d["root_cause"] for d in finals.values() if d} == {"stale-fuse-bind-after-daemon-restart"}
