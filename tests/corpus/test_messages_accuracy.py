"""Floor test: ``diagnose messages`` accuracy on the gathered message corpus must not fall
below the floors recorded in ``tests/corpus/messages/floors.yaml`` (measured, rounded down)."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.corpus import floors

CORPUS = floors.corpus("messages")


def _runner() -> ModuleType:
    return floors.runner("messages")


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
    floors.assert_at_or_above_floors("messages", report)
