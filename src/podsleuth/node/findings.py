"""The node agent's one output record, shared by ``node check``, the HTTP API and the diagnoser.

Shape fixed by CONTRACT.md: ``{"kind", "severity", "path", "pod_uid", "volume", "process",
"detail", "data"}``.  Severities are ordered so ``--fail-on`` is a comparison.
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

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "path": self.path, "pod_uid": self.pod_uid,
                "volume": self.volume, "process": self.process, "detail": self.detail, "data": self.data}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        """For the diagnoser's agent client: the inverse of :meth:`to_dict`."""
        return cls(kind=str(d["kind"]), severity=str(d["severity"]), detail=str(d.get("detail", "")),
                   path=d.get("path"), pod_uid=d.get("pod_uid"), volume=d.get("volume"),
                   process=d.get("process"), data=dict(d.get("data") or {}))


def make(kind: str, detail: str, *, severity: str | None = None, **kw: Any) -> Finding:
    return Finding(kind=kind, severity=severity or KINDS.get(kind, "warning"), detail=detail, **kw)


def at_or_above(findings: Iterable[Finding], severity: str) -> list[Finding]:
    rank = severity_rank(severity)
    return [f for f in findings if severity_rank(f.severity) >= rank]


def for_pod(findings: Iterable[Finding], pod_uid: str) -> list[Finding]:
    return [f for f in findings if f.pod_uid == pod_uid]


def render_text(findings: list[Finding], *, summary: dict[str, Any] | None = None) -> str:
    """A readable report, worst first, grouped per pod so an SRE sees which pods to restart."""
    lines: list[str] = []
    if summary:
        lines.append("node check: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    if not findings:
        lines.append("no findings")
        return "\n".join(lines) + "\n"
    ordered = sorted(findings, key=lambda f: (-severity_rank(f.severity), f.pod_uid or "", f.path or ""))
    for f in ordered:
        where = repr(f.path) if f.path and not f.path.isprintable() else (f.path or "")
        head = f"{f.severity.upper():8} {f.kind:22} "
        who = []
        if f.pod_uid:
            who.append(f"pod {f.pod_uid}")
        if f.volume:
            who.append(f"volume {f.volume}")
        lines.append(head + " ".join(who) + (f" {where}" if where else ""))
        lines.append(f"{'':9}{f.detail}")
        if f.process:
            cmd = " ".join(f.process.get("cmdline") or []) or f.process.get("comm", "")
            lines.append(f"{'':9}process {f.process.get('pid')}: {cmd}")
    return "\n".join(lines) + "\n"
