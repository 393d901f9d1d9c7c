"""Incident.to_contract() is exactly CONTRACT.md's `watch` JSON incident (extra keys allowed)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.detect.builders import (
    at,
    detector,
    event,
    last_term,
    make_node,
    make_pod,
    node_conditions,
    waiting,
)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CONTRACT_KEYS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "fingerprint": str,
    "category": str,
    "reason": str,
    "signature": (str, type(None)),
    "severity": str,
    "namespace": (str, type(None)),
    "pod": (str, type(None)),
    "node": (str, type(None)),
    "container": (str, type(None)),
    "owner": dict,
    "message": str,
    "count": int,
    "first_seen": str,
    "last_seen": str,
    "diagnosis": (dict, type(None)),
}


def check(doc: dict[str, Any]) -> None:
    assert set(CONTRACT_KEYS) <= set(doc)
    for key, types in CONTRACT_KEYS.items():
        assert isinstance(doc[key], types), key
    assert doc["severity"] in ("critical", "error", "warning")
    assert RFC3339.match(doc["first_seen"]) and RFC3339.match(doc["last_seen"])
    owner = doc["owner"]
    assert isinstance(owner, dict) and set(owner) == {"kind", "name"}
    json.dumps(doc)  # serialisable as is


def test_pod_incident_shape() -> None:
    d = detector()
    d.on_event(
        event("BackOff", "Back-off restarting failed container app", type="Warning", first=at(1)), at(1)
    )
    pod = make_pod(
        node="node-3",
        containers=[
            waiting(
                "app", "CrashLoopBackOff", "back-off", restarts=4, last=last_term("OOMKilled", 137, at(5))
            )
        ],
    )
    [change] = d.on_pod(None, pod, at(6))
    out = change.to_contract()
    assert set(out) == {"event", "incident"} and out["event"] == "incident.opened"
    doc = out["incident"]
    check(doc)
    assert doc["first_seen"] == "2026-03-01T12:00:06Z"
    assert doc["owner"] == {"kind": "Deployment", "name": "web"}
    assert (doc["namespace"], doc["node"], doc["container"], doc["category"]) == (
        "shop",
        "node-3",
        "app",
        "oom-killed",
    )
    assert doc["last_termination"] == {
        "reason": "OOMKilled",
        "exit_code": 137,
        "finished_at": "2026-03-01T12:00:05Z",
    }
    assert doc["restart_count"] == 4 and doc["pods"] == [pod.metadata.name] and doc["logs"] is None
    assert doc["events"][0]["reason"] == "BackOff"
    assert len(doc["id"]) == 12


def test_node_incident_shape() -> None:
    d = detector()
    node = make_node(
        "node-7",
        conditions=node_conditions(ready="Unknown", ready_since=at(0), ready_reason="NodeStatusUnknown"),
    )
    [change] = d.on_node(None, node, at(120))
    doc = change.to_contract()["incident"]
    check(doc)
    assert doc["pod"] is None and doc["namespace"] is None and doc["node"] == "node-7"
    assert doc["owner"] == {"kind": "Node", "name": "node-7"}


def test_logs_slot_is_filled_by_the_pipeline() -> None:
    d = detector()
    pod = make_pod(
        containers=[
            waiting("app", "CrashLoopBackOff", "back-off", restarts=1, last=last_term("Error", 2, at(1)))
        ]
    )
    [change] = d.on_pod(None, pod, at(2))
    assert change.wants_logs and change.incident.wants_logs
    upd = d.attach_logs(change.incident.fingerprint, ["panic: nil map", "goroutine 1 [running]:"])
    assert upd is not None and upd.kind == "incident.updated" and not upd.wants_logs
    assert upd.to_contract()["incident"]["logs"] == ["panic: nil map", "goroutine 1 [running]:"]
    assert d.attach_logs("nope", []) is None
