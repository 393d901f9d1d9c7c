"""The readable live view of ``watch --output text``: one block per incident change."""

from __future__ import annotations

import click

from podsleuth.detect import IncidentChange

_KIND = {"incident.opened": "OPENED", "incident.updated": "UPDATED", "incident.resolved": "RESOLVED"}
_KIND_COLOR = {"incident.opened": "red", "incident.updated": "yellow", "incident.resolved": "green"}
_SEVERITY_COLOR = {"critical": "red", "error": "magenta", "warning": "yellow"}
MESSAGE_WIDTH = 300


def render_change(change: IncidentChange, *, color: bool = False) -> str:
    inc = change.incident

    def style(text: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if color else text

    where = f"{inc.namespace}/{inc.pod}" if inc.pod else f"node/{inc.node}"
    head = [
        inc.last_seen.strftime("%H:%M:%S"),
        style(f"{_KIND[change.kind]:<8}", _KIND_COLOR[change.kind], bold=True),
        style(f"{inc.severity:<8}", _SEVERITY_COLOR.get(inc.severity)),
        f"{inc.category:<17}",
        style(where, bold=True),
    ]
    details = []
    if inc.pod and inc.owner.kind and inc.owner.kind != "Pod":
        details.append(f"{inc.owner.kind}/{inc.owner.name}")
    if inc.container:
        details.append(f"container={inc.container}")
    if inc.pod and inc.node:
        details.append(f"node={inc.node}")
    if inc.count > 1:
        details.append(f"x{inc.count}")
    if len(inc.pods) > 1:
        details.append(f"{len(inc.pods)} pods")
    lines = [" ".join(head) + ("  " + "  ".join(details) if details else "")]
    pad = " " * 9
    message = inc.message if len(inc.message) <= MESSAGE_WIDTH else inc.message[: MESSAGE_WIDTH - 1] + "…"
    lines.append(f"{pad}{inc.reason}: {message}")
    if change.kind != "incident.resolved":
        if inc.signature:
            lines.append(f"{pad}signature: {inc.signature}")
        diagnosis = inc.diagnosis or {}
        if diagnosis.get("summary") or diagnosis.get("root_cause"):
            lines.append(
                f"{pad}{style('cause:', bold=True)} {diagnosis.get('summary') or diagnosis['root_cause']}"
            )
        for step in list(diagnosis.get("remediation") or [])[:2]:
            lines.append(f"{pad}{style('fix:', bold=True)} {step}")
        if inc.logs:
            lines.append(f"{pad}last log lines of the previous container:")
            lines.extend(f"{pad}  | {line}" for line in inc.logs[-5:])
    return "\n".join(lines)
