"""The readable live view of ``watch --output text``.

A person watching a terminal wants to see each new incident once, in full, and then only what
changes: ``LiveView`` prints one block per new incident and one line per later change that a
person would notice (more pods, a higher count, a cause found or changed), and nothing for
changes that only refresh data. Lines follow the terminal's width (``$COLUMNS``); a long message
is shortened in the middle, because its end carries the errno that matters
(``...: no such file or directory``). Colour only on a terminal, never with ``NO_COLOR``.
Widths are terminal columns (``podsleuth.textwidth``: a Chinese character takes two), and the
view speaks the run's language (``--lang``): its own words from ``WORDS``, the diagnosis's texts
from its translations; ids (categories, causes, severities) stay ids.
"""

from __future__ import annotations

import os
import shutil
from collections import OrderedDict
from collections.abc import Sequence
from typing import IO, NamedTuple

import click

from podsleuth.detect import Incident, IncidentChange
from podsleuth.diagnose.diagnosis import as_diagnosis
from podsleuth.diagnose.links import link_words
from podsleuth.textwidth import clip, display_width, pad, shorten_middle

_SEVERITY_COLOR = {"critical": "red", "error": "magenta", "warning": "yellow"}
MIN_WIDTH = 60
PAD = " " * 10
WORDS = {
    "en": {
        "pods": "{n} pods", "container": "container={v}", "node": "node={v}",
        "cause": "cause → {cause}", "fix": "fix: {step}", "signature": "signature: {sig}",
        "resolved": "resolved", "after": "after {took}", "open": "{n} open incident(s):",
        "none_open": "no open incidents",
    },
    "zh": {
        "pods": "{n} 个 Pod", "container": "容器 {v}", "node": "节点 {v}",
        "cause": "根因 → {cause}", "fix": "处理：{step}", "signature": "特征：{sig}",
        "resolved": "已恢复", "after": "持续 {took}", "open": "{n} 个未恢复的事件：",
        "none_open": "没有未恢复的事件",
    },
}  # fmt: skip
"""The live view's own words per language (``{name}``: the value put in)."""
TABLE_FIXED = 2 + 9 + 18 + 2 + 5 + 1
"""Columns of an open-table row besides where, pods and the cause: indent, severity, category,
gaps, the count."""
MAX_KNOWN = 50_000
"""Incidents remembered for one-line updates; the oldest are forgotten past this (they would get
a full block again, never lose a change)."""


def use_color(stream: IO[str]) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


def terminal_width() -> int:
    """``$COLUMNS`` or the terminal's width; 120 when neither is known (a pipe, a log file)."""
    return max(MIN_WIDTH, shutil.get_terminal_size((120, 24)).columns)


class _Shown(NamedTuple):
    """What a person last saw of an incident: a change of any of these is worth a line."""

    occurrences: int
    pods: int
    cause: str
    confidence: int
    severity: str
    link: str = ""
    """The cause/victims one-liner (docs/diagnosis.md): a new link is worth a line."""


def _where(inc: Incident) -> str:
    return f"{inc.namespace}/{inc.pod}" if inc.pod else f"node/{inc.node}"


def _texts(inc: Incident, lang: str) -> tuple[str, list[str]]:
    """The diagnosis's summary and remediation in ``lang`` (English where not translated)."""
    diagnosis = as_diagnosis(inc.diagnosis)
    if diagnosis is None:
        return "", []
    texts = diagnosis.translations.get(lang)
    if texts is None:
        return diagnosis.summary, list(diagnosis.remediation)
    return texts.summary or diagnosis.summary, list(texts.remediation) or list(diagnosis.remediation)


def _cause(inc: Incident) -> tuple[str, int]:
    diagnosis = as_diagnosis(inc.diagnosis)
    if diagnosis is None:
        return "", -1
    return diagnosis.root_cause, round(diagnosis.confidence * 100)


def _shown(inc: Incident) -> _Shown:
    cause, confidence = _cause(inc)
    return _Shown(inc.count, max(1, len(inc.pods)), cause, confidence, inc.severity, _link(inc, "en"))


def _link(inc: Incident, lang: str) -> str:
    return "  ".join(w for w in link_words(as_diagnosis(inc.diagnosis), lang) if w)


