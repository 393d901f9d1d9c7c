"""Decision rules as data (``data/rules/diagnosis.yaml``): facts in, root cause out.

Why data: the knowledge of which combination of facts means which cause belongs with the
signatures, reviewable by people who know storage and runtimes but not this code, and checked by
a test like every shipped data file. The engine is deliberately small: conditions on flat facts,
first match wins, confidence = base + boosts - gaps, templates filled from the facts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from podsleuth.datafiles import read_yaml, validated
from podsleuth.diagnose.fact_catalog import FactCatalog, load_facts
from podsleuth.diagnose.localized import same_items, same_placeholders
from podsleuth.errors import KnowledgeBaseError

GAP_PENALTY = {"node-agent": 0.15, "api": 0.05}
"""Confidence lost per link that could not be checked (by source)."""
MIN_CONFIDENCE, MAX_CONFIDENCE = 0.05, 0.99
"""libyaml's safe loader when PyYAML has it (the rules file loads ~10x faster), else PyYAML's."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Model):
    fact: str
    is_: Any = Field(default=None, alias="is")
    in_: list[Any] | None = Field(default=None, alias="in")
    present: bool | None = None
    contains: str | None = None
    gte: float | None = None
    not_: Any = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [
            k for k in ("is_", "in_", "present", "contains", "gte", "not_") if getattr(self, k) is not None
        ]
        if len(tests) != 1:
            raise ValueError(
                f"condition on {self.fact!r} needs exactly one test (is/in/present/contains/gte/not)"
            )
        return self

    def holds(self, facts: Mapping[str, Any]) -> bool:
        value = facts.get(self.fact)
        if self.present is not None:
            return (value not in (None, "", [], {})) is self.present
        if value is None:
            return False
        if self.is_ is not None:
            return bool(value == self.is_)
        if self.in_ is not None:
            return value in self.in_
        if self.contains is not None:
            if isinstance(value, list | tuple | set):
                return self.contains in value
            return self.contains.lower() in str(value).lower()
        if self.gte is not None:
            return isinstance(value, int | float) and not isinstance(value, bool) and value >= self.gte
        return bool(value != self.not_)


class Boost(_Model):
    when: Condition
    add: float = Field(ge=-1.0, le=1.0)


class Remedy(_Model):
    text: str
    requires: list[str] = Field(default_factory=list)


class RuleText(_Model):
    """A rule's texts in another language (``zh``). Remediation and next checks are plain
    strings paired one to one with the English items; a ``requires`` stays on the English item."""

    summary: str
    root_cause: str
    remediation: list[str] = Field(min_length=1)
    next_checks: list[str] = Field(default_factory=list)


class ContradictionText(_Model):
    say: str
    next_checks: list[str] = Field(default_factory=list)


def _item_texts(items: list[str | Remedy]) -> list[str]:
    return [i.text if isinstance(i, Remedy) else i for i in items]


