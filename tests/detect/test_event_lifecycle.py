"""Events arrive independently of pods: late events for gone pods open nothing and are forgotten."""

from __future__ import annotations

from tests.detect.builders import at, detector, event, make_pod, run_until, waiting


def test_late_event_for_a_deleted_pod_is_quiet_and_swept() -> None:
    d = detector()
    pod = make_pod(phase="Pending", containers=[waiting("app", "ContainerCreating")])
    d.on_pod(None, pod, at(0))
    d.on_pod(pod, None, at(5))
    assert d.next_deadline() is None
    msg = 'MountVolume.SetUp failed for volume "cfg" : configmap "app" not found'
    assert d.on_event(event("FailedMount", msg, first=at(6)), at(6)) == []
    assert run_until(d, at(4 * 3600)) == []
    assert d.next_deadline() is None  # the sweep forgot the orphan evidence and stopped


def test_event_for_an_older_pod_of_the_same_name_is_ignored() -> None:
    d = detector()
    pod = make_pod(
        name="db-0",
        uid="new",
        owner=("StatefulSet", "db"),
        phase="Pending",
        containers=[waiting("db", "ContainerCreating")],
    )
    d.on_pod(None, pod, at(0))
    msg = "Unable to attach or mount volumes: unmounted volumes=[data]: timed out waiting for the condition"
    d.on_event(event("FailedMount", msg, pod="db-0", uid="old", first=at(1)), at(1))
    assert [c.incident.category for c in run_until(d, at(200))] == []


def test_routine_normal_events_for_healthy_pods_are_not_stored() -> None:
    d = detector()
    d.on_pod(None, make_pod(), at(0))
    for reason in ("Scheduled", "Pulling", "Pulled", "Created", "Started"):
        assert d.on_event(event(reason, reason, type="Normal", first=at(1)), at(1)) == []
    assert d.next_deadline() is None
