"""One broken workload is one incident: fingerprint by owner workload + container + category."""

from __future__ import annotations

from podsleuth.detect.owner import Owner, resolve_owner
from podsleuth.watch.objects import Pod
from tests.detect.builders import at, detector, kinds, last_term, make_pod, replica, waiting


def crash(i: int, restarts: int = 2) -> Pod:
    return replica(
        i,
        containers=[
            waiting(
                "app", "CrashLoopBackOff", "back-off", restarts=restarts, last=last_term("Error", 1, at(i))
            )
        ],
    )


def test_thirty_crashing_replicas_are_one_incident() -> None:
    d = detector()
    changes = []
    for i in range(30):
        changes += d.on_pod(None, crash(i), at(i))
    assert kinds(changes)[0] == ("incident.opened", "crash-loop")
    assert {k for k, _ in kinds(changes[1:])} == {"incident.updated"}
    [inc] = d.open_incidents()
    assert inc.count == 30
    assert len(inc.pods) == 30 and inc.pods[0] == "web-7d9f8b6c5d-r000"
    assert (inc.owner.kind, inc.owner.name, inc.namespace) == ("Deployment", "web", "shop")
    assert inc.pod == "web-7d9f8b6c5d-r029"  # the latest affected pod, for log fetching


def test_different_containers_and_categories_are_different_incidents() -> None:
    d = detector()
    d.on_pod(None, crash(1), at(1))
    d.on_pod(None, replica(2, containers=[waiting("sidecar", "CrashLoopBackOff", "x", restarts=1)]), at(2))
    d.on_pod(None, replica(3, phase="Pending", containers=[waiting("app", "ImagePullBackOff", "x")]), at(3))
    assert len(d.open_incidents()) == 3
    assert len({i.fingerprint for i in d.open_incidents()}) == 3


def owner_of(**kw: object) -> Owner:
    return resolve_owner(make_pod(**kw).metadata)


def test_owner_resolution() -> None:
    assert owner_of() == Owner(kind="Deployment", name="web")
    assert owner_of(name="db-0", owner=("StatefulSet", "db"), labels={"app": "db"}) == Owner(
        kind="StatefulSet", name="db"
    )
    assert owner_of(name="fluentd-x7k2p", owner=("DaemonSet", "fluentd")) == Owner(
        kind="DaemonSet", name="fluentd"
    )
    assert owner_of(name="report-28973520-abcde", owner=("Job", "report-28973520"), labels={}) == Owner(
        kind="CronJob", name="report"
    )
    assert owner_of(name="migrate-abcde", owner=("Job", "migrate"), labels={}) == Owner(
        kind="Job", name="migrate"
    )
    assert owner_of(name="debug", owner=None, labels={}) == Owner(kind="Pod", name="debug")
    assert owner_of(name="kube-apiserver-node-1", owner=("Node", "node-1"), labels={}) == Owner(
        kind="Pod", name="kube-apiserver-node-1"
    )
    assert owner_of(name="legacy-abc12", owner=("ReplicaSet", "legacy"), labels={}) == Owner(
        kind="ReplicaSet", name="legacy"
    )


def test_statefulset_pod_recreated_under_same_name_counts_as_new_occurrence() -> None:
    d = detector()
    sts = {"owner": ("StatefulSet", "db"), "labels": {"app": "db"}, "phase": "Pending"}
    p1 = make_pod(name="db-0", uid="u1", containers=[waiting("db", "CreateContainerConfigError", "x")], **sts)
    p2 = make_pod(name="db-0", uid="u2", containers=[waiting("db", "CreateContainerConfigError", "x")], **sts)
    d.on_pod(None, p1, at(0))
    d.on_pod(p1, None, at(10))
    [c] = d.on_pod(None, p2, at(11))
    assert (c.kind, c.incident.count) == ("incident.updated", 2)


def test_a_workload_churning_pods_for_days_keeps_a_bounded_incident() -> None:
    d = detector()
    for i in range(500):  # each crashing pod is replaced by a new one
        pod = crash(i)
        d.on_pod(None, pod, at(i))
        d.on_pod(pod, None, at(i))
    [inc] = d.open_incidents()
    assert inc.count == 500
    assert d.members_held() <= 1, "deleted pods are forgotten, their count is kept"
