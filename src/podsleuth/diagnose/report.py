"""A diagnosis as text: the evidence chain an engineer would write up, in the order it was found.

Used by ``diagnose pod`` and ``lab seed-incident``; the watch's live view stays one line per
change and shows only the summary. In the reader's language (``podsleuth.locale``): the
diagnosis's own translations, headings from ``WORDS``; ids, sources and commands stay as they
are. Lines fold at terminal columns, Chinese text between characters.
"""

from __future__ import annotations

from typing import Any

from podsleuth.locale import localize
from podsleuth.textwidth import wrap

WIDTH = 100
WORDS = {
    "en": {
        "root_cause": "root cause: {cause} (confidence {confidence})", "evidence": "evidence:",
        "unavailable": " (unavailable)", "unchecked": "not checked (confidence lowered): {links}",
        "affected": "affected on node {node} ({key}):", "pods": "pods: {v}", "volumes": "volumes: {v}",
        "workloads": "workloads: {v}", "remediation": "remediation:",
        "next_checks": "next checks (would confirm or refute it):", "sep": ", ",
    },
    "zh": {
        "root_cause": "根因：{cause}（置信度 {confidence}）", "evidence": "证据：",
        "unavailable": "（不可用）", "unchecked": "未检查（已降低置信度）：{links}",
        "affected": "节点 {node} 上受影响的对象（{key}）：", "pods": "Pod：{v}", "volumes": "卷：{v}",
        "workloads": "工作负载：{v}", "remediation": "处理建议：",
        "next_checks": "下一步检查（可证实或推翻该结论）：", "sep": "、",
    },
}  # fmt: skip
"""The report's headings per language."""


def _wrap(text: str, indent: str) -> list[str]:
    return wrap(text, WIDTH, indent=indent, subsequent=indent + "  ")


def render_diagnosis(diagnosis: dict[str, Any], *, title: str, lang: str = "en") -> str:
    words = WORDS[lang]
    diagnosis = localize(diagnosis, lang) or {}
    sep = words["sep"]
    lines = [title, ""]
    cause, confidence = diagnosis.get("root_cause"), diagnosis.get("confidence")
    lines += _wrap(words["root_cause"].format(cause=cause, confidence=confidence), "")
    lines += _wrap(str(diagnosis.get("summary") or ""), "  ")
    if diagnosis.get("explanation"):
        lines += _wrap(str(diagnosis["explanation"]), "  ")
    lines += ["", words["evidence"]]
    for n, ev in enumerate(diagnosis.get("evidence") or [], start=1):
        mark = words["unavailable"] if (ev.get("data") or {}).get("unavailable") else ""
        lines += _wrap(f"{n:2}. [{ev.get('source')}] {ev.get('fact')}{mark}", "  ")
    unchecked = diagnosis.get("unchecked")
    if unchecked:
        lines += _wrap(words["unchecked"].format(links=sep.join(unchecked)), "  ")
    group = diagnosis.get("group")
    if isinstance(group, dict):
        lines += ["", words["affected"].format(node=group.get("node"), key=group.get("key"))]
        for field in ("pods", "volumes", "workloads"):
            lines += _wrap(words[field].format(v=sep.join(group.get(field) or []) or "-"), "  ")
    lines += ["", words["remediation"]]
    for n, step in enumerate(diagnosis.get("remediation") or [], start=1):
        lines += _wrap(f"{n}. {step}", "  ")
    checks = diagnosis.get("next_checks") or []
    if checks:
        lines += ["", words["next_checks"]]
        for n, check in enumerate(checks, start=1):
            lines += _wrap(f"{n}. {check}", "  ")
    return "\n".join(lines) + "\n"
