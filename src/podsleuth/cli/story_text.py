"""The readable text of one incident's story, for ``incidents show``.

Cluster text (messages, logs, evidence data) is printed as data: control characters other than
newline and tab are replaced so a hostile termination message cannot move the cursor or recolour
the terminal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from podsleuth.store.queries import IncidentStory

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(value: object) -> str:
    return _CONTROL.sub("�", str(value))


def _at(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def story_lines(told: IncidentStory) -> list[str]:
    data = told.record.data
    diagnosis: dict[str, Any] = data.get("diagnosis") or {}
    where = (
        "/".join(str(x) for x in (data.get("namespace"), data.get("pod")) if x) or f"node {data.get('node')}"
    )
    lines = [
        f"{data.get('severity', '').upper()}  {data.get('category')}  {clean(where)}"
        f"   [{told.record.status}]",
        f"  id {data.get('id')}  ·  reason {clean(data.get('reason'))}  ·  count {data.get('count')}"
        f"  ·  first {data.get('first_seen')}  ·  last {data.get('last_seen')}",
    ]
    if data.get("cluster"):
        lines.append(f"  cluster {clean(data['cluster'])}")
    lines.append(f"  message: {clean(data.get('message') or '')}")
    if diagnosis:
        confidence = float(diagnosis.get("confidence") or 0.0)
        lines += ["", f"ROOT CAUSE  {diagnosis.get('root_cause')}  ({confidence:.0%})"]
        for key in ("summary", "explanation"):
            if diagnosis.get(key):
                lines.append(f"  {clean(diagnosis[key])}")
        evidence = diagnosis.get("evidence") or []
        if evidence:
            lines += ["", "EVIDENCE"]
            for number, item in enumerate(evidence, 1):
                lines.append(f"  {number}. [{clean(item.get('source'))}] {clean(item.get('fact'))}")
        remediation = diagnosis.get("remediation") or []
        if remediation:
            lines += ["", "WHAT TO DO"]
            lines += [f"  {n}. {clean(step)}" for n, step in enumerate(remediation, 1)]
    affected = _affected(data)
    if affected:
        lines += ["", "AFFECTED", *[f"  {a}" for a in affected]]
    events = data.get("events") or []
    if events:
        lines += ["", "EVENTS"]
        for e in events[-20:]:
            lines.append(f"  {clean(_event_line(e))}")
    logs = data.get("logs")
    if logs:
        lines += ["", "PREVIOUS CONTAINER LOG (last lines)"]
        lines += [f"  | {clean(line)}" for line in _log_lines(logs)[-20:]]
    lines += ["", "TIMELINE"]
    lines += [f"  {_at(at)}  {event}" for at, event, _ in told.timeline]
    lines += ["", "NOTIFICATIONS"]
    if told.notifications:
        for n in told.notifications:
            detail = f"  ({clean(n.detail)})" if n.detail else ""
            lines.append(f"  {_at(n.at)}  {n.receiver} -> {clean(n.target)}: {n.result}{detail}")
    else:
        lines.append("  none recorded (no receiver configured, or not routed)")
    if told.silences:
        lines += ["", "SILENCES THAT MATCH"]
        for s in told.silences:
            matchers = ", ".join(f"{k}={v}" for k, v in s["matchers"].items())
            lines.append(f"  {s['id']}  {clean(matchers)}  until {_at(s['ends_at'])}  {clean(s['comment'])}")
    if told.linked:
        lines += ["", "LINKED INCIDENTS (same cause)"]
        for r in told.linked:
            lines.append(
                f"  {r.id}  {r.data.get('category')}  "
                f"{clean(r.data.get('namespace'))}/{clean(r.data.get('pod'))}"
            )
    lines += ["", f"silence it: podsleuth silence add --match id={data.get('id')} --for 4h --comment '...'"]
    return lines


def _affected(data: dict[str, Any]) -> list[str]:
    out = []
    owner = data.get("owner") or {}
    if owner.get("name"):
        out.append(f"workload {clean(owner.get('kind'))}/{clean(owner.get('name'))}")
    pods = [p if isinstance(p, str) else (p or {}).get("name") for p in data.get("pods") or []]
    if data.get("pod") and data["pod"] not in pods:
        pods.insert(0, data["pod"])
    if pods:
        out.append("pods " + ", ".join(clean(p) for p in pods if p))
    nodes = data.get("nodes") or ([data["node"]] if data.get("node") else [])
    if nodes:
        out.append("nodes " + ", ".join(clean(n) for n in nodes))
    return out


def _event_line(event: Any) -> str:
    if isinstance(event, dict):
        count = f" x{event['count']}" if event.get("count") and event["count"] != 1 else ""
        head = f"{event.get('type') or ''} {event.get('reason') or ''}{count}"
        return f"{head}: {event.get('message') or ''}".strip()
    return str(event)


def _log_lines(logs: Any) -> list[str]:
    if isinstance(logs, dict):
        logs = logs.get("lines") or logs.get("text") or ""
    if isinstance(logs, list):
        return [str(x) for x in logs]
    return str(logs).splitlines()
