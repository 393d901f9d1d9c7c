"""Probe failures count only when the pod stays not ready for thresholds.probe_failure."""

from __future__ import annotations

from podsleuth.watch.objects import Pod
from tests.detect.builders import at, detector, event, kinds, make_pod, ready_conditions, run_until, running

LIVENESS = 'Liveness probe failed: Get "http://10.244.1.17:9440/healthz": dial tcp 10.244.1.17:9440: connect: connection refused'  # noqa: E501
READINESS = "Readiness probe failed: HTTP probe failed with statuscode: 500"


def not_ready(since: float, ns: str = "shop") -> Pod:
    return make_pod(
        namespace=ns,
        containers=[running("app", ready=False)],
        conditions=ready_conditions(at(since), ready=False),
    )


def test_one_readiness_failure_during_startup_is_quiet() -> None:
    d = detector()
    starting = not_ready(0)
    d.on_pod(None, starting, at(1))
    d.on_event(
        event("Unhealthy", READINESS, first=at(3), last=at(3), field_path="spec.containers{app}"), at(3)
    )
    assert d.on_pod(starting, make_pod(conditions=ready_conditions(at(12))), at(12)) == []
    assert run_until(d, at(3600)) == []


def test_persistent_probe_failure_opens_on_time() -> None:
    d = detector(thresholds={"probe_failure": "60s"})
    pod = not_ready(100)
    d.on_pod(None, pod, at(100))
    d.on_event(
        event("Unhealthy", READINESS, first=at(95), last=at(130), count=4, field_path="spec.containers{app}"),
        at(130),
    )
    assert d.tick(at(159)) == []
    changes = run_until(d, at(160))
    assert kinds(changes) == [("incident.opened", "probe-failure")]
    inc = changes[0].incident
    assert (inc.container, inc.severity, inc.reason) == ("app", "warning", "Unhealthy")
    d.on_pod(pod, make_pod(conditions=ready_conditions(at(200))), at(200))
    assert kinds(run_until(d, at(400))) == [("incident.resolved", "probe-failure")]


def test_kube_system_probe_failures_ignored_by_default_but_configurable() -> None:
    opened = [("incident.opened", "probe-failure")]
    for d, expected in (
        (detector(), []),
        (detector(default_ignore=()), opened),
        (detector(default_ignore=False), opened),  # the config key watch.default_ignore
    ):
        d.on_pod(None, not_ready(0, ns="kube-system"), at(0))
        d.on_event(event("Unhealthy", LIVENESS, namespace="kube-system", first=at(1), last=at(50)), at(50))
        assert kinds(run_until(d, at(100))) == expected


def test_unhealthy_events_for_a_ready_pod_are_quiet() -> None:
    d = detector()
    d.on_pod(None, make_pod(), at(0))
    d.on_event(event("Unhealthy", READINESS, first=at(1), last=at(300), count=30), at(300))
    assert run_until(d, at(3600)) == []
