"""The declared facts (data/rules/facts.yaml) match what the code writes, and rules are checked
against them on load: a typo in a rule's fact or a template's placeholder is an error, not a rule
that silently never matches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from podsleuth.diagnose.extractors import EXTRACTORS
from podsleuth.diagnose.fact_catalog import load_facts, parse_facts
from podsleuth.diagnose.rules import parse_rules
from podsleuth.diagnose.signatures import load_signatures, packaged_files
from podsleuth.errors import KnowledgeBaseError
from tests.diagnose.fact_scan import Scanner

KNOWN_UNRESOLVED = {
    "evidence.py: self.facts.update(facts)",  # Case.add itself: its keywords are scanned at the calls
    "diagnoser.py: case.facts.update(c.facts)",  # the signature's facts: groups + extractors, below
    "diagnoser.py: case.facts.update(best.facts)",
}


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner()


def _covered(names: set[str], patterns: set[str], declared: frozenset[str]) -> tuple[set[str], set[str]]:
    """(written but not declared, declared but not written) for one origin."""
    undeclared = names - declared
    undeclared |= {p for p in patterns if not any(re.fullmatch(p, d) for d in declared)}
    unwritten = {d for d in declared - names if not any(re.fullmatch(p, d) for p in patterns)}
    return undeclared, unwritten


@pytest.mark.parametrize("origin", ["subject", "api", "node", "derived"])
def test_every_fact_a_link_writes_is_declared_and_every_declared_one_is_written(
    scanner: Scanner, origin: str
) -> None:
    written = scanner.chain()
    undeclared, unwritten = _covered(
        written.names[origin], written.patterns[origin], load_facts().from_origin(origin)
    )
    assert not undeclared, f"written by the {origin} link but not in facts.yaml: {sorted(undeclared)}"
    assert not unwritten, f"declared from {origin} but never written there: {sorted(unwritten)}"


def test_every_write_the_scan_cannot_follow_is_a_known_one(scanner: Scanner) -> None:
    found = {re.sub(r":\d+:", ":", u) for u in scanner.chain().unresolved}
    assert found == KNOWN_UNRESOLVED


@pytest.mark.parametrize("name", sorted(EXTRACTORS))
def test_each_extractors_facts_are_declared_as_its_own(scanner: Scanner, name: str) -> None:
    names, patterns, followed = scanner.extractor(name)
    assert followed, f"the scan could not follow every write of extractor {name}"
    undeclared, unwritten = _covered(names, patterns, load_facts().from_origin(f"extractor:{name}"))
    assert not undeclared and not unwritten, (sorted(undeclared), sorted(unwritten))


def test_signature_pattern_groups_are_the_declared_group_facts() -> None:
    groups = {
        g for s in load_signatures(packaged_files()) for p in s.patterns for g in re.compile(p).groupindex
    }
    assert groups == set(load_facts().from_origin("group"))


def test_declared_origins_name_real_extractors() -> None:
    extractors = {
        o.split(":", 1)[1] for f in load_facts().facts for o in f.from_ if o.startswith("extractor:")
    }
    assert extractors <= set(EXTRACTORS)


# ---- rules are checked against the declaration ---------------------------------------------------

RULE = "rules: [{id: my-rule, cause: c, confidence: 0.5, summary: s, root_cause: r, remediation: [a], %s}]"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("when: [{fact: fuse_daemon_restartd, is: true}]",
         r"rule 'my-rule': condition: unknown fact 'fuse_daemon_restartd' "
         r"\(did you mean 'fuse_daemon_restarted'"),
        ("any: [{fact: plugin_pod, gte: 1}]", r"fact 'plugin_pod' is str: 'gte: 1.0' cannot fit"),
        ("boosts: [{when: {fact: restart_count, contains: x}, add: 0.1}]", r"fact 'restart_count' is int"),
        ("when: [{fact: daemon_oom_killed, is: yes-please}]", r"fact 'daemon_oom_killed' is bool"),
        ("when: [{fact: errno, in: [ENOENT, 2]}]", r"fact 'errno' is str: 'in: \['ENOENT', 2\]'"),
        ("next_checks: [{text: x, requires: [daemon_oom_kiled]}]",
         r"requires: unknown fact 'daemon_oom_kiled' \(did you mean 'daemon_oom_killed'"),
        ("next_checks: ['kubectl get pod {pood}']",
         r"placeholder \{pood\}: unknown fact 'pood' \(did you mean 'pod'"),
    ],
)  # fmt: skip
def test_a_rule_naming_an_undeclared_or_misfit_fact_is_rejected(body: str, problem: str) -> None:
    with pytest.raises(KnowledgeBaseError, match=problem) as e:
        parse_rules(RULE % body, source="rules/mine.yaml", facts=load_facts())
    assert str(e.value).startswith("rules/mine.yaml: rule 'my-rule': ")


def test_a_template_fallbacks_other_fact_and_a_contradiction_are_checked() -> None:
    text = (
        "rules: []\ncontradictions: [{id: c1, when: [{fact: config_missing, is: true}], lower: 0.2,"
        " say: 'on {node|{nod}}'}]"
    )
    with pytest.raises(
        KnowledgeBaseError, match=r"contradiction 'c1': placeholder \{nod\}: unknown fact 'nod'"
    ):
        parse_rules(text, source="t.yaml", facts=load_facts())


def test_declared_facts_with_fitting_tests_load() -> None:
    body = ("when: [{fact: plugin_restarts, gte: 1}, {fact: node_pressure, contains: DiskPressure}, "
            "{fact: oom_pid, is: '42'}, {fact: missing_pvcs, present: true}]")  # fmt: skip
    assert parse_rules(RULE % body, facts=load_facts()).rules[0].id == "my-rule"


# ---- signatures' texts name facts the signature itself produces ------------------------------------


def _signature(tmp_path: Path, **overrides: object) -> Path:
    entry = {
        "id": "test-sig", "category": "container-start", "family": "test", "priority": 50,
        "keywords": ["boom"], "patterns": ["boom of (?P<what>\\w+)"], "facts": ["errno"],
        "summary": "boom of {what} ({errno|?})", "root_cause": "r",
    } | overrides  # fmt: skip
    path = tmp_path / "sig.yaml"
    path.write_text(yaml.safe_dump({"signatures": [entry]}), encoding="utf-8")
    return path


def test_a_signature_template_may_use_its_groups_extractors_and_the_incident(tmp_path: Path) -> None:
    path = _signature(tmp_path, remediation=["delete {namespace}/{pod}: {errno_text}"])
    assert load_signatures([path])[0].id == "test-sig"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        (
            {"root_cause": "{plugin_pod} died"},
            r"root_cause: placeholder \{plugin_pod\}: not a fact this signature",
        ),
        ({"summary": "{wat}"}, r"summary: placeholder \{wat\}: not a fact .* \(did you mean 'what'"),
    ],
)
def test_a_signature_template_naming_a_fact_it_cannot_produce_is_rejected(
    tmp_path: Path, overrides: dict[str, object], problem: str
) -> None:
    with pytest.raises(KnowledgeBaseError, match=problem) as e:
        load_signatures([_signature(tmp_path, **overrides)])
    assert "sig.yaml: entry 1 (id 'test-sig')" in str(e.value)


def test_a_bad_facts_file_is_rejected_naming_the_entry() -> None:
    ok = "{name: a, type: str, from: [api], meaning: m}"
    with pytest.raises(KnowledgeBaseError, match="facts declared twice: a"):
        parse_facts(f"facts: [{ok}, {ok}]")
    with pytest.raises(KnowledgeBaseError, match=r"facts\.0\.from.*unknown origin 'apis'"):
        parse_facts("facts: [{name: a, type: str, from: [apis], meaning: m}]")
    with pytest.raises(KnowledgeBaseError, match=r"facts\.0\.type"):
        parse_facts("facts: [{name: a, type: string, from: [api], meaning: m}]")
