"""Stuck terminating: deletionTimestamp (already request time + grace) + terminating_extra."""

from __future__ import annotations

from tests.detect.builders import at, detector, event, kinds, make_pod, run_until


def test_graceful_termination_is_quiet() -> None:
    d = detector()
    pod = make_pod()
    d.on_pod(None, pod, at(0))
    deleting = make_pod(deletion=at(40), grace=30)  # deleted at 10s, grace 30s
    assert d.on_pod(pod, deleting, at(10)) == []
    assert d.on_pod(deleting, None, at(35)) == []
    assert run_until(d, at(7200)) == []


def test_stuck_past_grace_fires_on_time() -> None:
    d = detector(thresholds={"terminating_extra": "5m"})
    deleting = make_pod(deletion=at(40), grace=30)
    assert d.on_pod(None, deleting, at(10)) == []
    assert d.next_deadline() == at(340)
    changes = run_until(d, at(340))
    assert kinds(changes) == [("incident.opened", "stuck-terminating")]
    assert changes[0].incident.reason == "Terminating" and changes[0].incident.severity == "warning"
    d.on_pod(deleting, None, at(400))
    assert kinds(run_until(d, at(400 + 120))) == [("incident.resolved", "stuck-terminating")]


def test_failed_kill_pod_opens_at_once_while_terminating() -> None:
    d = detector()
    msg = (
        'error killing pod: failed to "KillPodSandbox" for "0b4c" with KillPodSandboxError: "rpc error: code = '  # noqa: E501
        'Unknown desc = networkPlugin cni failed to teardown pod \\"web_shop\\" network"'
    )
    deleting = make_pod(deletion=at(40), grace=30)
    d.on_pod(None, deleting, at(10))
    changes = d.on_event(event("FailedKillPod", msg, first=at(41), last=at(41)), at(41))
    assert kinds(changes) == [("incident.opened", "stuck-terminating")]
    assert changes[0].incident.reason == "FailedKillPod"
