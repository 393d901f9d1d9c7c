"""The whole watch pipeline against the fake API server: detection, signatures, diagnosis,
no duplicates across 410 re-lists and reconnects, deletions during a gap, time-based rules."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from podsleuth.lab.demo_cluster import FOUNDING_UID, demo_steps
from tests.pipeline.conftest import Running

NOW = datetime.now(UTC)


def _objects(plural: str, name_prefix: str) -> list[dict[str, Any]]:
    return [
        s.obj
        for s in demo_steps(NOW)
        if s.plural == plural and s.obj["metadata"].get("name", "").startswith(name_prefix)
    ]


def _crashing_cart() -> list[dict[str, Any]]:
    return _objects("pods", "cart-")


async def test_founding_incident_is_one_diagnosed_incident(running: Running) -> None:
    (pod,) = _objects("pods", "dashboard-")
    (event,) = _objects("events.k8s.io/events", "dashboard-")
    running.api.put("pods", pod)
    running.api.put("events.k8s.io/events", event)
    await running.until(lambda: bool(running.of("incident.opened", "container-start")))
    (opened,) = running.of("incident.opened")
    inc = opened.incident
    assert inc.signature == "runc-procfd-enoent-stale-fuse-csi-bind"
    assert (inc.namespace, inc.owner.kind, inc.owner.name) == ("monitoring", "Deployment", "dashboard")
    assert inc.node == "node-3" and inc.container == "grafana"
    assert inc.diagnosis is not None
    diagnosis = opened.to_contract()["incident"]["diagnosis"]
    facts = diagnosis["evidence"][0]["data"]
    assert facts["pod_uid"] == FOUNDING_UID
    assert facts["kubelet_root"] == "/data/kubernetes/kubelet"
    assert facts["volume"] == "dashboard-folder"
    assert 0 < diagnosis["confidence"] <= 1
    assert diagnosis["remediation"]
    contract = opened.to_contract()
    assert contract["event"] == "incident.opened"
    assert contract["incident"]["diagnosis"]["root_cause"]


async def test_thirty_crashing_replicas_are_one_incident(running: Running) -> None:
    template = _crashing_cart()[0]
    for i in range(30):
        pod = copy.deepcopy(template)
        pod["metadata"]["name"] = f"cart-5f7b9c8d4-r{i:03d}"
        pod["metadata"]["uid"] = f"00000000-0000-4000-8000-{i:012d}"
        running.api.put("pods", pod)
    await running.until(lambda: any(len(c.incident.pods) == 30 for c in running.changes))
    assert len(running.of("incident.opened")) == 1
    assert {c.incident.id for c in running.changes} == {running.changes[0].incident.id}


async def test_relist_after_410_reopens_nothing(running: Running) -> None:
    for pod in _crashing_cart():
        running.api.put("pods", pod)
    await running.until(lambda: any(len(c.incident.pods) == 3 for c in running.changes))
    await running.until(lambda: running.pipeline.settled)  # logs and the full diagnosis are out
    before = list(running.changes)
    running.api.compact()
    running.api.inject_error(code=410, reason="Expired")
    sample = running.metrics.registry.get_sample_value
    restarts = {"resource": "pods", "reason": "expired"}
    await running.until(lambda: (sample("podsleuth_watch_restarts_total", restarts) or 0) >= 1)
    await running.until(lambda: (sample("podsleuth_watch_lists_total", {"resource": "pods"}) or 0) >= 2)
    # one more real change after the re-list proves the stream is live again
    seen = running.metrics.event_counts["pods"]
    running.api.put("pods", _objects("pods", "frontend-")[0])
    await running.until(lambda: running.metrics.event_counts["pods"] > seen)
    assert running.changes == before, "a re-list must not re-open or re-count incidents"


async def test_pod_deleted_while_disconnected_resolves(running: Running) -> None:
    (pod,) = _objects("pods", "etl-")
    running.api.put("pods", pod)
    await running.until(lambda: bool(running.of("incident.opened", "container-config")))
    await running.api.stop()
    running.api.delete("pods", "data", pod["metadata"]["name"])
    running.api.compact()
    await running.api.start()
    await running.until(lambda: bool(running.of("incident.resolved", "container-config")), within=15)
    assert len(running.of("incident.opened")) == 1


async def test_stuck_container_creating_fires_on_time(running: Running) -> None:
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pod = {
        "metadata": {
            "name": "web-stuck",
            "namespace": "web",
            "uid": "stuck-uid",
            "creationTimestamp": created,
        },
        "spec": {"nodeName": "node-5", "containers": [{"name": "web", "image": "nginx:1.27"}]},
        "status": {
            "phase": "Pending",
            "startTime": created,
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": created}],
            "containerStatuses": [
                {
                    "name": "web",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                }
            ],
        },
    }
    await running.until(lambda: running.metrics.ready)
    running.api.put("pods", pod)
    await running.until(lambda: running.metrics.event_counts["pods"] >= 1)
    assert not running.changes, "a pod briefly ContainerCreating is normal life"
    # no further update of the pod: only the timer can open this incident
    await running.until(lambda: bool(running.of("incident.opened")), within=5)
    (opened,) = running.of("incident.opened")
    assert opened.incident.pod == "web-stuck"
    assert opened.incident.reason == "ContainerCreating"


async def test_node_pressure_and_metrics(running: Running) -> None:
    for step in demo_steps(NOW):
        if step.plural == "nodes":
            running.api.put("nodes", step.obj)
    await running.until(lambda: bool(running.of("incident.opened", "node-pressure")))
    (opened,) = running.of("incident.opened", "node-pressure")
    assert opened.incident.pod is None and opened.incident.node == "node-3"
    exposition = running.metrics.exposition().decode()
    assert 'podsleuth_incidents_open{category="node-pressure"} 1.0' in exposition
    assert 'podsleuth_watch_events_total{resource="nodes"}' in exposition
    assert running.metrics.ready
