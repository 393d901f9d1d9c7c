"""The knowledge base: the public entry point the CLI and the watcher use to classify messages.

``KnowledgeBase.default()`` loads and compiles the packaged signatures once per process;
``classify`` returns an immutable ``Classification`` that carries everything a report needs,
so that callers never reach into the signature data themselves.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import msgspec

from podsleuth.diagnose.categories import UNKNOWN, category_of_reason
from podsleuth.diagnose.extractors import EXTRACTORS, Facts
from podsleuth.diagnose.matcher import Hit, Matcher, scan_text
from podsleuth.diagnose.rules import render
from podsleuth.diagnose.signatures import Signature, load_signatures, packaged_files

MAX_CANDIDATES = 5


class LocalTexts(msgspec.Struct, frozen=True, kw_only=True):
    """A signature's user-facing texts in one language, rendered for one message."""

    summary: str = ""
    root_cause: str = ""
    next_checks_api: tuple[str, ...] = ()
    next_checks_node: tuple[str, ...] = ()
    remediation: tuple[str, ...] = ()


class Classification(msgspec.Struct, frozen=True, kw_only=True):
    """What a message means. ``signature`` is None when nothing in the knowledge base fits;
    ``category`` then falls back to what the Kubernetes reason implies, else ``unknown``.
    A msgspec Struct: the watcher builds one per distinct message, and it is cheap to make."""

    signature: str | None
    category: str
    score: float
    candidates: tuple[tuple[str, float], ...] = ()
    root_cause: str = ""
    summary: str = ""
    facts: dict[str, object] = msgspec.field(default_factory=dict)
    next_checks_api: tuple[str, ...] = ()
    next_checks_node: tuple[str, ...] = ()
    remediation: tuple[str, ...] = ()
    translations: dict[str, LocalTexts] = msgspec.field(default_factory=dict)
    """The same texts in the other languages the signature has (``zh``)."""

    def texts(self, lang: str) -> LocalTexts:
        """The texts in ``lang``; the English ones when the signature has no such translation."""
        if lang in self.translations:
            return self.translations[lang]
        return LocalTexts(
            summary=self.summary,
            root_cause=self.root_cause,
            next_checks_api=self.next_checks_api,
            next_checks_node=self.next_checks_node,
            remediation=self.remediation,
        )

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        """The ``diagnose messages`` output shape of CONTRACT.md, plus our extra keys; the
        explanation and steps filled from the message's facts (a diagnosis fills them from all
        of its facts: ``translate.signature_texts``). ``lang``: the texts in that language
        (English where the signature has none), ids and field names unchanged, and
        ``"locale"`` saying which language the texts are in."""
        texts = self.texts(lang)
        return {
            "category": self.category,
            "signature": self.signature,
            "score": self.score,
            "candidates": [{"signature": s, "score": sc} for s, sc in self.candidates],
            "summary": texts.summary,
            "root_cause": render(texts.root_cause, self.facts),
            "facts": self.facts,
            "next_checks": [*texts.next_checks_api, *texts.next_checks_node],
            "next_checks_api": list(texts.next_checks_api),
            "next_checks_node": list(texts.next_checks_node),
            "remediation": [render(r, self.facts) for r in texts.remediation],
            "locale": lang if lang in self.translations else "en",
        }


_Template = tuple[tuple[str, str | None, str | None], ...]


def _parse_template(template: str) -> _Template:
    """``{name}`` or ``{name|text if the message did not carry that fact}`` (else ``?``)."""
    out: list[tuple[str, str | None, str | None]] = []
    for literal, field_name, _, _ in string.Formatter().parse(template):
        if field_name is None:
            out.append((literal, None, None))
        else:
            name, bar, default = field_name.partition("|")
            out.append((literal, name, default if bar else None))
    return tuple(out)


def _render(parsed: _Template, facts: Mapping[str, object]) -> str:
    parts = []
    for literal, name, default in parsed:
        parts.append(literal)
        if name is not None:
            value = facts.get(name)
            parts.append(str(value) if value is not None else default if default is not None else "?")
    return "".join(parts)


# Catalogue checks are written against the default layout with placeholders; make them
# concrete for this message (the founding cluster's kubelet root was /data/kubernetes/kubelet).
_PLACEHOLDERS = (("<uid>", "pod_uid"), ("<pv>", "volume"), ("<driver>", "csi_driver"), ("<image>", "image"))


