"""Turning a stored incident into what a page shows: pure functions and Jinja2 filters.

The evidence chain is shown as a timeline in the order the diagnoser built it (signature →
API facts → node agent), each item tagged with its source; remediation steps keep their
commands separately so each gets a copy button. Nothing here produces markup: templates
escape everything.

Language: the diagnosis's texts (summary, explanation, remediation, next checks, evidence facts,
contradictions) come in the page's language from ``podsleuth.locale.localize`` (the producer
stored every language); the few sentences the console builds itself take their words from
``podsleuth.console.i18n.WORDS``. Cluster text (messages, events, logs) is never translated.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from podsleuth.locale import localize

SOURCE_KIND = (("signature", "signature"), ("api", "api"), ("node", "node-agent"), ("kernel", "node-agent"))
_COMMAND = re.compile(r"`([^`]{2,400})`")
_SHELL_START = re.compile(
    r"^(?:kubectl|podsleuth|findmnt|mount|umount|crictl|journalctl|dmesg|systemctl|ls|cat)\b"
)


_ATTEMPTS = re.compile(r"^(\d+) attempt\(s\)(?:; last error: (.*))?$", re.S)
"""The detail ``podsleuth.store.queries.notifications`` writes for an undelivered notification."""


def localized(data: dict[str, Any], lang: str) -> dict[str, Any]:
    """The stored incident with its diagnosis's texts in ``lang`` (a new dict; ids unchanged)."""
    diagnosis = data.get("diagnosis")
    if not isinstance(diagnosis, dict):
        return data
    return dict(data, diagnosis=localize(diagnosis, lang))


def notification_detail(detail: object, t: dict[str, str]) -> str:
    """``3 attempt(s); last error: ...`` in the page's words; the error text itself stays as is."""
    text = str(detail or "")
    m = _ATTEMPTS.match(text)
    if not m:
        return text
    out = t["attempts"].format(n=m.group(1))
    return out + (t["last_error"].format(error=m.group(2)) if m.group(2) else "")


def source_kind(source: object) -> str:
    """``signature``, ``api`` or ``node-agent``: the three colours of the evidence timeline."""
    text = str(source or "").lower()
    for prefix, kind in SOURCE_KIND:
        if text.startswith(prefix):
            return kind
    return "other"


def step_parts(step: object) -> list[tuple[str, str]]:
    """A remediation step as (kind, text) parts: ``text`` prose and ``cmd`` commands to copy.
    Commands are the backticked spans, or the whole step when it starts like a command."""
    text = str(step)
    if _SHELL_START.match(text.strip()):
        return [("cmd", text.strip())]
    parts: list[tuple[str, str]] = []
    last = 0
    for m in _COMMAND.finditer(text):
        if m.start() > last:
            parts.append(("text", text[last : m.start()]))
        parts.append(("cmd", m.group(1)))
        last = m.end()
    if last < len(text):
        parts.append(("text", text[last:]))
    return parts


def when(value: object) -> str:
    """Epoch seconds or RFC 3339 text as ``YYYY-MM-DD HH:MM:SSZ``."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return str(value or "").replace("T", " ")


def where(data: dict[str, Any]) -> str:
    if data.get("pod"):
        return f"{data.get('namespace')}/{data['pod']}"
    return f"node/{data.get('node')}" if data.get("node") else "-"


def pods_of(data: dict[str, Any]) -> list[str]:
    pods = [p if isinstance(p, str) else str((p or {}).get("name") or "") for p in data.get("pods") or []]
    if data.get("pod") and data["pod"] not in pods:
        pods.insert(0, str(data["pod"]))
    return [p for p in pods if p]


def log_lines(logs: Any) -> list[str]:
    if isinstance(logs, dict):
        logs = logs.get("lines") or logs.get("text") or ""
    if isinstance(logs, list):
        return [str(x) for x in logs]
    return str(logs or "").splitlines()


def percent(value: object) -> str:
    try:
        return f"{float(value):.0%}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"


def data_items(data: object) -> list[tuple[str, str]]:
    """An evidence item's data as (key, value) rows, long values clipped for the page."""
    if not isinstance(data, dict):
        return []
    out = []
    for key, value in data.items():
        text = value if isinstance(value, str) else repr(value)
        out.append((str(key), text if len(text) <= 600 else text[:600] + "…"))
    return out


def silence_command(data: dict[str, Any]) -> str:
    return f"podsleuth silence add --match id={data.get('id')} --for 4h --comment 'investigating'"


FILTERS = {
    "source_kind": source_kind,
    "step_parts": step_parts,
    "when": when,
    "where": where,
    "pods_of": pods_of,
    "log_lines": log_lines,
    "percent": percent,
    "data_items": data_items,
    "silence_command": silence_command,
    "notification_detail": notification_detail,
}
