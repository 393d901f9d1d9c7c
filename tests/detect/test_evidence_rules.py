"""Detection when the status is missing, late or unfamiliar (issue 10, section 2): events say
what the status does not, values this version does not know are reported, a pod failing on a
sick node links to the node's incident."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from podsleuth.detect import IncidentChange

from .builders import (
    at,
    cond,
    decode_pod,
    detector,
    event,
    make_node,
    make_pod,
    node_conditions,
    pod_dict,
    ready_conditions,
    run_until,
    running,
    terminated,
    waiting,
)


def _cats(changes: list[IncidentChange]) -> list[str]:
    return sorted({c.incident.category for c in changes if c.kind != "incident.resolved"})


def _no_reason(cs: dict[str, Any]) -> dict[str, Any]:
    del cs["state"]["terminated"]["reason"]
    return cs


SCHED = "0/12 nodes are available: 3 Insufficient memory, 9 node(s) didn't match node selector."


def test_repeated_failed_scheduling_without_a_condition_is_unschedulable() -> None:
    d = detector()
    pod = make_pod(phase="Pending", node=None, containers=[], conditions=[])
    changes = d.on_pod(None, pod, at(0))
    changes += d.on_event(event("FailedScheduling", SCHED, count=7, first=at(0), last=at(100)), at(100))
    changes += run_until(d, at(600))
    assert _cats(changes) == ["unschedulable"]
    assert SCHED in next(c.incident.message for c in changes)


def test_one_failed_scheduling_counts_only_once_the_pod_stays_unscheduled() -> None:
    d = detector()
    pod = make_pod(phase="Pending", node=None, containers=[], conditions=[])
    changes = d.on_pod(None, pod, at(0))
    changes += d.on_event(event("FailedScheduling", SCHED, count=1, first=at(0)), at(1))
    assert _cats(changes + run_until(d, at(119))) == []  # the scheduler may still place it
    assert _cats(run_until(d, at(121))) == ["unschedulable"]
    scheduled = make_pod(phase="Pending", node="node-1", containers=[], conditions=[])
    d2 = detector()
    d2.on_event(event("FailedScheduling", SCHED, count=3, first=at(0)), at(1))
    assert _cats(d2.on_pod(None, scheduled, at(250))) == []  # placed since: old news


def _evicted(finished: float) -> Any:
    return make_pod(
        phase="Failed",
        reason="Evicted",
        message="The node was low on resource: memory.",
        containers=[terminated("app", reason="Error", exit_code=137, finished=at(finished))],
        conditions=[cond("Ready", "False", at(finished))],
    )


def test_a_fresh_eviction_event_is_news_even_if_the_container_finished_long_ago() -> None:
    d = detector()
    now = at(3 * 3600)
    changes = d.on_event(event("Evicted", "The node was low on resource: memory.", first=now), now)
    changes += d.on_pod(None, _evicted(0), now)
    assert _cats(changes) == ["evicted"]


def test_an_old_eviction_without_fresh_evidence_stays_history() -> None:
    d = detector()
    assert d.on_pod(None, _evicted(0), at(3 * 3600)) == []


def test_disruption_target_condition_alone_says_evicted() -> None:
    d = detector()
    pod = make_pod(
        phase="Failed",
        containers=[terminated("app", reason="Error", exit_code=137, finished=at(0))],
        conditions=[
            cond(
                "DisruptionTarget",
                "True",
                at(5),
                "TerminationByKubelet",
                "The node was low on resource: ephemeral-storage.",
            )
        ],
    )
    assert _cats(d.on_pod(None, pod, at(10))) == ["evicted"]


def test_non_zero_exit_without_reason_fails_an_init_container() -> None:
    d = detector()
    pod = make_pod(
        phase="Pending",
        init=[_no_reason(terminated("migrate", exit_code=3, finished=at(0)))],
        containers=[waiting("app", "PodInitializing")],
    )
    changes = d.on_pod(None, pod, at(5))
    assert _cats(changes) == ["init-failure"]
    assert "exit code 3" in changes[0].incident.message


def test_non_zero_exit_without_reason_fails_a_never_restarted_container() -> None:
    d = detector()
    p = pod_dict(
        phase="Running",
        containers=[_no_reason(terminated("app", exit_code=2, finished=at(0))), running("sidecar")],
    )
    p["spec"]["restartPolicy"] = "Never"
    assert _cats(d.on_pod(None, decode_pod(p), at(5))) == ["container-failed"]


def test_init_container_crash_loop_is_not_also_a_stuck_main_container() -> None:
    d = detector()
    pod = make_pod(
        phase="Pending",
        conditions=ready_conditions(ready=False),
        init=[waiting("init", "CrashLoopBackOff", restarts=6)],
        containers=[waiting("app", "PodInitializing")],
    )
    changes = d.on_pod(None, pod, at(0)) + run_until(d, at(3600))
    assert _cats(changes) == ["init-failure"]


LIVE = 'Liveness probe failed: Get "http://10.244.1.17:8080/healthz": context deadline exceeded'
KILL = "Container app failed liveness probe, will be restarted"


def _liveness_events(d: Any, now: Any) -> list[IncidentChange]:
    out = d.on_event(
        event("Unhealthy", LIVE, count=9, first=at(0), last=now, field_path="spec.containers{app}"), now
    )
    out += d.on_event(
        event(
            "Killing", KILL, count=3, first=at(60), last=now, type="Normal", field_path="spec.containers{app}"
        ),
        now,
    )
    return list(out)


def test_liveness_restart_loop_of_a_running_ready_container_is_a_probe_failure() -> None:
    d = detector()
    now = at(400)
    pod = make_pod(
        containers=[
            running(
                "app",
                restarts=3,
                ready=True,
                started=at(390),
                last={"exitCode": 137, "reason": "Error", "finishedAt": "2026-03-01T12:06:28Z"},
            )
        ]
    )
    # the kill events come first, then the pod update carrying the restart
    changes = _liveness_events(d, now) + d.on_pod(None, pod, now)
    assert _cats(changes) == ["probe-failure"]
    inc = changes[-1].incident
    assert inc.container == "app" and inc.restart_count == 3


def test_liveness_kills_make_a_crash_loop_a_probe_failure() -> None:
    d = detector()
    now = at(400)
    pod = make_pod(
        conditions=ready_conditions(ready=False),
        containers=[
            waiting(
                "app",
                "CrashLoopBackOff",
                restarts=4,
                last={"exitCode": 137, "reason": "Error", "finishedAt": "2026-03-01T12:06:00Z"},
            )
        ],
    )
    changes = _liveness_events(d, now) + d.on_pod(None, pod, now)
    assert _cats(changes) == ["probe-failure"]


def test_restarts_long_before_the_probe_failures_are_not_the_probes_doing() -> None:
    d = detector()
    now = at(4000)
    pod = make_pod(
        containers=[
            running(
                "app",
                restarts=1,
                ready=True,
                last={"exitCode": 1, "reason": "Error", "finishedAt": "2026-03-01T11:00:00Z"},
            )
        ]
    )
    changes = d.on_pod(None, pod, now)
    changes += d.on_event(
        event("Unhealthy", LIVE, count=1, first=at(3990), last=now, field_path="spec.containers{app}"), now
    )
    assert _cats(changes) == []


def test_node_condition_with_an_unexpected_status_is_reported() -> None:
    d = detector()
    conds = node_conditions(ready="Degraded", ready_since=at(0), ready_reason="", ready_message="")
    changes = d.on_node(None, make_node("node-1", conditions=conds), at(0))
    changes += run_until(d, at(120))
    assert _cats(changes) == ["node-not-ready"]
    assert "unexpected status 'Degraded'" in changes[0].incident.message
    d2 = detector()
    odd = d2.on_node(None, make_node("node-2", conditions=node_conditions(MemoryPressure="Sometimes")), at(0))
    assert _cats(odd) == ["node-pressure"]
    assert d2.on_node(None, make_node("node-3", conditions=node_conditions(MemoryPressure="")), at(0)) == []


def test_pod_failing_on_a_not_ready_node_links_to_the_node_incident() -> None:
    d = detector()
    crash = make_pod(node="node-1", containers=[waiting("app", "CrashLoopBackOff", restarts=5)])
    first = d.on_pod(None, crash, at(0))
    assert first[0].incident.node_incident is None
    node = make_node(
        "node-1", conditions=node_conditions(ready="False", ready_since=at(0), ready_reason="KubeletNotReady")
    )
    changes = d.on_node(None, node, at(0)) + run_until(d, at(120))
    node_inc = next(c.incident for c in changes if c.incident.category == "node-not-ready")
    linked = [c for c in changes if c.incident.category == "crash-loop"]
    assert (
        linked and linked[-1].kind == "incident.updated" and linked[-1].incident.node_incident == node_inc.id
    )
    assert linked[-1].incident.to_contract()["node_incident"] == node_inc.id
    other = make_pod(
        name="api-7f-abcde",
        owner=("ReplicaSet", "api-7f"),
        node="node-1",
        containers=[waiting("app", "CrashLoopBackOff", restarts=2)],
    )
    assert d.on_pod(None, other, at(130))[0].incident.node_incident == node_inc.id


def test_oom_kill_that_ended_succeeded_is_still_an_oom_kill() -> None:
    d = detector()
    pod = make_pod(
        phase="Succeeded",
        conditions=ready_conditions(ready=False),
        containers=[terminated("app", reason="OOMKilled", exit_code=0, finished=at(0))],
    )
    assert _cats(d.on_pod(None, pod, at(30))) == ["oom-killed"]
    assert timedelta(0) < at(30) - at(0)


def test_event_reasons_mean_what_the_same_failure_means_in_the_status() -> None:
    """One failure, one category: the categories events get in code agree with the catalog's
    status tables (an eviction is `evicted` as a pod reason and as an event)."""
    from podsleuth.detect.anomaly import load_catalog
    from podsleuth.detect.rules_event import event_category

    catalog = load_catalog()
    assert (
        event_category("Evicted", catalog, "The node was low on resource: memory.")
        == catalog.pod_reasons["Evicted"]
    )
    assert (
        event_category("Killing", catalog, KILL)
        == event_category("Unhealthy", catalog, LIVE)
        == "probe-failure"
    )
    assert event_category("Killing", catalog, "Stopping container app") is None  # a routine stop
    assert event_category("FailedScheduling", catalog) == catalog.other_reasons["Unschedulable"]


def test_an_unknown_ready_status_is_not_known_good() -> None:
    d = detector()
    conds = [cond("Ready", "Maybe", at(0)), cond("PodScheduled", "True", at(0))]
    pod = make_pod(conditions=conds, containers=[running("app", ready=False)])
    changes = d.on_pod(None, pod, at(0))
    changes += d.on_event(
        event(
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            count=30,
            first=at(0),
            last=at(200),
            field_path="spec.containers{app}",
        ),
        at(200),
    )
    assert _cats(changes + run_until(d, at(300))) == ["probe-failure"]
