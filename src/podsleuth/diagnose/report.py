"""A diagnosis as text: the evidence chain an engineer would write up, in the order it was found.

Used by ``diagnose pod`` and ``lab seed-incident``; the watch's live view stays one line per
change and shows only the summary.
"""

from __future__ import annotations

import textwrap
from typing import Any

WIDTH = 100


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent]


def render_diagnosis(diagnosis: dict[str, Any], *, title: str) -> str:
    lines = [title, ""]
    lines += _wrap(
        f"root cause: {diagnosis.get('root_cause')} (confidence {diagnosis.get('confidence')})", ""
    )
    lines += _wrap(str(diagnosis.get("summary") or ""), "  ")
    if diagnosis.get("explanation"):
        lines += _wrap(str(diagnosis["explanation"]), "  ")
    lines += ["", "evidence:"]
    for n, ev in enumerate(diagnosis.get("evidence") or [], start=1):
        mark = " (unavailable)" if (ev.get("data") or {}).get("unavailable") else ""
        lines += _wrap(f"{n:2}. [{ev.get('source')}] {ev.get('fact')}{mark}", "  ")
    unchecked = diagnosis.get("unchecked")
    if unchecked:
        lines += _wrap(f"not checked (confidence lowered): {', '.join(unchecked)}", "  ")
    group = diagnosis.get("group")
    if isinstance(group, dict):
        lines += ["", f"affected on node {group.get('node')} ({group.get('key')}):"]
        lines += _wrap(f"pods: {', '.join(group.get('pods') or []) or '-'}", "  ")
        lines += _wrap(f"volumes: {', '.join(group.get('volumes') or []) or '-'}", "  ")
        lines += _wrap(f"workloads: {', '.join(group.get('workloads') or []) or '-'}", "  ")
    lines += ["", "remediation:"]
    for n, step in enumerate(diagnosis.get("remediation") or [], start=1):
        lines += _wrap(f"{n}. {step}", "  ")
    checks = diagnosis.get("next_checks") or []
    if checks:
        lines += ["", "next checks (would confirm or refute it):"]
        for n, check in enumerate(checks, start=1):
            lines += _wrap(f"{n}. {check}", "  ")
    return "\n".join(lines) + "\n"
