"""Pending/unschedulable longer than thresholds.pending; a pod that gets scheduled is quiet."""

from __future__ import annotations

from podsleuth.watch.objects import Pod
from tests.detect.builders import at, cond, detector, event, kinds, make_pod, run_until

MSG = "0/6 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate, 5 Insufficient memory."  # noqa: E501


def unschedulable() -> Pod:
    return make_pod(
        phase="Pending",
        node=None,
        containers=[],
        conditions=[cond("PodScheduled", "False", at(0), "Unschedulable", MSG)],
    )


def test_unschedulable_fires_after_pending_threshold() -> None:
    d = detector(thresholds={"pending": "2m"})
    assert d.on_pod(None, unschedulable(), at(1)) == []
    d.on_event(event("FailedScheduling", MSG, first=at(0), last=at(30), type="Warning"), at(30))
    assert d.tick(at(119)) == []
    changes = run_until(d, at(120))
    assert kinds(changes) == [("incident.opened", "unschedulable")]
    assert changes[0].incident.message == MSG and changes[0].incident.reason == "FailedScheduling"
    assert changes[0].incident.container is None


def test_pending_briefly_is_quiet() -> None:
    d = detector()
    pod = unschedulable()
    d.on_pod(None, pod, at(1))
    assert d.on_pod(pod, make_pod(created=at(0)), at(20)) == []
    assert run_until(d, at(3600)) == []
