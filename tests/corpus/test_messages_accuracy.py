"""Floor test: ``diagnose messages`` accuracy on the gathered message corpus must not fall
below the floors recorded in ``tests/corpus/messages/floors.yaml`` (measured, rounded down)."""

from __future__ import annotations

import importlib.util
import pathlib
from types import ModuleType

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "messages"


def _runner() -> ModuleType:
    path = ROOT / "bench" / "accuracy_messages.py"
    spec = importlib.util.spec_from_file_location("accuracy_messages", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    result: dict[str, object] = _runner().evaluate(CORPUS)
    return result


def test_every_case_has_source_and_known_signature(report: dict[str, object]) -> None:
    from podsleuth.diagnose.knowledge import KnowledgeBase

    known = {s.id for s in KnowledgeBase.default().signatures}
    cases = _runner().load_cases(CORPUS)
    unknown = sorted({c["signature"] for c in cases if c.get("signature") and c["signature"] not in known})
    assert not unknown, f"corpus expects signatures the knowledge base lacks: {unknown}"


def test_accuracy_at_or_above_floors(report: dict[str, object]) -> None:
    floors = yaml.safe_load((CORPUS / "floors.yaml").read_text(encoding="utf-8"))
    metrics = report["metrics"]
    assert isinstance(metrics, dict)
    below = {k: (metrics[k], v) for k, v in floors.items() if k in metrics and metrics[k] < v}
    assert not below, f"accuracy below floor (measured, floor): {below}; misses: {report['misses']}"
    assert report["cases"] >= floors.get("min_cases", 1)
