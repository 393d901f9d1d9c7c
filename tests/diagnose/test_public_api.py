"""The surface the watcher and the CLI rely on: pinned, so a change is a deliberate one."""

from __future__ import annotations

import inspect

import msgspec
import pytest

from podsleuth.diagnose.knowledge import Classification, KnowledgeBase


def test_classification_fields() -> None:
    assert Classification.__struct_fields__ == (
        "signature",
        "category",
        "score",
        "candidates",
        "root_cause",
        "summary",
        "facts",
        "next_checks_api",
        "next_checks_node",
        "remediation",
        "translations",
    )
    assert Classification.__struct_config__.frozen


def test_knowledge_base_methods() -> None:
    assert list(inspect.signature(KnowledgeBase.classify).parameters) == ["self", "message", "reason"]
    assert list(inspect.signature(KnowledgeBase.signature_of).parameters) == ["self", "message", "reason"]
    assert inspect.signature(KnowledgeBase.classify).parameters["reason"].default is None
    assert isinstance(KnowledgeBase.default(), KnowledgeBase)


def test_detector_hook_shape() -> None:
    """The detector injects ``classify(message, reason) -> str | None``: signature_of fits it."""
    kb = KnowledgeBase.default()
    assert kb.signature_of("Back-off restarting failed container", "BackOff") == "crashloop-backoff"
    assert kb.signature_of("all good", None) is None


def test_classification_is_immutable_and_serialisable() -> None:
    c = KnowledgeBase.default().classify('Error: secret "db" not found', "CreateContainerConfigError")
    with pytest.raises(AttributeError):
        c.signature = "x"  # type: ignore[misc]
    assert msgspec.json.decode(msgspec.json.encode(c))["signature"] == "config-configmap-secret-missing"
    assert c.to_json()["next_checks"] == [*c.next_checks_api, *c.next_checks_node]