class Rule(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    cause: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    categories: list[str] = Field(default_factory=list)
    when: list[Condition] = Field(default_factory=list)
    any: list[Condition] = Field(default_factory=list)
    confidence: float = Field(gt=0.0, le=1.0)
    boosts: list[Boost] = Field(default_factory=list)
    node_facts: bool = False
    correlate: bool = False
    summary: str
    root_cause: str
    remediation: list[str | Remedy] = Field(min_length=1)
    next_checks: list[str | Remedy] = Field(default_factory=list)
    """What would confirm or refute the cause, as exact commands (same templates as remediation)."""
    zh: RuleText | None = None
    """The Chinese texts (docs/i18n.md)."""

    @model_validator(mode="after")
    def _translation_matches(self) -> Rule:
        if self.zh is not None:
            same_placeholders(self.summary, self.zh.summary, where="zh.summary")
            same_placeholders(self.root_cause, self.zh.root_cause, where="zh.root_cause")
            same_items(_item_texts(self.remediation), self.zh.remediation, where="zh.remediation")
            same_items(_item_texts(self.next_checks), self.zh.next_checks, where="zh.next_checks")
        return self

    def matches(self, facts: Mapping[str, Any]) -> bool:
        if self.categories and facts.get("category") not in self.categories:
            return False
        if not all(c.holds(facts) for c in self.when):
            return False
        return not self.any or any(c.holds(facts) for c in self.any)

    def score(self, facts: Mapping[str, Any], gaps: list[str]) -> float:
        value = self.confidence + sum(b.add for b in self.boosts if b.when.holds(facts))
        for source in gaps:
            if source == "node-agent" and self.node_facts:
                continue
            value -= GAP_PENALTY.get(source, 0.05)
        return round(min(MAX_CONFIDENCE, max(MIN_CONFIDENCE, value)), 3)

    def remedies(self, facts: Mapping[str, Any]) -> list[str]:
        return _items(self.remediation, facts)

    def checks(self, facts: Mapping[str, Any]) -> list[str]:
        return _items(self.next_checks, facts)


def _items(items: list[str | Remedy], facts: Mapping[str, Any]) -> list[str]:
    return render_items(items, facts)


def render_items(
    items: Sequence[str | Remedy], facts: Mapping[str, Any], texts: Sequence[str] | None = None
) -> list[str]:
    """The items whose ``requires`` facts exist, rendered. ``texts``: the same items in another
    language, paired by index (a translation is plain text; the English item keeps ``requires``,
    so both languages list the same steps)."""
    out = []
    for i, item in enumerate(items):
        if isinstance(item, Remedy):
            if not all(facts.get(r) not in (None, "", [], False) for r in item.requires):
                continue
            item = item.text
        out.append(render(texts[i] if texts is not None else item, facts))
    return out


class Contradiction(_Model):
    """Two facts that cannot both be true: whatever rule matched, one of its inputs is wrong (or
    the world changed between the reads), so the diagnosis loses ``lower`` and says ``say``
    instead of silently trusting one side. ``causes`` limits it to conclusions built on one side
    (empty = any); ``when``/``any`` as in rules."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    causes: list[str] = Field(default_factory=list)
    when: list[Condition] = Field(min_length=1)
    any: list[Condition] = Field(default_factory=list)
    lower: float = Field(gt=0.0, le=1.0)
    say: str
    next_checks: list[str | Remedy] = Field(default_factory=list)
    zh: ContradictionText | None = None

    @model_validator(mode="after")
    def _translation_matches(self) -> Contradiction:
        if self.zh is not None:
            same_placeholders(self.say, self.zh.say, where="zh.say")
            same_items(_item_texts(self.next_checks), self.zh.next_checks, where="zh.next_checks")
        return self

    def checks(self, facts: Mapping[str, Any]) -> list[str]:
        return _items(self.next_checks, facts)

    def holds(self, facts: Mapping[str, Any], cause: str) -> bool:
        if self.causes and cause not in self.causes:
            return False
        if not all(c.holds(facts) for c in self.when):
            return False
        return not self.any or any(c.holds(facts) for c in self.any)


class RuleSet(_Model):
    rules: list[Rule]
    contradictions: list[Contradiction] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        for kind, ids in (
            ("rule", [r.id for r in self.rules]),
            ("contradiction", [c.id for c in self.contradictions]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {', '.join(dupes)}")
        return self

    def first(self, facts: Mapping[str, Any]) -> Rule | None:
        return next((r for r in self.rules if r.matches(facts)), None)

    def contradicted(self, facts: Mapping[str, Any], cause: str) -> list[Contradiction]:
        """Every contradiction among the facts that bears on ``cause`` (all of them are said)."""
        return [c for c in self.contradictions if c.holds(facts, cause)]


_FIELD = re.compile(r"\{(\w+)(?:\|((?:[^{}]|\{\w+\})*))?\}")


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def render(template: str, facts: Mapping[str, Any]) -> str:
    """``{fact}`` or ``{fact|fallback}`` (the fallback may name one ``{other}`` fact, or be empty:
    ``{oom_clause|}`` for an optional phrase); ``?`` otherwise."""

    def one(m: re.Match[str]) -> str:
        value = facts.get(m.group(1))
        if value not in (None, "", []):
            return _text(value)
        fallback = m.group(2)
        return render(fallback, facts) if fallback is not None else "?"

    return " ".join(_FIELD.sub(one, template).split())


def _fact_problems(entry: Rule | Contradiction, facts: FactCatalog) -> Iterator[str]:
    """Every fact an entry names that is not declared, or that its test cannot fit."""
    conditions = [*entry.when, *entry.any, *(b.when for b in getattr(entry, "boosts", []))]
    for c in conditions:
        tests = ("is_", "in_", "present", "contains", "gte", "not_")
        test = next(k for k in tests if getattr(c, k) is not None)
        if problem := facts.misfit(c.fact, test.rstrip("_"), getattr(c, test)):
            yield f"condition: {problem}"
    items = [*getattr(entry, "remediation", []), *entry.next_checks]
    for name in (r for i in items if isinstance(i, Remedy) for r in i.requires):
        if problem := facts.unknown(name):
            yield f"requires: {problem}"
    texts = [getattr(entry, k) for k in ("summary", "root_cause", "say") if hasattr(entry, k)]
    texts += _item_texts(items)
    if entry.zh is not None:
        texts += [v for k, v in entry.zh if isinstance(v, str)]
        texts += [t for k, v in entry.zh if isinstance(v, list) for t in v]
    for text in texts:
        if problem := facts.template(text):
            yield problem


def check_facts(rules: RuleSet, facts: FactCatalog, *, source: str) -> None:
    """Every fact a rule or contradiction names is declared and fits its test (data/rules/facts.yaml)."""
    for kind, entries in (("rule", rules.rules), ("contradiction", rules.contradictions)):
        for entry in entries:
            for problem in _fact_problems(entry, facts):
                raise KnowledgeBaseError(f"{source}: {kind} {entry.id!r}: {problem}")


def parse_rules(
    text: str, *, source: str = "<rules>", facts: FactCatalog | None = None, require_zh: bool = False
) -> RuleSet:
    """Parse and validate rules; ``facts``: the declaration they are checked against
    (``load_rules`` passes the packaged one; None skips the check, for test fragments);
    ``require_zh``: every rule and contradiction must have its Chinese texts (packaged rules)."""
    parsed = validated(RuleSet, read_yaml(text, where=source), where=source)
    if facts is not None:
        check_facts(parsed, facts, source=source)
    if require_zh:
        missing = [r.id for r in parsed.rules if r.zh is None]
        missing += [c.id for c in parsed.contradictions if c.zh is None]
        if missing:
            raise KnowledgeBaseError(f"{source}: no zh texts for {', '.join(missing)} (docs/i18n.md)")
    return parsed


@functools.cache
def load_rules() -> RuleSet:
    """The packaged rules, parsed once per process."""
    path = resources.files("podsleuth.data").joinpath("rules/diagnosis.yaml")
    return parse_rules(
        path.read_text(encoding="utf-8"), source="rules/diagnosis.yaml", facts=load_facts(), require_zh=True
    )
