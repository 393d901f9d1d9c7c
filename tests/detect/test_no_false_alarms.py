"""Normal cluster life produces no incident at all."""

from __future__ import annotations

from typing import Any

from tests.detect.builders import (
    RS_HASH,
    at,
    cond,
    detector,
    event,
    make_node,
    make_pod,
    node_conditions,
    ready_conditions,
    run_until,
    terminated,
    waiting,
)

NEW_HASH = "5c6b8f9d7a"


def test_rolling_update() -> None:
    """Old pods deleted gracefully, new pods briefly Pending/ContainerCreating, then Running."""
    d = detector()
    changes = []
    olds = [make_pod(name=f"web-{RS_HASH}-o{i}") for i in range(3)]
    for p in olds:
        changes += d.on_pod(None, p, at(0))
    for i, old in enumerate(olds):
        t = 10 + 30 * i
        new_labels = {"app": "web", "pod-template-hash": NEW_HASH}
        name = f"web-{NEW_HASH}-n{i}"
        kw: dict[str, Any] = {
            "name": name,
            "owner": ("ReplicaSet", f"web-{NEW_HASH}"),
            "labels": new_labels,
            "created": at(t),
        }
        pending = make_pod(phase="Pending", node=None, containers=[], conditions=[], **kw)
        creating = make_pod(
            phase="Pending",
            containers=[waiting("app", "ContainerCreating")],
            conditions=ready_conditions(at(t + 1), ready=False),
            **kw,
        )
        up = make_pod(conditions=ready_conditions(at(t + 6)), **kw)
        changes += d.on_pod(None, pending, at(t))
        changes += d.on_pod(pending, creating, at(t + 1))
        changes += d.on_event(
            event(
                "Pulling",
                'Pulling image "web:1.4.3"',
                pod=name,
                type="Normal",
                first=at(t + 2),
            ),
            at(t + 2),
        )
        changes += d.on_pod(creating, up, at(t + 6))
        deleting = make_pod(name=old.metadata.name, deletion=at(t + 37), grace=30)
        changes += d.on_pod(old, deleting, at(t + 7))
        exited = make_pod(
            name=old.metadata.name,
            deletion=at(t + 37),
            grace=30,
            containers=[terminated("app", reason="Error", exit_code=143, finished=at(t + 9))],
            conditions=ready_conditions(at(t + 9), ready=False),
        )
        changes += d.on_pod(deleting, exited, at(t + 9))
        changes += d.on_pod(exited, None, at(t + 10))
        changes += run_until(d, at(t + 29))
    changes += run_until(d, at(7200))
    assert changes == []
    assert d.open_incidents() == [] and d.next_deadline() is None


def test_job_completion() -> None:
    d = detector()
    kw = {"name": "report-28973520-k2x", "owner": ("Job", "report-28973520"), "labels": {}}
    run = make_pod(**kw)
    done = make_pod(
        phase="Succeeded",
        containers=[terminated("app", reason="Completed", exit_code=0, finished=at(30))],
        conditions=[cond("Ready", "False", at(30), "PodCompleted")],
        **kw,
    )
    assert d.on_pod(None, run, at(0)) + d.on_pod(run, done, at(31)) + d.on_pod(done, None, at(600)) == []
    assert run_until(d, at(7200)) == []


def test_node_heartbeats_and_healthy_pods_do_nothing() -> None:
    d = detector()
    for i in range(100):
        assert d.on_pod(None, make_pod(name=f"web-{RS_HASH}-{i:05d}"), at(i)) == []
        assert d.on_node(None, make_node(conditions=node_conditions(ready_since=at(0))), at(i)) == []
    assert d.next_deadline() is None


def test_historical_warning_events_for_a_healthy_pod_are_quiet() -> None:
    """The initial list replays hours-old events; the pod is fine now, so nothing opens."""
    d = detector()
    d.on_pod(None, make_pod(), at(7200))
    for reason, msg in (
        ("FailedMount", 'MountVolume.SetUp failed for volume "x" : configmap "y" not found'),
        ("BackOff", "Back-off restarting failed container"),
        ("FailedCreatePodSandBox", "Failed to create pod sandbox: network not ready"),
        ("Unhealthy", "Readiness probe failed: connection refused"),
    ):
        assert d.on_event(event(reason, msg, first=at(0), last=at(60), count=5), at(7200)) == []
    assert run_until(d, at(20000)) == []
