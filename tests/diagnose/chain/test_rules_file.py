"""The shipped decision rules parse, validate, and render without a KeyError for any facts."""

from __future__ import annotations

import pytest

from podsleuth.diagnose.rules import load_rules, parse_rules, render
from podsleuth.errors import KnowledgeBaseError


def test_packaged_rules_validate_and_render_with_no_facts() -> None:
    rules = load_rules()
    assert len(rules.rules) >= 20
    for rule in rules.rules:
        assert render(rule.summary, {}) and render(rule.root_cause, {})
        assert rule.remedies({}) or all(not isinstance(r, str) for r in rule.remediation)


def test_founding_cause_has_confirmed_rules_for_both_forms_and_a_suspected_one() -> None:
    causes = [r.id for r in load_rules().rules if r.cause == "stale-fuse-bind-after-daemon-restart"]
    assert causes == ["stale-fuse-bind-confirmed", "stale-fuse-deleted-root-after-restart",
                      "stale-fuse-bind-suspected"]


def test_packaged_contradictions_render_with_no_facts() -> None:
    found = load_rules().contradictions
    assert len(found) >= 3
    for c in found:
        assert render(c.say, {}) and c.lower > 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "rules: [{id: x, cause: y, confidence: 0.5, summary: s, root_cause: r, remediation: [a],"
            " bogus: 1}]",
            "bogus",
        ),
        (
            "rules: [{id: x, cause: y, confidence: 0.5, summary: s, root_cause: r, remediation: [a],"
            " when: [{fact: f}]}]",
            "exactly one test",
        ),
        (
            "rules: [{id: x, cause: y, confidence: 0.5, summary: s, root_cause: r, remediation: [a]},"
            " {id: x, cause: y, confidence: 0.5, summary: s, root_cause: r, remediation: [a]}]",
            "duplicate",
        ),
        (
            "rules: [{id: x, cause: y, confidence: 2, summary: s, root_cause: r, remediation: [a]}]",
            "confidence",
        ),
        (
            "rules: []\ncontradictions: [{id: c, when: [{fact: a, is: 1}], lower: 0.2, say: s},"
            " {id: c, when: [{fact: a, is: 1}], lower: 0.2, say: s}]",
            "duplicate contradiction",
        ),
        ("rules: []\ncontradictions: [{id: c, when: [], lower: 0.2, say: s}]", "when"),
    ],
)
def test_bad_rules_are_rejected_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(KnowledgeBaseError, match=problem):
        parse_rules(text, source="test.yaml")


def test_templates_fall_back_and_join_lists() -> None:
    assert render("{a} {b|none} {c|{a}}", {"a": ["x", "y"]}) == "x, y none x, y"


def test_templates_render_optional_phrases_and_mark_unknown_facts() -> None:
    facts = {"volume": "data", "oom_clause": ""}
    assert render("volume {volume} was {oom_clause|}restarted", facts) == "volume data was restarted"
    assert render("volume {volume} on {node}", facts) == "volume data on ?"
    assert render("on {node|node {host}}", {"host": "n1"}) == "on node n1"
    assert "?" not in render("{oom_clause|}ok", {})
