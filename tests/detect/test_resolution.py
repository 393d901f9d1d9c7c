"""Resolution after resolve_after of quiet: pod recovers, pod deleted, deployment rolled; no flapping."""

from __future__ import annotations

from podsleuth.watch.objects import Pod
from tests.detect.builders import (
    at,
    detector,
    kinds,
    last_term,
    make_pod,
    replica,
    run_until,
    running,
    waiting,
)


def crash(i: int, restarts: int = 3, **kw: object) -> Pod:
    return replica(
        i,
        containers=[
            waiting(
                "app", "CrashLoopBackOff", "back-off", restarts=restarts, last=last_term("Error", 1, at(0))
            )
        ],
        **kw,
    )


def test_resolves_after_quiet_when_pod_recovers() -> None:
    d = detector(thresholds={"resolve_after": "2m"})
    d.on_pod(None, crash(0), at(0))
    healthy = replica(0, containers=[running("app", restarts=3, last=last_term("Error", 1, at(0)))])
    assert d.on_pod(None, healthy, at(10)) == []
    assert d.tick(at(129)) == []
    changes = d.tick(at(130))
    assert kinds(changes) == [("incident.resolved", "crash-loop")]
    assert changes[0].incident.resolved_at == at(130)
    assert d.open_incidents() == [] and d.next_deadline() is None


def test_flap_within_quiet_period_keeps_the_same_incident() -> None:
    d = detector(thresholds={"resolve_after": "2m"})
    [opened] = d.on_pod(None, crash(0, 3), at(0))
    running_again = replica(
        0, containers=[running("app", restarts=4, ready=False, last=last_term("Error", 1, at(60)))]
    )
    d.on_pod(None, running_again, at(61))
    [upd] = d.on_pod(None, crash(0, 5), at(100))
    assert (
        upd.kind == "incident.updated" and upd.incident.id == opened.incident.id and upd.incident.count == 3
    )
    assert run_until(d, at(300)) == []


def test_resolves_when_the_pod_is_deleted() -> None:
    d = detector()
    bare = make_pod(
        name="debug",
        owner=None,
        labels={},
        phase="Pending",
        containers=[waiting("sh", "ErrImagePull", "not found")],
    )
    d.on_pod(None, bare, at(0))
    assert d.on_pod(bare, None, at(5)) == []
    assert kinds(run_until(d, at(5 + 120))) == [("incident.resolved", "image-pull")]


def test_deployment_rolled_to_a_fixed_version() -> None:
    d = detector()
    for i in range(3):
        d.on_pod(None, crash(i), at(i))
    fixed = {
        "owner": ("ReplicaSet", "web-5c6b8f9d7a"),
        "labels": {"app": "web", "pod-template-hash": "5c6b8f9d7a"},
    }
    for i in range(3):
        d.on_pod(None, make_pod(name=f"web-5c6b8f9d7a-n{i}", **fixed), at(30 + i))
        d.on_pod(crash(i), None, at(31 + i))
        assert d.tick(at(31 + i)) == []
    [resolved] = run_until(d, at(33 + 120))
    assert resolved.kind == "incident.resolved" and resolved.incident.count == 3


def test_reopens_with_a_new_id_after_resolution() -> None:
    d = detector()
    [a] = d.on_pod(None, crash(0), at(0))
    d.on_pod(crash(0), None, at(1))
    run_until(d, at(200))
    [b] = d.on_pod(None, crash(1), at(300))
    assert b.kind == "incident.opened" and b.incident.fingerprint == a.incident.fingerprint
    assert b.incident.id != a.incident.id