def _concrete(check: str, facts: Mapping[str, object]) -> str:
    if "<" not in check and "/var/lib/kubelet/" not in check:
        return check
    for placeholder, key in _PLACEHOLDERS:
        value = facts.get(key)
        if isinstance(value, str) and placeholder in check:
            check = check.replace(placeholder, value)
    root = facts.get("kubelet_root")
    if isinstance(root, str) and root != "/var/lib/kubelet":
        check = check.replace("/var/lib/kubelet/", root + "/")
    return check


class KnowledgeBase:
    """The compiled signatures. Build one with ``default()`` (packaged data) or
    ``from_files()`` (tests, site-specific additions)."""

    def __init__(self, signatures: Sequence[Signature]) -> None:
        self._signatures = tuple(signatures)
        self._by_id = {s.id: s for s in self._signatures}
        self._matcher = Matcher(self._signatures)
        self._summaries = {s.id: _parse_template(s.summary) for s in self._signatures}
        self._zh_summaries = {
            s.id: _parse_template(s.zh.summary) for s in self._signatures if s.zh is not None
        }

    @classmethod
    def default(cls) -> KnowledgeBase:
        return _default()

    @classmethod
    def from_files(cls, paths: Iterable[Traversable | Path]) -> KnowledgeBase:
        return cls(load_signatures(paths))

    @property
    def signatures(self) -> tuple[Signature, ...]:
        return self._signatures

    def get(self, signature_id: str) -> Signature | None:
        return self._by_id.get(signature_id)

    def hits(self, message: str, reason: str | None = None) -> list[Hit]:
        return self._matcher.hits(message, reason)

    def signature_of(self, message: str, reason: str | None = None) -> str | None:
        """Only the winning id: no fact extraction, for callers that just fingerprint."""
        hits = self._matcher.hits(message, reason)
        return hits[0].compiled.signature.id if hits else None

    def classify(self, message: str, reason: str | None = None) -> Classification:
        hits = self._matcher.hits(message, reason)
        candidates = tuple((h.compiled.signature.id, h.score) for h in hits[:MAX_CANDIDATES])
        if not hits:
            return Classification(
                signature=None,
                category=category_of_reason(reason) or UNKNOWN,
                score=0.0,
                summary="no known failure signature matched",
                translations={"zh": LocalTexts(summary="没有匹配的已知故障特征")},
            )
        best = hits[0]
        sig = best.compiled.signature
        facts = self._facts(best.text or message, sig, best.groups)
        return Classification(
            signature=sig.id,
            category=_category(best.compiled.category(best.context or best.text or scan_text(message),
                                                      best.reason), reason),
            score=best.score,
            candidates=candidates,
            root_cause=sig.root_cause,
            summary=_render(self._summaries[sig.id], facts),
            facts=facts,
            next_checks_api=tuple(_concrete(c, facts) for c in sig.next_checks.api),
            next_checks_node=tuple(_concrete(c, facts) for c in sig.next_checks.node),
            remediation=sig.remediation,
            translations=self._translations(sig, facts),
        )

    def _translations(self, sig: Signature, facts: Facts) -> dict[str, LocalTexts]:
        if sig.zh is None:
            return {}
        zh = sig.zh
        return {
            "zh": LocalTexts(
                summary=_render(self._zh_summaries[sig.id], facts),
                root_cause=zh.root_cause,
                next_checks_api=tuple(_concrete(c, facts) for c in zh.next_checks.api),
                next_checks_node=tuple(_concrete(c, facts) for c in zh.next_checks.node),
                remediation=zh.remediation,
            )
        }

    @staticmethod
    def _facts(message: str, sig: Signature, groups: Mapping[str, str]) -> Facts:
        text = scan_text(message)
        lowered = text.lower()
        facts: Facts = {}
        for name in sig.facts:
            facts.update(EXTRACTORS[name](text, lowered))
        # The matching pattern knows the message's structure best: its groups win.
        facts.update(groups)
        return facts


#: Categories that become ``init-failure`` when the container is an init container: the
#: Kubernetes reason says so ("Init:CrashLoopBackOff"), the message itself does not.
_INIT_CATEGORIES = frozenset({"crash-loop", "oom-killed", "container-start"})


def _category(category: str, reason: str | None) -> str:
    """One failure, one category: an init container's crash loop is an init failure
    (CONTRACT.md), whatever signature its message matched."""
    if reason is not None and category in _INIT_CATEGORIES and reason.strip().lower().startswith("init:"):
        return "init-failure"
    return category


@functools.cache
def _default() -> KnowledgeBase:
    return KnowledgeBase(load_signatures(packaged_files(), require_zh=True))
