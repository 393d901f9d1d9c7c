"""Start-up of the whole watch pipeline (issue 17, item 1): a pod stuck in ContainerCreating
by a mount failure gets one incident, the precise one, whether the events list comes after the
pods, before them, or the explaining event only later."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from podsleuth.config import parse_settings
from podsleuth.detect import IncidentChange
from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.metrics import WatchMetrics
from podsleuth.runner import WatchPipeline
from tests.waiting import eventually

FAST = """
watch:
  backoff_max: 0.3s
  read_timeout: 5s
  thresholds: {stuck_creating: 2s, pending: 1s, resolve_after: 5s}
"""
MOUNT = (
    'MountVolume.SetUp failed for volume "data" : rpc error: code = Internal desc = mount failed: '
    "exit status 32 Mounting command: mount Mounting arguments: -t nfs 10.0.0.5:/exports/data"
)
EVENTS = "events.k8s.io/events"


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _stuck_pod(since: datetime, name: str = "abcde") -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"web-5d8f-{name}",
            "namespace": "shop",
            "uid": f"uid-web-{name}",
            "creationTimestamp": _ts(since),
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d8f", "controller": True}],
        },
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx"}]},
        "status": {
            "phase": "Pending",
            "startTime": _ts(since),
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": _ts(since)}],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                }
            ],
        },
    }


def _mount_event(first: datetime, last: datetime, count: int, name: str = "abcde") -> dict[str, Any]:
    return {
        "metadata": {"name": f"web-5d8f-{name}.{count}", "namespace": "shop"},
        "regarding": {"kind": "Pod", "namespace": "shop", "name": f"web-5d8f-{name}",
                      "uid": f"uid-web-{name}"},
        "reason": "FailedMount",
        "note": MOUNT,
        "type": "Warning",
        "action": "Mount",
        "reportingController": "kubelet",
        "reportingInstance": "node-1",
        "eventTime": None,
        "deprecatedCount": count,
        "deprecatedFirstTimestamp": _ts(first),
        "deprecatedLastTimestamp": _ts(last),
    }


class Started:
    def __init__(self, api: FakeApiServer, changes: list[IncidentChange]) -> None:
        self.api, self.changes = api, changes

    def kinds(self) -> list[tuple[str, str, str]]:
        """The changes of the pod under test (not the marker's)."""
        return [(c.kind, c.incident.category, c.incident.id) for c in self.changes
                if c.incident.pod == "web-5d8f-abcde"]  # fmt: skip

    async def until(self, predicate: Any, within: float = 10.0) -> None:
        """The changes list is filled by the pipeline's emit callback."""
        try:
            await eventually(predicate, within=within)
        except AssertionError:
            pytest.fail(f"not reached within {within}s: {self.kinds()}")

    async def settled(self) -> None:
        """A marker pod and its mount event, put now on both streams: once its volume-mount
        incident is out, everything sent before it on either stream has been processed."""
        now = datetime.now(UTC)
        self.api.put("pods", _stuck_pod(now - timedelta(minutes=20), name="marker"))
        self.api.put(EVENTS, _mount_event(now, now, 1, name="marker"))
        marker = ("web-5d8f-marker", "volume-mount")
        await self.until(lambda: any((c.incident.pod, c.incident.category) == marker for c in self.changes))


@contextlib.asynccontextmanager
async def started(tmp_path: Path, setup: Any) -> AsyncIterator[Started]:
    changes: list[IncidentChange] = []

    async def emit(change: IncidentChange) -> None:
        changes.append(change)

    async with FakeApiServer(bookmark_interval=0.5) as api:
        setup(api)
        client = await connect(kubeconfig=str(api.kubeconfig_path(tmp_path)), context=None)
        pipeline = WatchPipeline(
            client=client, settings=parse_settings(FAST), emit=emit, metrics=WatchMetrics()
        )
        task = asyncio.create_task(pipeline.run())
        try:
            yield Started(api, changes)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pipeline.aclose()
            await client.aclose()


NOW = datetime.now(UTC)


@pytest.mark.parametrize("late", ["pods", EVENTS])
async def test_stuck_pod_at_start_up_is_one_precise_incident_in_either_list_order(
    tmp_path: Path, late: str
) -> None:
    def setup(api: FakeApiServer) -> None:
        api.put("pods", _stuck_pod(NOW - timedelta(minutes=20)))
        api.put(EVENTS, _mount_event(NOW - timedelta(minutes=19), NOW - timedelta(seconds=30), 11))
        api.deny("list", late)  # this list comes second: its first attempts are forbidden

    path = "/api/v1/pods" if late == "pods" else "/apis/events.k8s.io/v1/events"
    async with started(tmp_path, setup) as s:
        await s.until(lambda: any(p == path and "watch" not in q for _, p, q in s.api.requests))  # refused
        s.api.allow("list", late)
        await s.until(lambda: any(c.incident.category == "volume-mount" for c in s.changes))
        await s.settled()  # a wrong second incident would be out by now
        kinds = s.kinds()
        assert [k for k, _, _ in kinds].count("incident.opened") == 1, kinds
        assert {(c, i) for _, c, i in kinds} == {("volume-mount", s.changes[0].incident.id)}, kinds


async def test_an_event_arriving_late_turns_the_vague_incident_into_the_precise_one(tmp_path: Path) -> None:
    def setup(api: FakeApiServer) -> None:
        api.put("pods", _stuck_pod(NOW - timedelta(minutes=20)))

    async with started(tmp_path, setup) as s:
        await s.until(lambda: bool(s.changes))
        opened = s.changes[0]
        assert (opened.kind, opened.incident.category) == ("incident.opened", "container-start"), s.kinds()
        now = datetime.now(UTC)
        s.api.put(EVENTS, _mount_event(now, now, 1))
        await s.until(lambda: any(c.incident.category == "volume-mount" for c in s.changes))
        await s.settled()
        assert {i for _, _, i in s.kinds()} == {opened.incident.id}, s.kinds()  # one thread
        updates = [(k, c) for k, c, _ in s.kinds()[1:]]
        assert updates and all(k == "incident.updated" for k, _ in updates)
        assert updates[-1][1] == "volume-mount"
        assert [k for k, _, _ in s.kinds()].count("incident.opened") == 1
        assert "incident.resolved" not in [k for k, _, _ in s.kinds()]
