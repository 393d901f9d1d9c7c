"""Turn a batch into a human message (title + body) with the Jinja2 templates in data/templates.

The renderer does the storm arithmetic (which incidents are shown in full, how many more pods
and namespaces share each root cause) so templates stay plain text with loops, and a
translation (``locale: zh``) is only a new template file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2

from podsleuth import link_text
from podsleuth.alert.model import ChangePayload, Diagnosis
from podsleuth.locale import LOCALES

Format = Literal["markdown", "text"]

SEVERITY_MARKS = {"critical": "🔴", "error": "🟠", "warning": "🟡"}
"""Chat marks: one colour per severity, so a warning never looks like a page."""
RESOLVED_MARK = "✅"
SEVERITY_WORDS = {
    "en": {"critical": "CRITICAL", "error": "ERROR", "warning": "WARNING", "resolved": "RESOLVED"},
    "zh": {"critical": "严重", "error": "错误", "warning": "警告", "resolved": "已恢复"},
}
"""Plain-text badges (mail, SMS-like sinks) where no emoji can carry the severity."""
TEXT_BADGES = {"critical": "[!!!]", "error": "[!!]", "warning": "[!]", "resolved": "[ok]"}


def link_lines(d: Diagnosis | None, locale: str) -> tuple[str, str]:
    """The one-line "caused by" of a victim and "victims" of a cause (docs/diagnosis.md)."""
    return ("", "") if d is None else link_text.link_lines(d.caused_by, d.victims, locale)


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str


def _severity(change: ChangePayload, locale: str) -> dict[str, str]:
    """Mark, badge and word of one change; unknown severities (hostile input) read as error."""
    sev = change.incident.severity if change.incident.severity in SEVERITY_MARKS else "error"
    key = "resolved" if change.resolved else sev
    return {
        "mark": RESOLVED_MARK if change.resolved else SEVERITY_MARKS[sev],
        "badge": TEXT_BADGES[key],
        "level": SEVERITY_WORDS[locale][key],
    }


def _item(
    change: ChangePayload, *, evidence_lines: int, external_url: str = "", locale: str = "en"
) -> dict[str, Any]:
    i = change.incident
    d = i.diagnosis
    return {
        **_severity(change, locale),
        "link": f"{external_url.rstrip('/')}/incidents/{i.id}" if external_url else "",
        "silence": f"podsleuth silence add --match id={i.id} --for 4h --comment '...'",
        "event": change.event.removeprefix("incident."),
        "resolved": change.resolved,
        "id": i.id,
        "namespace": i.namespace or "",
        "workload": i.workload,
        "pods": i.all_pods,
        "node": i.node or "",
        "container": i.container or "",
        "category": i.category,
        "reason": i.reason,
        "severity": i.severity,
        "signature": i.signature or "",
        "message": " ".join(i.message.split())[:500],
        "count": i.count,
        "first_seen": i.first_seen,
        "last_seen": i.last_seen,
        "diagnosed": bool(d and d.root_cause),
        "root_cause": d.root_cause if d else "",
        "confidence": d.confidence if d else 0.0,
        **dict(zip(("caused_by", "victims"), link_lines(d, locale), strict=True)),
        **_texts(d, locale, evidence_lines),
    }


def _texts(d: Diagnosis | None, locale: str, evidence_lines: int) -> dict[str, Any]:
    """The diagnosis's words in ``locale``: its translation where it has one, item by item
    (a diagnosis stored before translations existed reads in English)."""
    if d is None:
        return {"summary": "", "explanation": "", "remediation": [], "evidence": []}
    tr = d.translations.get(locale) if locale != "en" else None
    facts = [e.fact for e in d.evidence]
    if tr is not None:
        said = tr.evidence
        facts = [said[n] if n < len(said) and said[n] else fact for n, fact in enumerate(facts)]
    lines = [f"{e.source}: {fact}" for e, fact in zip(d.evidence, facts, strict=True)]
    return {
        "summary": (tr.summary if tr is not None and tr.summary else d.summary),
        "explanation": (tr.explanation if tr is not None and tr.explanation else d.explanation),
        "remediation": list(tr.remediation if tr is not None and tr.remediation else d.remediation),
        "evidence": lines[:evidence_lines],
    }


def build_context(
    changes: Sequence[ChangePayload],
    *,
    max_detail: int,
    evidence_lines: int,
    external_url: str = "",
    locale: str = "en",
    victims_with_cause: bool = True,
) -> dict[str, Any]:
    """Group by root cause; show at most ``max_detail`` incidents in full, summarise the rest.
    With ``victims_with_cause`` a victim whose cause is in the batch joins the cause's group,
    right after it (one root cause, one group, whatever each diagnosis calls its own)."""
    groups: dict[str, list[ChangePayload]] = {}
    by_id = {c.incident.id: c for c in changes}
    for change in changes:
        groups.setdefault(_group_key(change, by_id, victims_with_cause), []).append(change)
    for key, members in groups.items():
        if key.startswith("cause:"):  # the cause first, its victims after it
            cause_id = key.removeprefix("cause:")
            members.sort(key=lambda c: c.incident.id != cause_id)
    budget = max(1, max_detail)
    out = []
    for members in sorted(groups.values(), key=len, reverse=True):
        shown = members[: max(1, min(len(members), budget))]
        budget -= len(shown)
        rest = members[len(shown) :]
        pods = {(c.incident.namespace, p) for c in rest for p in c.incident.all_pods} or {
            (c.incident.namespace, c.incident.id) for c in rest
        }
        first = members[0].incident
        out.append(
            {
                "root_cause": first.diagnosis.root_cause if first.diagnosis else "",
                "category": first.category,
                "reason": first.reason,
                "items": [
                    _item(c, evidence_lines=evidence_lines, external_url=external_url, locale=locale)
                    for c in shown
                ],
                "more_incidents": len(rest),
                "more_ids": [c.incident.id for c in rest[:10]],
                "more_pods": len(pods) if rest else 0,
                "more_namespaces": len({c.incident.namespace for c in rest}),
            }
        )
    opened = sum(1 for c in changes if not c.resolved)
    firing = {c.incident.severity if c.incident.severity in SEVERITY_MARKS else "error"
              for c in changes if not c.resolved}  # fmt: skip
    return {
        "worst": next((sev for sev in SEVERITY_MARKS if sev in firing), "resolved"),
        "total": len(changes),
        "firing": opened,
        "resolved": len(changes) - opened,
        "groups": out,
        "namespaces": sorted({c.incident.namespace for c in changes if c.incident.namespace}),
        "categories": sorted({c.incident.category for c in changes}),
    }


def _group_key(change: ChangePayload, by_id: dict[str, ChangePayload], victims_with_cause: bool) -> str:
    d = change.incident.diagnosis
    if victims_with_cause and d is not None:
        cause = d.caused_by.incident if d.caused_by else ""
        if cause and cause in by_id and cause != change.incident.id:
            return f"cause:{cause}"
        if d.victims and d.victims.incidents:
            return f"cause:{change.incident.id}"
    return change.incident.cause_key


class Renderer:
    def __init__(
        self,
        *,
        locale: str = "en",
        template_dir: str | Path | None = None,
        max_detail: int = 5,
        evidence_lines: int = 3,
        external_url: str = "",
        victims_with_cause: bool = True,
    ) -> None:
        if locale not in LOCALES:
            raise ValueError(f"unknown locale {locale!r}; expected one of {', '.join(LOCALES)}")
        loaders: list[jinja2.BaseLoader] = []
        if template_dir:
            loaders.append(jinja2.FileSystemLoader(str(template_dir)))
        loaders.append(jinja2.PackageLoader("podsleuth", "data/templates"))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=False,  # chat markdown and plain text, never HTML
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.locale = locale
        self.max_detail = max_detail
        self.evidence_lines = evidence_lines
        self.external_url = external_url
        self.victims_with_cause = victims_with_cause

    def render(self, changes: Sequence[ChangePayload], *, fmt: Format, receiver: str = "") -> Message:
        ctx = build_context(
            changes,
            max_detail=self.max_detail,
            evidence_lines=self.evidence_lines,
            external_url=self.external_url,
            locale=self.locale,
            victims_with_cause=self.victims_with_cause,
        )
        ctx["receiver"] = receiver
        # the title is what a phone shows: the worst severity first, as an emoji in chat and
        # as a word in mail (a plain ASCII-safe subject)
        worst = ctx["worst"]
        if fmt == "markdown":
            ctx["mark"] = SEVERITY_MARKS.get(worst, RESOLVED_MARK)
        else:  # all resolved: the title says so already
            ctx["mark"] = "" if worst == "resolved" else SEVERITY_WORDS[self.locale][worst]
        title = self.env.get_template(f"title.{self.locale}.j2").render(ctx).strip()
        body = self.env.get_template(f"{fmt}.{self.locale}.j2").render(ctx).strip() + "\n"
        return Message(title=" ".join(title.split()), body=body)