class LiveView:
    """Turns incident changes into terminal text; one per ``watch``, it remembers what it showed."""

    def __init__(self, *, width: int | None = None, color: bool = False, lang: str = "en") -> None:
        self.width = width or terminal_width()
        self.color = color
        self.words = WORDS[lang]
        self.lang = lang
        self._shown: OrderedDict[str, _Shown] = OrderedDict()

    @property
    def _extra(self) -> int:
        """Room for colour escape codes, which take no columns on the screen."""
        return 40 if self.color else 0

    def _style(self, text: str, fg: str | None = None, *, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if self.color else text

    def render(self, change: IncidentChange) -> str | None:
        """The text for this change, or None when nothing a person would notice changed."""
        inc = change.incident
        if change.kind == "incident.resolved":
            self._shown.pop(inc.id, None)
            return self._resolved(inc)
        last = self._shown.get(inc.id)
        now = _shown(inc)
        self._shown[inc.id] = now
        self._shown.move_to_end(inc.id)
        if len(self._shown) > MAX_KNOWN:
            self._shown.popitem(last=False)
        if last is None:
            return self._block(inc)
        if now == last:
            return None
        return self._line(inc)

    def _say(self, word: str, **values: object) -> str:
        return self.words[word].format(**values)

    def _cause_label(self, cause: str, confidence: int) -> str:
        return self._say("cause", cause=cause) + (f" ({confidence}%)" if confidence >= 0 else "")

    def _head(self, inc: Incident, mark: str) -> str:
        sev = self._style(f"{inc.severity.upper():<8}", _SEVERITY_COLOR.get(inc.severity), bold=True)
        return f"{inc.last_seen.strftime('%H:%M:%S')}  {mark} {sev} {inc.category:<17} "

    def _block(self, inc: Incident) -> str:
        details = []
        if inc.pod and inc.owner.kind and inc.owner.kind != "Pod":
            details.append(f"{inc.owner.kind}/{inc.owner.name}")
        if inc.container:
            details.append(self._say("container", v=inc.container))
        if inc.pod and inc.node:
            details.append(self._say("node", v=inc.node))
        if len(inc.pods) > 1:
            details.append(self._say("pods", n=len(inc.pods)))
        if inc.count > 1:
            details.append(f"x{inc.count}")
        head = self._head(inc, "●") + self._style(_where(inc), bold=True)
        lines = [clip(head + ("  " + "  ".join(details) if details else ""), self.width + self._extra)]
        room = self.width - len(PAD)
        lines.append(PAD + shorten_middle(f"{inc.reason}: {inc.message}", room))
        cause, confidence = _cause(inc)
        summary, remediation = _texts(inc, self.lang)
        if cause:
            lines.append(PAD + self._style(clip(self._cause_label(cause, confidence), room), bold=True))
            if summary:
                lines.append(PAD + shorten_middle(summary, room))
        elif inc.signature:
            lines.append(PAD + clip(self._say("signature", sig=inc.signature), room))
        if link := _link(inc, self.lang):
            lines.append(PAD + clip(link, room))
        for step in remediation[:2]:
            lines.append(PAD + shorten_middle(self._say("fix", step=step), room))
        if inc.logs:
            lines.extend(PAD + clip(f"| {line}", room) for line in inc.logs[-3:])
        return "\n".join(lines)

    def _line(self, inc: Incident) -> str:
        """``12:00:01  ~ shop/cart-5f7b  3 pods  x3  cause → container-memory-limit (70%)``"""
        parts = [self._style(_where(inc), bold=True)]
        if len(inc.pods) > 1:
            parts.append(self._say("pods", n=len(inc.pods)))
        if inc.count > 1:
            parts.append(f"x{inc.count}")
        cause, confidence = _cause(inc)
        if cause:
            parts.append(self._cause_label(cause, confidence))
        if link := _link(inc, self.lang):
            parts.append(link)
        text = f"{inc.last_seen.strftime('%H:%M:%S')}  ~ " + "  ".join(parts)
        return clip(text, self.width + self._extra)

    def _resolved(self, inc: Incident) -> str:
        lasted = ""
        if inc.resolved_at is not None:
            seconds = int((inc.resolved_at - inc.first_seen).total_seconds())
            took = f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
            lasted = "  " + self._say("after", took=took)
        mark = self._style("✓", "green", bold=True)
        when = inc.last_seen.strftime("%H:%M:%S")
        text = f"{when}  {mark} {self._say('resolved')} {inc.category:<17} {_where(inc)}{lasted}"
        return clip(text, self.width + self._extra)

    def open_table(self, incidents: Sequence[Incident]) -> str:
        """The incidents still open, most severe first: what a run leaves behind."""
        if not incidents:
            return self._say("none_open")
        rank = {"critical": 0, "error": 1, "warning": 2}
        rows = sorted(incidents, key=lambda i: (rank.get(i.severity, 3), i.category, _where(i)))
        lines = [self._say("open", n=len(rows))]
        pods_width = max(display_width(self._say("pods", n=len(i.pods))) for i in rows if len(i.pods) > 1) \
            if any(len(i.pods) > 1 for i in rows) else 0
        labels = [self._table_label(inc) for inc in rows]
        # the cause is what the table is for: the where column gives way first (down to 20 columns)
        room = self.width - (TABLE_FIXED + pods_width) - max(display_width(label) for label in labels)
        where_width = max(20, min(36, room, max(display_width(_where(i)) for i in rows)))
        for inc, label in zip(rows, labels, strict=True):
            pods = self._say("pods", n=len(inc.pods)) if len(inc.pods) > 1 else ""
            where = pad(shorten_middle(_where(inc), where_width), where_width)
            row = f"  {inc.severity:<8} {inc.category:<17} {where}  x{inc.count:<3} {pad(pods, pods_width)} "
            row += label
            lines.append(clip(row.rstrip(), self.width))
        return "\n".join(lines)

    def _table_label(self, inc: Incident) -> str:
        seen = self._shown.get(inc.id)  # the detector's copy has no diagnosis: what was shown has
        cause, confidence = (seen.cause, seen.confidence) if seen else _cause(inc)
        return (cause + (f" ({confidence}%)" if confidence >= 0 else "")) if cause else inc.reason
