"""Pin the detect package's public surface: the lead's pipeline is wired against it."""

from __future__ import annotations

import inspect

import podsleuth.detect as detect
from podsleuth.detect import Detector, IncidentChange


def test_exports() -> None:
    assert set(detect.__all__) == {
        "DEFAULT_IGNORE",
        "Anomaly",
        "Catalog",
        "Detector",
        "EventRecord",
        "Incident",
        "IncidentChange",
        "Owner",
        "Severity",
        "Termination",
        "load_catalog",
    }


def test_detector_signatures() -> None:
    params = inspect.signature(Detector.__init__).parameters
    assert list(params) == [
        "self", "settings", "classify", "catalog", "default_ignore", "await_events", "cluster"
    ]
    assert all(
        params[p].kind is inspect.Parameter.KEYWORD_ONLY
        for p in ("classify", "catalog", "default_ignore", "await_events")
    )
    assert list(inspect.signature(Detector.on_pod).parameters) == ["self", "old", "new", "now"]
    assert list(inspect.signature(Detector.on_node).parameters) == ["self", "old", "new", "now"]
    assert list(inspect.signature(Detector.on_event).parameters) == ["self", "event", "now"]
    assert list(inspect.signature(Detector.tick).parameters) == ["self", "now"]
    assert list(inspect.signature(Detector.on_synced).parameters) == ["self", "resource", "namespace", "now"]
    for name in ("next_deadline", "open_incidents", "attach_logs"):
        assert callable(getattr(Detector, name))
    assert set(IncidentChange.__struct_fields__) == {"kind", "incident", "wants_logs"}
