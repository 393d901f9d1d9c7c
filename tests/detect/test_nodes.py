"""Node conditions: NotReady/Unknown after thresholds.node_not_ready; pressures at once."""

from __future__ import annotations

from tests.detect.builders import at, detector, kinds, make_node, node_conditions, run_until

PLEG = "PLEG is not healthy: pleg was last seen active 3m3.928932625s ago; threshold is 3m0s"


def test_node_not_ready_fires_after_threshold() -> None:
    d = detector(thresholds={"node_not_ready": "60s"})
    healthy = make_node()
    assert d.on_node(None, healthy, at(0)) == []
    sick = make_node(
        conditions=node_conditions(
            ready="False", ready_since=at(100), ready_reason="KubeletNotReady", ready_message=PLEG
        )
    )
    assert d.on_node(healthy, sick, at(101)) == []
    assert d.next_deadline() == at(160)
    changes = run_until(d, at(160))
    assert kinds(changes) == [("incident.opened", "node-not-ready")]
    inc = changes[0].incident
    assert (inc.pod, inc.node, inc.severity, inc.reason, inc.message) == (
        None,
        "node-1",
        "critical",
        "KubeletNotReady",
        PLEG,
    )
    assert inc.to_contract()["pod"] is None
    back = make_node(conditions=node_conditions(ready_since=at(300)))
    assert d.on_node(sick, back, at(300)) == []
    assert kinds(run_until(d, at(420))) == [("incident.resolved", "node-not-ready")]


def test_briefly_not_ready_is_quiet() -> None:
    d = detector()
    sick = make_node(
        conditions=node_conditions(ready="False", ready_since=at(0), ready_reason="KubeletNotReady")
    )
    d.on_node(None, sick, at(1))
    assert d.on_node(sick, make_node(conditions=node_conditions(ready_since=at(20))), at(20)) == []
    assert run_until(d, at(3600)) == []


def test_unknown_status() -> None:
    d = detector()
    lost = make_node(
        conditions=node_conditions(
            ready="Unknown",
            ready_since=at(0),
            ready_reason="NodeStatusUnknown",
            ready_message="Kubelet stopped posting node status.",
        )
    )
    assert kinds(d.on_node(None, lost, at(61))) == [("incident.opened", "node-not-ready")]
    assert d.open_incidents()[0].reason == "NodeStatusUnknown"


def test_pressures_are_separate_incidents_and_deleted_node_resolves() -> None:
    d = detector()
    both = make_node(conditions=node_conditions(MemoryPressure="True", DiskPressure="True"))
    changes = d.on_node(None, both, at(1))
    assert kinds(changes) == [("incident.opened", "node-pressure")] * 2
    assert {c.incident.condition for c in changes} == {"MemoryPressure", "DiskPressure"}
    assert {c.incident.severity for c in changes} == {"warning", "error"}  # disk pressure evicts pods
    assert d.on_node(None, both, at(2)) == []  # replay
    d.on_node(both, None, at(10))
    assert kinds(run_until(d, at(200))) == [("incident.resolved", "node-pressure")] * 2
