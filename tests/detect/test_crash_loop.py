"""CrashLoopBackOff is crash-loop, unless the last termination says OOMKilled or StartError."""

from __future__ import annotations

from podsleuth.watch.objects import Pod
from tests.detect.builders import at, detector, kinds, last_term, make_pod, run_until, running, waiting

BACKOFF = "back-off 40s restarting failed container=app pod=web-7d9f8b6c5d-x2x9q_shop(uid)"


def crashing(restarts: int, reason: str = "Error", code: int = 1, t: float = 0) -> Pod:
    return make_pod(
        containers=[
            waiting(
                "app",
                "CrashLoopBackOff",
                BACKOFF,
                restarts=restarts,
                last=last_term(reason, code, at(t), "panic: nil map"),
            )
        ],
        conditions=None,
    )


def test_crash_loop_opens_with_last_termination_and_wants_logs() -> None:
    d = detector()
    [c] = d.on_pod(None, crashing(3, t=10), at(12))
    assert (c.kind, c.incident.category, c.incident.reason) == (
        "incident.opened",
        "crash-loop",
        "CrashLoopBackOff",
    )
    assert c.wants_logs
    inc = c.incident
    assert inc.restart_count == 3 and inc.container == "app"
    assert inc.last_termination is not None and inc.last_termination.exit_code == 1
    assert inc.message == "panic: nil map"
    assert (inc.owner.kind, inc.owner.name) == ("Deployment", "web")


def test_restarts_count_distinct_occurrences_not_updates() -> None:
    d = detector()
    d.on_pod(None, crashing(3), at(0))
    assert d.on_pod(None, crashing(3), at(5)) == []
    [c] = d.on_pod(None, crashing(4), at(60))
    assert (c.kind, c.incident.count, c.incident.restart_count) == ("incident.updated", 2, 4)
    assert c.wants_logs


def test_oom_in_last_state_of_crash_loop_is_oom_killed() -> None:
    d = detector()
    changes = d.on_pod(None, crashing(5, "OOMKilled", 137, t=30), at(31))
    assert kinds(changes) == [("incident.opened", "oom-killed")]
    assert changes[0].incident.reason == "OOMKilled"
    lt = changes[0].incident.last_termination
    assert lt is not None and lt.exit_code == 137


def test_recent_oom_kill_of_a_running_container_opens_then_resolves() -> None:
    d = detector(thresholds={"resolve_after": "2m"})
    pod = make_pod(
        containers=[running("app", restarts=1, started=at(31), last=last_term("OOMKilled", 137, at(30)))]
    )
    assert kinds(d.on_pod(None, pod, at(40))) == [("incident.opened", "oom-killed")]
    resolved = run_until(d, at(1000))
    assert kinds(resolved) == [("incident.resolved", "oom-killed")]
    assert resolved[0].incident.resolved_at == at(30 + 120 + 120)


def test_old_oom_kill_seen_on_startup_is_history() -> None:
    d = detector()
    pod = make_pod(containers=[running("app", restarts=1, last=last_term("OOMKilled", 137, at(0)))])
    assert d.on_pod(None, pod, at(3 * 86400)) == []
    assert d.next_deadline() is None


def test_single_crash_of_a_restarting_container_is_not_an_incident() -> None:
    d = detector()
    pod = make_pod(
        containers=[running("app", restarts=1, started=at(11), last=last_term("Error", 2, at(10)))]
    )
    assert d.on_pod(None, pod, at(12)) == []
