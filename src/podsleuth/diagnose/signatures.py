"""The failure-signature data model and the loader of the packaged YAML files.

Signatures are data so that a new runtime wording is a reviewed YAML change, not code. The
loader is strict (unknown keys, bad regexes, duplicate ids, unknown categories or fact
extractors are errors) because a typo in a shipped file would otherwise silently stop a
signature from ever matching; every error names the file and the entry.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from podsleuth.datafiles import read_yaml, validated
from podsleuth.diagnose.categories import CATEGORIES
from podsleuth.diagnose.extractors import EXTRACTORS
from podsleuth.diagnose.fact_catalog import FactCatalog, load_facts
from podsleuth.diagnose.localized import placeholders, same_items, same_placeholders
from podsleuth.errors import KnowledgeBaseError

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_GROUP_RE = re.compile(r"\(\?P<(\w+)>")

NonEmpty = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class NextChecks(_Model):
    """What to look at next, split by where it can be looked at: the watcher can run API checks
    itself, node checks need the node agent (or a human with a shell)."""

    api: tuple[NonEmpty, ...] = ()
    node: tuple[NonEmpty, ...] = ()


class SignatureText(_Model):
    """The user-facing texts of a signature in another language (``zh``): the same fields, the
    same placeholders and the same number of items as the English ones (checked on load)."""

    summary: NonEmpty
    root_cause: NonEmpty
    remediation: tuple[NonEmpty, ...] = ()
    next_checks: NextChecks = NextChecks()


def _category_known(v: str) -> str:
    if v not in CATEGORIES:
        raise ValueError(f"unknown category {v!r} (known: {', '.join(sorted(CATEGORIES))})")
    return v


class CategoryWhen(_Model):
    """One failure can reach us through different steps: containerd's "error unpacking image"
    fails a pod sandbox or a container start. The step is in the message's own context (the
    Kubernetes reason it came with, or the words around the error), and picks the category."""

    category: NonEmpty
    reasons: tuple[NonEmpty, ...] = ()
    """Kubernetes reasons (``FailedCreatePodSandBox``) that mean this category."""
    match: NonEmpty | None = None
    """A regex searched in the matched message when no rule's reason decided."""

    _known_category = field_validator("category")(_category_known)

    @field_validator("match")
    @classmethod
    def _match_compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"bad regex {v!r}: {e}") from e
        return v

    @model_validator(mode="after")
    def _has_a_condition(self) -> CategoryWhen:
        if not self.reasons and self.match is None:
            raise ValueError("a category_when rule needs reasons or match (or both)")
        return self


