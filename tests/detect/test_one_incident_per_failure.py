"""One failure, one incident (issue 17): a pod stuck in ContainerCreating because of a mount or
sandbox failure gets its precise incident only, whether its events come before the pod, after
it at start-up, or late; a vague "no event explains it" that a later event explains becomes the
precise incident (same id, one alert thread)."""

from __future__ import annotations

from datetime import timedelta

from podsleuth.config import WatchSettings
from podsleuth.detect import Detector, IncidentChange
from podsleuth.detect.engine import EVENTS_SYNC_WAIT
from podsleuth.watch.objects import KubeEvent, Pod

from .builders import T0, at, event, make_pod, run_until, waiting

MOUNT = (
    'MountVolume.SetUp failed for volume "data" : rpc error: code = Internal desc = '
    "mount failed: exit status 32"
)
SANDBOX = (
    "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for "
    'sandbox "4f1c": plugin type="calico" failed (add): error getting ClusterInformation: '
    "connection is unauthorized: Unauthorized"
)
NOW = at(20 * 60)  # podsleuth starts 20 minutes into the pod's trouble


def _stuck() -> Pod:
    return make_pod(phase="Pending", containers=[waiting("app", "ContainerCreating")])


def _mount_event() -> KubeEvent:
    return event("FailedMount", MOUNT, count=12, first=at(30), last=at(19 * 60))


def _detector() -> Detector:
    return Detector(WatchSettings(), await_events=True)


def _opened(changes: list[IncidentChange]) -> list[str]:
    return [c.incident.category for c in changes if c.kind == "incident.opened"]


def test_pods_listed_before_events_give_only_the_precise_incident() -> None:
    d = _detector()
    changes = d.on_pod(None, _stuck(), NOW)
    changes += run_until(d, NOW + timedelta(seconds=30))
    assert changes == []  # the event list is not synced: "no event explains it" would be a guess
    changes += d.on_event(_mount_event(), NOW + timedelta(seconds=31))
    changes += d.on_synced("events", None, NOW + timedelta(seconds=31))
    changes += run_until(d, NOW + timedelta(minutes=30))
    assert _opened(changes) == ["volume-mount"]
    assert [i.category for i in d.open_incidents()] == ["volume-mount"]


def test_events_listed_before_pods_give_only_the_precise_incident() -> None:
    d = _detector()
    changes = d.on_event(event("FailedCreatePodSandBox", SANDBOX, count=40, first=at(10), last=at(1190)), NOW)
    changes += d.on_synced("events", None, NOW)
    changes += d.on_pod(None, _stuck(), NOW)
    changes += run_until(d, NOW + timedelta(minutes=30))
    assert _opened(changes) == ["sandbox"]


def test_a_late_event_turns_the_vague_incident_into_the_precise_one() -> None:
    d = _detector()
    changes = d.on_synced("events", None, NOW)  # the list had nothing about this pod
    changes += d.on_pod(None, _stuck(), NOW)
    assert _opened(changes) == ["container-start"]
    vague = changes[0].incident
    assert "no event explains it" in vague.message
    late = d.on_event(
        event("FailedMount", MOUNT, first=NOW + timedelta(minutes=1), last=NOW + timedelta(minutes=1)),
        NOW + timedelta(minutes=1),
    )
    assert [(c.kind, c.incident.category) for c in late] == [("incident.updated", "volume-mount")]
    assert late[0].incident.id == vague.id and late[0].incident.message == MOUNT
    later = run_until(d, NOW + timedelta(hours=2))
    assert [c for c in later if c.kind == "incident.opened"] == []
    assert [i.category for i in d.open_incidents()] == ["volume-mount"]


def test_without_any_event_list_the_vague_incident_still_comes_after_a_wait() -> None:
    d = _detector()  # the events list never syncs (forbidden, say)
    changes = d.on_pod(None, _stuck(), NOW)
    assert changes == []
    changes += run_until(d, NOW + EVENTS_SYNC_WAIT - timedelta(seconds=1))
    assert changes == []
    changes += run_until(d, NOW + EVENTS_SYNC_WAIT)
    assert _opened(changes) == ["container-start"]


def test_a_genuinely_unexplained_stuck_pod_keeps_its_incident() -> None:
    d = _detector()
    changes = d.on_synced("events", None, T0)
    changes += d.on_pod(None, _stuck(), T0)
    changes += run_until(d, at(11 * 60))
    assert _opened(changes) == ["container-start"]


def test_synced_events_of_another_namespace_do_not_release_the_wait() -> None:
    d = _detector()
    d.on_synced("events", "other", NOW)
    assert d.on_pod(None, _stuck(), NOW) == []
    assert _opened(d.on_synced("events", "shop", NOW)) == ["container-start"]
