"""Matching a message against every signature cheaply, and ranking the ones that fit.

A watcher classifies every Warning event of a cluster, so matching must stay cheap with the
whole knowledge base loaded: each signature declares literal keywords, one pass of substring
tests over the lowercased message selects the few signatures worth a regex, and only those
run their (precompiled) patterns.

When several signatures fit, the most specific one wins: ``priority`` in the data says how
specific a signature is (a runc ENOENT on a ``kubernetes.io~csi/.../mount`` path outranks any
runc ENOENT), and a Kubernetes ``reason``, when the caller has one, confirms or contradicts a
signature's expected reasons. A signature whose failure arrives through several steps picks
its category from the same context (``category_when``: the reason, else the words around it).

Messages do not always arrive alone: people paste ``kubectl describe`` Events tables, log
lines carry journald/klog/dmesg/logrus prefixes, and logrus/klog quote the error a second time
(``msg="... \\"path\\" ..."``). Such input is also matched line by line, without its prefix and
with its quoting undone (the Reason column of a table row becomes the reason hint); the best
hit of any of these views wins, so the failing line of a paste decides, not its first line.
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
    #: ``category_when`` compiled: (category, reasons, regex or None), in the data's order
    category_rules: tuple[tuple[str, frozenset[str], re.Pattern[str] | None], ...]
    #: score without a reason, with a confirming reason, with a contradicting one
    scores: tuple[float, float, float]
    rank: tuple[int, str]

    @classmethod
    def compile(cls, sig: Signature) -> CompiledSignature:
        base = 0.5 + 0.4 * sig.priority / 100
        rules = tuple(
            (r.category, _norm_reasons(r.reasons), re.compile(r.match) if r.match else None)
            for r in sig.category_when
        )
        return cls(
            signature=sig,
            patterns=tuple(re.compile(p) for p in sig.patterns),
            require=tuple(re.compile(p) for p in sig.require),
            exclude=tuple(re.compile(p) for p in sig.exclude),
            # a reason that picks one of its categories also confirms the signature
            reasons=_norm_reasons(sig.reasons).union(*(r[1] for r in rules)),
            category_rules=rules,
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

    def category(self, text: str, reason: str | None) -> str:
        """The category for this message: the first ``category_when`` rule naming its
        (normalised) reason, else the first whose regex finds its context in ``text``, else
        the signature's own. A reason is the stronger evidence: it is the step that failed."""
        rules = self.category_rules
        if not rules:
            return self.signature.category
        if reason is not None:
            for category, reasons, _ in rules:
                if reason in reasons:
                    return category
        for category, _, rx in rules:
            if rx is not None and rx.search(text):
                return category
        return self.signature.category

    def score(self, reason: str | None) -> float:
        if reason is None or not self.reasons:
            return self.scores[0]
        return self.scores[1] if reason in self.reasons else self.scores[2]


def _norm_reasons(reasons: Sequence[str]) -> frozenset[str]:
    return frozenset(r for r in (normalise_reason(x) for x in reasons) if r)


def _clamp(score: float) -> float:
    return round(min(1.0, max(0.0, score)), 3)


class Hit(NamedTuple):
    """One signature that fits a message, with its score and the facts its pattern captured.
    ``text`` is the view of the message that matched (a line of a paste, a de-quoted log
    line), empty when it is the message itself: facts are extracted from it."""

    compiled: CompiledSignature
    score: float
    groups: dict[str, str]
    text: str = ""
    reason: str | None = None
    """The normalised reason the hit was scored with (a pasted row's own, else the caller's)."""
    context: str = ""
    """The whole line a view came from (a de-quoted ``error=`` value's line still says
    ``RunPodSandbox``): where ``category_when`` looks; empty for the message itself."""


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
        # No lookahead around the trie: a pattern that starts with a branch of literals lets
        # the regex engine skip positions by first character; overlaps are found by searching
        # again from the position after each match's start.
        self._scan = re.compile(trie_pattern(index))

    @property
    def compiled(self) -> tuple[CompiledSignature, ...]:
        return self._compiled

    def prefilter(self, lowered: str) -> list[int]:
        """Indices of signatures with at least one keyword in the (lowercased) text, in
        knowledge-base order. One regex pass: the keywords form a trie, tried at each position."""
        cover = self._cover
        search = self._scan.search
        found: set[tuple[int, ...]] = set()
        m = search(lowered)
        while m is not None:
            found.add(cover[m.group()])
            m = search(lowered, m.start() + 1)
        if not found:
            return []
        if len(found) == 1:
            return list(next(iter(found)))
        return sorted({i for idx in found for i in idx})

    def hits(self, message: str, reason: str | None = None) -> list[Hit]:
        """Every fitting signature, best first (score, then priority, then id for stability).
        Pastes and prefixed lines are also matched view by view (see the module docstring);
        the hits of the view with the best top hit are returned."""
        text = scan_text(message)
        best = self._hits(text, normalise_reason(reason), "")
        if not needs_views(text):
            return best
        for view, view_reason, line in views(text):
            alt = self._hits(view, normalise_reason(view_reason or reason), view, line)
            if alt and (not best or _order(alt[0]) < _order(best[0])):
                best = alt
        return best

    def _hits(self, text: str, norm_reason: str | None, view: str, context: str = "") -> list[Hit]:
        out: list[Hit] = []
        for i in self.prefilter(text.lower()):
            c = self._compiled[i]
            groups = c.match(text)
            if groups is not None:
                out.append(Hit(c, c.score(norm_reason), groups, view, norm_reason, context))
        out.sort(key=_order)
        return _by_nodes_ruled_out(out, text)


