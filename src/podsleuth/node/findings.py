"""The node agent's one output record, shared by ``node check``, the HTTP API and the diagnoser.

Shape fixed by CONTRACT.md: ``{"kind", "severity", "path", "pod_uid", "volume", "process",
"detail", "data"}``, plus ``translations`` (``{"zh": detail}``: the detail in the other
languages, written where the finding is made, so ``node check --lang zh`` reads Chinese without
the node agent importing the diagnosis's phrase catalogue). Severities are ordered so
``--fail-on`` is a comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error", "critical")

# kind -> default severity; the documented vocabulary (docs/node-agent.md)
KINDS: dict[str, str] = {
    "mount-source-deleted": "error",
    "mount-disconnected": "error",
    "mount-stale-handle": "error",
    "mount-io-error": "error",
    "mount-access-denied": "warning",
    "mount-missing": "warning",
    "mount-error": "error",
    "mount-hung": "critical",
    "mount-stacked": "warning",
    "mount-bind-failed": "error",
    "fuse-daemon-missing": "error",
    "fuse-daemon-restarted": "error",
    "oom-kill": "error",
    "hung-task": "warning",
    "nfs-not-responding": "error",
    "io-error": "warning",
    "soft-lockup": "warning",
    "fs-error": "error",
    "kubelet-dir-missing": "info",
    "kernel-log-unavailable": "info",
}


def severity_rank(sev: str) -> int:
    return SEVERITIES.index(sev) if sev in SEVERITIES else 0


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    severity: str
    detail: str
    path: str | None = None
    pod_uid: str | None = None
    volume: str | None = None
    process: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    translations: dict[str, str] = field(default_factory=dict)
    """``detail`` in the other languages (``zh``)."""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "path": self.path, "pod_uid": self.pod_uid,
                "volume": self.volume, "process": self.process, "detail": self.detail, "data": self.data,
                "translations": self.translations}

    def text(self, lang: str) -> str:
        """The detail in ``lang``; English when there is no such translation."""
        return self.translations.get(lang) or self.detail

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        """For the diagnoser's agent client: the inverse of :meth:`to_dict`."""
        return cls(kind=str(d["kind"]), severity=str(d["severity"]), detail=str(d.get("detail", "")),
                   path=d.get("path"), pod_uid=d.get("pod_uid"), volume=d.get("volume"),
                   process=d.get("process"), data=dict(d.get("data") or {}),
                   translations={str(k): str(v) for k, v in (d.get("translations") or {}).items()})


def make(kind: str, detail: str, *, zh: str, severity: str | None = None, **kw: Any) -> Finding:
    """A finding; ``zh`` is its detail in Chinese (every finding has one: docs/i18n.md)."""
    return Finding(kind=kind, severity=severity or KINDS.get(kind, "warning"), detail=detail,
                   translations={"zh": zh}, **kw)


def at_or_above(findings: Iterable[Finding], severity: str) -> list[Finding]:
    rank = severity_rank(severity)
    return [f for f in findings if severity_rank(f.severity) >= rank]


def for_pod(findings: Iterable[Finding], pod_uid: str) -> list[Finding]:
    return [f for f in findings if f.pod_uid == pod_uid]


WORDS = {
    "en": {"head": "node check: ", "none": "no findings", "pod": "pod {v}", "volume": "volume {v}",
           "process": "process {pid}: {cmd}"},
    "zh": {"head": "节点检查：", "none": "没有发现问题", "pod": "Pod {v}", "volume": "卷 {v}",
           "process": "进程 {pid}：{cmd}"},
}
"""The text report's own words per language; kinds, severities, paths and commands stay as they are."""


def render_text(findings: list[Finding], *, summary: dict[str, Any] | None = None, lang: str = "en") -> str:
    """A readable report, worst first, grouped per pod so an SRE sees which pods to restart."""
    words = WORDS.get(lang, WORDS["en"])
    lines: list[str] = []
    if summary:
        lines.append(words["head"] + ", ".join(f"{k}={v}" for k, v in summary.items()))
    if not findings:
        lines.append(words["none"])
        return "\n".join(lines) + "\n"
    ordered = sorted(findings, key=lambda f: (-severity_rank(f.severity), f.pod_uid or "", f.path or ""))
    for f in ordered:
        where = repr(f.path) if f.path and not f.path.isprintable() else (f.path or "")
        head = f"{f.severity.upper():8} {f.kind:22} "
        who = []
        if f.pod_uid:
            who.append(words["pod"].format(v=f.pod_uid))
        if f.volume:
            who.append(words["volume"].format(v=f.volume))
        lines.append(head + " ".join(who) + (f" {where}" if where else ""))
        lines.append(f"{'':9}{f.text(lang)}")
        if f.process:
            cmd = " ".join(f.process.get("cmdline") or []) or f.process.get("comm", "")
            lines.append(f"{'':9}" + words["process"].format(pid=f.process.get("pid"), cmd=cmd))
    return "\n".join(lines) + "\n"
