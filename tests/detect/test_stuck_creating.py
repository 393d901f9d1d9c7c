"""Stuck ContainerCreating fires on the timer at the threshold, without any new update."""

from __future__ import annotations

from podsleuth.watch.objects import Pod
from tests.detect.builders import at, cond, detector, kinds, make_pod, run_until, waiting

CREATING_CONDS = [
    cond("Initialized", "True"),
    cond("Ready", "False", reason="ContainersNotReady"),
    cond("ContainersReady", "False"),
    cond("PodScheduled", "True"),
]


def creating() -> Pod:
    return make_pod(
        phase="Pending", containers=[waiting("app", "ContainerCreating")], conditions=CREATING_CONDS
    )


def test_fires_at_threshold_on_tick_and_not_before() -> None:
    d = detector(thresholds={"stuck_creating": "5m"})
    assert d.on_pod(None, creating(), at(2)) == []
    assert d.next_deadline() == at(300)
    assert d.tick(at(299)) == []
    changes = d.tick(at(300))
    assert kinds(changes) == [("incident.opened", "container-start")]
    inc = changes[0].incident
    assert inc.reason == "ContainerCreating" and "5m" in inc.message
    assert d.tick(at(600)) == []  # no repeat


def test_brief_container_creating_is_normal_life() -> None:
    d = detector()
    pod = creating()
    d.on_pod(None, pod, at(1))
    up = make_pod()
    assert d.on_pod(pod, up, at(8)) == []
    assert d.next_deadline() is None
    assert run_until(d, at(3600)) == []


def test_pod_initializing_stuck_too() -> None:
    d = detector(thresholds={"stuck_creating": "2m"})
    pod = make_pod(
        phase="Pending",
        containers=[waiting("app", "PodInitializing")],
        init=[waiting("init", "PodInitializing")],
        conditions=CREATING_CONDS,
    )
    d.on_pod(None, pod, at(1))
    assert kinds(run_until(d, at(121))) == [("incident.opened", "container-start")]


def test_seen_first_long_after_creation_fires_at_once() -> None:
    d = detector()
    assert kinds(d.on_pod(None, creating(), at(3600))) == [("incident.opened", "container-start")]
