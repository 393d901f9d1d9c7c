"""A re-list replays every object as added/modified: nothing re-opens, nothing re-counts."""

from __future__ import annotations

from tests.detect.builders import at, detector, event, last_term, make_node, node_conditions, replica, waiting


def test_replaying_the_same_state_changes_nothing() -> None:
    d = detector()
    pods = [
        replica(
            i,
            containers=[
                waiting("app", "CrashLoopBackOff", "back-off", restarts=7, last=last_term("Error", 1, at(0)))
            ],
        )
        for i in range(5)
    ]
    sick = make_node(
        "node-2", conditions=node_conditions(ready="False", ready_since=at(0), ready_reason="KubeletNotReady")
    )
    ev = event(
        "BackOff", "Back-off restarting failed container", pod=pods[0].metadata.name, count=9, last=at(50)
    )
    first = []
    for p in pods:
        first += d.on_pod(None, p, at(60))
    first += d.on_node(None, sick, at(120))
    first += d.on_event(ev, at(120))
    before = {i.fingerprint: (i.id, i.count) for i in d.open_incidents()}
    assert len(before) == 2
    for t in (200, 300):  # two re-lists, old object = previous copy
        for p in pods:
            assert d.on_pod(p, p, at(t)) == []
            assert d.on_pod(None, p, at(t)) == []
        assert d.on_node(None, sick, at(t)) == []
        assert d.on_event(ev, at(t)) == []
        assert d.tick(at(t)) == []
    assert {i.fingerprint: (i.id, i.count) for i in d.open_incidents()} == before
    [crash] = [i for i in d.open_incidents() if i.category == "crash-loop"]
    assert crash.count == 5 and len(crash.events) == 1
