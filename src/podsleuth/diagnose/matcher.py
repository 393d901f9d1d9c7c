"""Matching a message against every signature cheaply, and ranking the ones that fit.

A watcher classifies every Warning event of a cluster, so matching must stay cheap with the
whole knowledge base loaded: each signature declares literal keywords, one pass of substring
tests over the lowercased message selects the few signatures worth a regex, and only those
run their (precompiled) patterns.

When several signatures fit, the most specific one wins: ``priority`` in the data says how
specific a signature is (a runc ENOENT on a ``kubernetes.io~csi/.../mount`` path outranks any
runc ENOENT), and a Kubernetes ``reason``, when the caller has one, confirms or contradicts a
signature's expected reasons.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from podsleuth.diagnose.categories import normalise_reason
from podsleuth.diagnose.literals import trie_pattern
from podsleuth.diagnose.signatures import Signature

#: Longer messages are cut to their head and tail before matching: Kubernetes caps event and
#: termination messages well below this, and the cut bounds the cost of hostile input.
MAX_SCAN = 16384
_HALF = MAX_SCAN // 2

_REASON_BONUS = 0.1
_REASON_PENALTY = 0.2


@dataclass(frozen=True, slots=True)
class CompiledSignature:
    signature: Signature
    patterns: tuple[re.Pattern[str], ...]
    require: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    reasons: frozenset[str]
    #: score without a reason, with a confirming reason, with a contradicting one
    scores: tuple[float, float, float]
    rank: tuple[int, str]

    @classmethod
    def compile(cls, sig: Signature) -> CompiledSignature:
        base = 0.5 + 0.4 * sig.priority / 100
        return cls(
            signature=sig,
            patterns=tuple(re.compile(p) for p in sig.patterns),
            require=tuple(re.compile(p) for p in sig.require),
            exclude=tuple(re.compile(p) for p in sig.exclude),
            reasons=frozenset(r for r in (normalise_reason(x) for x in sig.reasons) if r),
            scores=(_clamp(base), _clamp(base + _REASON_BONUS), _clamp(base - _REASON_PENALTY)),
            rank=(-sig.priority, sig.id),
        )

    def match(self, text: str) -> dict[str, str] | None:
        """The named groups of the first pattern that matches, or None when it does not fit."""
        for rx in self.exclude:
            if rx.search(text):
                return None
        for rx in self.require:
            if not rx.search(text):
                return None
        for rx in self.patterns:
            m = rx.search(text)
            if m:
                return {k: v for k, v in m.groupdict().items() if v} if rx.groupindex else {}
        return None

    def score(self, reason: str | None) -> float:
        if reason is None or not self.reasons:
            return self.scores[0]
        return self.scores[1] if reason in self.reasons else self.scores[2]


def _clamp(score: float) -> float:
    return round(min(1.0, max(0.0, score)), 3)


class Hit(NamedTuple):
    """One signature that fits a message, with its score and the facts its pattern captured."""

    compiled: CompiledSignature
    score: float
    groups: dict[str, str]


def scan_text(message: str) -> str:
    """The part of a message that is matched: all of it, or head and tail of a huge one."""
    if len(message) <= MAX_SCAN:
        return message
    return message[:_HALF] + "\n...\n" + message[-_HALF:]


class Matcher:
    """All signatures compiled once, indexed by keyword for the prefilter."""

    def __init__(self, signatures: Sequence[Signature]) -> None:
        self._compiled = tuple(CompiledSignature.compile(s) for s in signatures)
        index: dict[str, set[int]] = {}
        for i, c in enumerate(self._compiled):
            for kw in c.signature.keywords:
                index.setdefault(kw, set()).add(i)
        # A keyword found in the text implies every keyword that is a substring of it: the
        # scan reports only the longest keyword starting at each position.
        self._cover = {
            kw: tuple(sorted({i for other, idx in index.items() if other in kw for i in idx})) for kw in index
        }
        self._scan = re.compile(f"(?=({trie_pattern(index)}))")

    @property
    def compiled(self) -> tuple[CompiledSignature, ...]:
        return self._compiled

    def prefilter(self, lowered: str) -> list[int]:
        """Indices of signatures with at least one keyword in the (lowercased) text, in
        knowledge-base order. One regex pass: the keywords form a trie, tried at each position."""
        cover = self._cover
        found = {cover[m.group(1)] for m in self._scan.finditer(lowered)}
        if not found:
            return []
        if len(found) == 1:
            return list(next(iter(found)))
        return sorted({i for idx in found for i in idx})

    def hits(self, message: str, reason: str | None = None) -> list[Hit]:
        """Every fitting signature, best first (score, then priority, then id for stability)."""
        text = scan_text(message)
        norm_reason = normalise_reason(reason)
        out: list[Hit] = []
        for i in self.prefilter(text.lower()):
            c = self._compiled[i]
            groups = c.match(text)
            if groups is not None:
                out.append(Hit(c, c.score(norm_reason), groups))
        out.sort(key=lambda h: (-h.score, h.compiled.rank))
        return out
