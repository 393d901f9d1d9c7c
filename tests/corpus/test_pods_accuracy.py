"""Floor test: ``podsleuth watch`` accuracy on the gathered pod/node status corpus must not
fall below the floors in ``tests/corpus/pods/floors.yaml`` (measured values, rounded down).

The runner serves every case through the real fake API server to one real ``watch`` process,
so this is the end-to-end judgement on inputs nobody here wrote."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.corpus import floors

CORPUS = floors.corpus("pods")
KNOWN_KINDS = {"Pod", "Event", "Node"}
SOURCE = floors.SOURCE


def _runner() -> ModuleType:
    return floors.runner("pods")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result: dict[str, Any] = _runner().evaluate(CORPUS)
    return result


def test_every_case_is_sourced_and_well_formed() -> None:
    from podsleuth.detect.anomaly import CATEGORIES

    for case in _runner().load_cases(CORPUS):
        assert SOURCE.match(str(case["source"])), (case["id"], case["source"])
        assert set(case["expect"]["categories"]) <= CATEGORIES, case["id"]
        assert {o.get("kind") for o in case["objects"]} <= KNOWN_KINDS, case["id"]


def test_accuracy_at_or_above_floors(report: dict[str, Any]) -> None:
    wanted = floors.assert_at_or_above_floors("pods", report)
    assert report["healthy_cases"] >= wanted.get("min_healthy_cases", 0)


def test_served_objects_keep_the_ages_the_source_shows() -> None:
    """The harness shifts every timestamp by ``now - observed_at`` and renames namespaces and
    nodes per case: ages, not absolute dates, are what the time-based rules see."""
    from datetime import UTC, datetime, timedelta

    runner = _runner()
    case = next(c for c in runner.load_cases(CORPUS) if c["id"] == "k8s-33777-insufficient-cpu-x8-over-1m")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    served = runner.prepare(7, case, now)
    pod = next(obj for kind, obj in served if kind == "pods")
    event = next(obj for kind, obj in served if kind == "events")
    created = datetime.fromisoformat(pod["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    last = datetime.fromisoformat(event["lastTimestamp"].replace("Z", "+00:00"))
    assert now - created == timedelta(seconds=66)  # observed 01:02:41, created 01:01:35
    assert now - last == timedelta(seconds=38)  # the event's "38s" age in the describe output
    assert pod["metadata"]["namespace"] == event["metadata"]["namespace"] == "c007-default"
    assert event["involvedObject"]["uid"] == pod["metadata"]["uid"]