class Signature(_Model):
    """One failure signature: how to recognise a message, and what it means."""

    id: NonEmpty
    category: NonEmpty
    family: NonEmpty
    priority: Annotated[int, Field(ge=0, le=100)]
    reasons: tuple[NonEmpty, ...] = ()
    keywords: tuple[NonEmpty, ...] = Field(min_length=1)
    patterns: tuple[NonEmpty, ...] = Field(min_length=1)
    require: tuple[NonEmpty, ...] = ()
    exclude: tuple[NonEmpty, ...] = ()
    facts: tuple[NonEmpty, ...] = ()
    category_when: tuple[CategoryWhen, ...] = ()
    summary: NonEmpty
    root_cause: NonEmpty
    next_checks: NextChecks = NextChecks()
    remediation: tuple[NonEmpty, ...] = ()
    sources: tuple[NonEmpty, ...] = ()
    notes: tuple[NonEmpty, ...] = ()
    """Authoring notes (wording generations, versions, PRs): for maintainers, never rendered."""
    zh: SignatureText | None = None
    """The Chinese texts (docs/i18n.md)."""

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not _ID_RE.match(v):
            raise ValueError(f"id {v!r} must be lowercase letters, digits, '.' and '-'")
        return v

    _known_category = field_validator("category")(_category_known)

    @model_validator(mode="after")
    def _translation_matches(self) -> Signature:
        if self.zh is not None:
            same_placeholders(self.summary, self.zh.summary, where="zh.summary")
            same_placeholders(self.root_cause, self.zh.root_cause, where="zh.root_cause")
            same_items(self.remediation, self.zh.remediation, where="zh.remediation")
            same_items(self.next_checks.api, self.zh.next_checks.api, where="zh.next_checks.api")
            same_items(self.next_checks.node, self.zh.next_checks.node, where="zh.next_checks.node")
        return self

    @model_validator(mode="after")
    def _rules_change_the_category(self) -> Signature:
        for i, rule in enumerate(self.category_when):
            if rule.category == self.category:
                raise ValueError(f"category_when[{i}] names the signature's own category {rule.category!r}")
        return self

    @field_validator("keywords")
    @classmethod
    def _lowercase_keywords(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        # The prefilter compares against the lowercased message: an uppercase keyword would
        # never be found and the signature would be dead.
        for k in v:
            if k != k.lower():
                raise ValueError(f"keyword {k!r} must be lowercase")
        return v

    @field_validator("patterns", "require", "exclude")
    @classmethod
    def _compiles(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i, p in enumerate(v):
            try:
                compiled = re.compile(p)
            except re.error as e:
                raise ValueError(f"[{i}] bad regex {p!r}: {e}") from e
            for name in compiled.groupindex:
                if not name.islower():
                    raise ValueError(f"[{i}] group name {name!r} must be snake_case")
        return v

    @field_validator("facts")
    @classmethod
    def _known_extractors(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if name not in EXTRACTORS:
                raise ValueError(f"unknown fact extractor {name!r} (known: {', '.join(sorted(EXTRACTORS))})")
        return v

    @field_validator("summary")
    @classmethod
    def _summary_template(cls, v: str) -> str:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(v) if f is not None]
        except ValueError as e:
            raise ValueError(f"bad summary template: {e}") from e
        for f in fields:
            if not f.partition("|")[0].isidentifier():
                raise ValueError(
                    f"summary placeholder {{{f}}} must be a plain fact name, optionally |default"
                )
        return v


class SignatureFile(_Model):
    signatures: tuple[dict[str, Any], ...] = Field(min_length=1)


def packaged_files() -> list[Traversable]:
    """The YAML files shipped in ``podsleuth/data/signatures``, in a stable order."""
    root = resources.files("podsleuth").joinpath("data", "signatures")
    return sorted((f for f in root.iterdir() if f.name.endswith((".yaml", ".yml"))), key=lambda f: f.name)


def _entry_label(index: int, raw: object) -> str:
    ident = raw.get("id") if isinstance(raw, dict) else None
    return f"entry {index + 1}" + (f" (id {ident!r})" if isinstance(ident, str) else "")


def load_file(source: Traversable | Path) -> list[Signature]:
    """Parse and validate one signatures file; raise KnowledgeBaseError naming file and entry."""
    name = str(source)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KnowledgeBaseError(f"signatures file {name}: cannot read: {e}") from e
    where = f"signatures file {name}"
    parsed = validated(SignatureFile, read_yaml(text, where=where), where=where)
    out: list[Signature] = []
    facts = load_facts()
    for i, raw in enumerate(parsed.signatures):
        out.append(validated(Signature, raw, where=f"{where}: {_entry_label(i, raw)}"))
        try:
            _check_placeholders(out[-1], facts)
        except ValueError as e:
            raise KnowledgeBaseError(f"signatures file {name}: {_entry_label(i, raw)}: {e}") from e
    return out


def _check_placeholders(sig: Signature, facts: FactCatalog) -> None:
    """A signature's texts name only facts it can produce itself (its pattern groups, its
    extractors' facts as declared in data/rules/facts.yaml, the incident's): ``diagnose message``
    renders them from the message alone, so any other fact would always read ``?`` there.
    ValueError naming the text and the fact."""
    own = set(facts.from_origin("subject"))
    for p in sig.patterns:
        own.update(_GROUP_RE.findall(p))  # not re.compile: ~150 signatures overflow re's cache
    for extractor in sig.facts:
        own |= facts.from_origin(f"extractor:{extractor}")
    texts = {"summary": sig.summary, "root_cause": sig.root_cause}
    texts.update({f"remediation[{i}]": r for i, r in enumerate(sig.remediation)})
    if sig.zh is not None:
        texts.update({"zh.summary": sig.zh.summary, "zh.root_cause": sig.zh.root_cause})
        texts.update({f"zh.remediation[{i}]": r for i, r in enumerate(sig.zh.remediation)})
    for where, text in texts.items():
        for fact in sorted(placeholders(text) - own):
            close = difflib.get_close_matches(fact, own, n=2)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            raise ValueError(
                f"{where}: placeholder {{{fact}}}: not a fact this signature produces"
                f" (a pattern group, its extractors' facts or the incident's){hint}"
            )


def load_signatures(sources: Iterable[Traversable | Path], *, require_zh: bool = False) -> list[Signature]:
    """Load several files and reject an id defined twice, naming both places. ``require_zh``
    (the packaged knowledge base): a signature without its Chinese texts is an error, since a
    zh user would otherwise read English for exactly that failure."""
    seen: dict[str, str] = {}
    out: list[Signature] = []
    for source in sources:
        for sig in load_file(source):
            if require_zh and sig.zh is None:
                where = f"signatures file {source}: id {sig.id!r}"
                raise KnowledgeBaseError(f"{where}: no zh texts (docs/i18n.md)")
            if sig.id in seen:
                raise KnowledgeBaseError(
                    f"signatures file {source}: duplicate id {sig.id!r} (already defined in {seen[sig.id]})"
                )
            seen[sig.id] = str(source)
            out.append(sig)
    if not out:
        raise KnowledgeBaseError("no signatures found in the knowledge base")
    return out
