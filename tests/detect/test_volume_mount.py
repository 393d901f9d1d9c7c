"""FailedMount & co.: transient in a pod's first seconds; an incident when the pod stays stuck."""

from __future__ import annotations

from podsleuth.watch.objects import Pod
from tests.detect.builders import at, cond, detector, event, kinds, make_pod, run_until, waiting

CONDS = [
    cond("Initialized", "True"),
    cond("Ready", "False", reason="ContainersNotReady"),
    cond("ContainersReady", "False"),
    cond("PodScheduled", "True"),
]
SECRET = 'MountVolume.SetUp failed for volume "cert" : secret "webhook-server-cert" not found'
NOT_REGISTERED = 'MountVolume.SetUp failed for volume "kube-api-access-x" : object "shop"/"kube-root-ca.crt" not registered'  # noqa: E501
MULTI = 'Multi-Attach error for volume "pvc-91" Volume is already exclusively attached to one node and can\'t be attached to another'  # noqa: E501


def creating() -> Pod:
    return make_pod(phase="Pending", containers=[waiting("app", "ContainerCreating")], conditions=CONDS)


def test_failed_mount_persisting_opens_volume_mount_after_grace() -> None:
    d = detector()
    pod = creating()
    d.on_pod(None, pod, at(1))
    assert d.on_event(event("FailedMount", SECRET, first=at(2), last=at(2)), at(2)) == []
    assert d.on_event(event("FailedMount", SECRET, first=at(2), last=at(10), count=4), at(10)) == []
    changes = run_until(d, at(62))
    assert kinds(changes) == [("incident.opened", "volume-mount")]
    inc = changes[0].incident
    assert (inc.reason, inc.message, inc.severity) == ("FailedMount", SECRET, "critical")
    assert [e.reason for e in inc.events] == ["FailedMount"] and inc.events[0].count == 4
    # later the generic stuck-creating rule does not open a second, vaguer incident
    assert run_until(d, at(3600)) == []


def test_transient_failed_mount_for_a_pod_that_starts_is_quiet() -> None:
    d = detector()
    pod = creating()
    d.on_pod(None, pod, at(1))
    d.on_event(event("FailedMount", NOT_REGISTERED, first=at(1), last=at(3), count=2), at(3))
    assert d.on_pod(pod, make_pod(), at(12)) == []
    assert run_until(d, at(7200)) == []
    assert d.open_incidents() == []


def test_event_before_the_pod_is_kept_as_evidence() -> None:
    d = detector()
    assert d.on_event(event("FailedAttachVolume", MULTI, first=at(0), last=at(0)), at(0)) == []
    d.on_pod(None, creating(), at(5))
    changes = run_until(d, at(61))
    assert kinds(changes) == [("incident.opened", "volume-mount")]
    assert changes[0].incident.reason == "Multi-Attach" and changes[0].incident.severity == "error"


def test_failed_map_volume() -> None:
    d = detector()
    msg = 'MapVolume.SetUpDevice failed for volume "pvc-7" : rpc error: code = Internal desc = exit status 2'
    d.on_pod(None, creating(), at(0))
    d.on_event(event("FailedMapVolume", msg, first=at(0), last=at(0)), at(0))
    assert kinds(run_until(d, at(61))) == [("incident.opened", "volume-mount")]


def test_sandbox_failure_persisting() -> None:
    d = detector()
    msg = (
        "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "
        '"4f1c": plugin type="calico" failed (add): connection is unauthorized: Unauthorized'
    )
    d.on_pod(None, creating(), at(0))
    d.on_event(event("FailedCreatePodSandBox", msg, first=at(1), last=at(1)), at(1))
    changes = run_until(d, at(70))
    assert kinds(changes) == [("incident.opened", "sandbox")]
    assert changes[0].incident.reason == "FailedCreatePodSandBox"