def _order(h: Hit) -> tuple[float, int, str]:
    return (-h.score, *h.compiled.rank)


def _by_nodes_ruled_out(hits: list[Hit], text: str) -> list[Hit]:
    """A FailedScheduling message names several filters with the number of nodes each ruled
    out ("1 node(s) had untolerated taint, 4 Insufficient cpu"); the filter that ruled out the
    most nodes is the cause to report. Scheduling signatures capture that number as
    ``ruled_out``; among those hits the largest total (every occurrence their patterns find:
    "3 Insufficient cpu, 2 Insufficient memory" is 5) goes first, ties keep the usual order."""
    if not hits or "ruled_out" not in hits[0].groups:
        return hits
    counted = [h for h in hits if "ruled_out" in h.groups]
    # the preemption summary repeats some filters ("preemption: 0/6 nodes are available: 2
    # node(s) didn't match ..."): count each filter once, from the scheduling verdict
    text = _PREEMPTION.sub("", text)
    top = max(counted, key=lambda h: _ruled_out(h.compiled, text))
    if top is hits[0]:
        return hits
    return [top, *(h for h in hits if h is not top)]


_PREEMPTION = re.compile(r"preemption: \d{1,6}/\d{1,6} nodes are available:[^\n]{0,8192}")


def _ruled_out(c: CompiledSignature, text: str) -> int:
    return sum(
        int(m.group("ruled_out"))
        for rx in c.patterns
        if "ruled_out" in rx.groupindex
        for m in rx.finditer(text)
        if m.group("ruled_out")
    )


# --- views of pasted or prefixed input ---------------------------------------------------

#: Log-line prefixes, stripped (repeatedly: journald around klog) before matching a line.
_PREFIX = re.compile(
    # journald / syslog: "Dec 03 06:12:01 node-1 kubelet[1234]: "
    r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d{1,9})? [\w.-]{1,253} [\w./@-]{1,64}(?:\[\d{1,10}\])?: "
    # klog header: "E1203 06:12:01.123456    1234 pod_workers.go:1298] "
    r"|[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{1,9} {1,12}\d{1,10} [\w.-]{1,128}:\d{1,6}\] "
    # dmesg, dmesg -T
    r"|\[ {0,12}\d{1,10}\.\d{1,9}\] "
    r"|\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\] "
    # ISO timestamps (dmesg --time-format iso, log shippers), with an optional level word
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?\s{1,8}"
    r"(?:(?:info|warn|warning|error|debug|INFO|WARN|ERROR)\s{1,8})?"
    # /dev/kmsg record: "6,1234,5678901,-;"
    r"|\d,\d{1,20},\d{1,20},[-c];"
    # e2e framework event dump: "May  4 15:49:12.579: INFO: At ... - event for pod-x: {kubelet n} "
    r"|[A-Z][a-z]{2} {1,2}\d{1,2} [\d:.]{8,16}: INFO: At [^\n]{1,80}? - event for \S{1,253}: "
    r"\{[^}\n]{1,300}\} "
    r")"
)
#: The Reason column of a ``kubectl describe`` / ``get events`` row, or of an e2e event dump.
_ROW_REASON = re.compile(
    r"(?:^|\s)(?:Normal|Warning)\s{1,40}([A-Z][A-Za-z]{2,63})\s|\} ([A-Z][A-Za-z]{2,63}): "
)
#: Values that logrus (msg=, error=) and klog (err=) quote with Go's %q; matched on their own
#: (unquoted) so that a pattern anchored at the start or the end of an error sees it.
_QUOTED = re.compile(r'\b(?:msg|err|error)="((?:[^"\\\n]|\\.){1,16384})"')
_MAX_LINES = 200


def needs_views(text: str) -> bool:
    """Cheap test, so that a plain one-line message costs nothing extra."""
    return "\n" in text or '\\"' in text or '="' in text or _PREFIX.match(text) is not None


def _unquote(value: str) -> str:
    for _ in range(3):
        if "\\" not in value:
            break
        value = value.replace('\\"', '"').replace("\\\\", "\\")
    return value


def _strip_prefix(line: str) -> str:
    for _ in range(3):
        m = _PREFIX.match(line)
        if m is None:
            break
        line = line[m.end() :]
    return line


def views(text: str) -> list[tuple[str, str | None, str]]:
    """(view, reason hint, its line) triples: each non-empty line without its prefix, plus the
    de-quoted values of its msg=/err=/error= fields. At most ``_MAX_LINES`` lines are looked at: the
    first and the last half of them (an Events table lists the latest rows last)."""
    out: list[tuple[str, str | None, str]] = []
    lines = text.splitlines()
    if len(lines) > _MAX_LINES:
        lines = lines[: _MAX_LINES // 2] + lines[-(_MAX_LINES // 2) :]
    for raw in lines:
        line = _strip_prefix(raw.strip())
        if not line:
            continue
        m = _ROW_REASON.search(line)
        reason = (m.group(1) or m.group(2)) if m else None
        if line != text:
            out.append((line, reason, line))
        quoted = [_unquote(q) for q in _QUOTED.findall(line)] if '="' in line else []
        out.extend((q, reason, line) for q in quoted)
        if not quoted and '\\"' in line:
            out.append((_unquote(line), reason, line))
    return out
