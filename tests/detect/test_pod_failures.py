"""Terminal pod reasons (Evicted, DeadlineExceeded, admission rejections) and Job outcomes."""

from __future__ import annotations

from podsleuth.watch.objects import Pod
from tests.detect.builders import at, cond, detector, kinds, make_pod, run_until, terminated

EVICTED = "The node was low on resource: memory. Container citadel was using 43536Ki, which exceeds its request of 0."  # noqa: E501


def failed(reason: str, message: str, t: float = 0, **kw: object) -> Pod:
    return make_pod(
        phase="Failed",
        reason=reason,
        message=message,
        containers=[terminated("app", reason="Error", exit_code=137, finished=at(t))],
        conditions=[cond("Ready", "False", at(t)), cond("PodScheduled", "True", at(0))],
        **kw,
    )


def test_evicted() -> None:
    d = detector()
    [c] = d.on_pod(None, failed("Evicted", EVICTED, 10), at(11))
    assert (c.incident.category, c.incident.reason, c.incident.severity) == ("evicted", "Evicted", "warning")
    assert c.incident.message == EVICTED


def test_evictions_resolve_after_quiet_even_if_the_failed_pod_lingers() -> None:
    d = detector(thresholds={"resolve_after": "2m"})
    d.on_pod(None, failed("Evicted", EVICTED, 10), at(11))
    assert kinds(run_until(d, at(10 + 240))) == [("incident.resolved", "evicted")]


def test_old_evicted_pods_on_startup_are_history() -> None:
    d = detector()
    assert d.on_pod(None, failed("Evicted", EVICTED, 0), at(86400)) == []


def test_deadline_exceeded_and_admission_rejections() -> None:
    d = detector()
    msg = "Pod was active on the node longer than the specified deadline"
    assert kinds(d.on_pod(None, failed("DeadlineExceeded", msg, 5), at(6))) == [
        ("incident.opened", "deadline-exceeded")
    ]
    d2 = detector()
    msg2 = "Pod was rejected: Node didn't have enough resource: cpu, requested: 150, used: 11388, capacity: 11500"  # noqa: E501
    [c] = d2.on_pod(None, failed("OutOfcpu", msg2, 5), at(6))
    assert (c.incident.category, c.incident.severity) == ("evicted", "warning")


def test_completed_job_is_quiet_and_failed_job_is_reported() -> None:
    d = detector()
    job = {"owner": ("Job", "report-28973520"), "labels": {"job-name": "report-28973520"}}
    done = make_pod(
        name="report-28973520-k2x",
        phase="Succeeded",
        containers=[terminated("report", reason="Completed", exit_code=0, finished=at(30))],
        conditions=[cond("Ready", "False", at(30), "PodCompleted")],
        **job,
    )
    assert d.on_pod(None, done, at(31)) == []
    bad = make_pod(
        name="report-28973521-p9q",
        phase="Failed",
        containers=[terminated("report", reason="Error", exit_code=3, finished=at(90))],
        conditions=[cond("Ready", "False", at(90), "PodFailed")],
        owner=("Job", "report-28973521"),
        labels={},
    )
    [c] = d.on_pod(None, bad, at(91))
    assert (c.incident.category, c.incident.owner.kind, c.incident.owner.name) == (
        "container-failed",
        "CronJob",
        "report",
    )
    assert c.incident.last_termination is not None and c.incident.last_termination.exit_code == 3
