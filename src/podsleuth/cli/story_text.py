"""The readable text of one incident's story, for ``incidents show``.

Cluster text (messages, logs, evidence data) is printed as data: control characters other than
newline and tab are replaced so a hostile termination message cannot move the cursor or recolour
the terminal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from podsleuth.diagnose.diagnosis import as_diagnosis
from podsleuth.diagnose.links import link_words
from podsleuth.locale import localize
from podsleuth.store.queries import IncidentStory

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


WORDS: dict[str, dict[str, str]] = {
    "en": {
        "reason": "reason", "count": "count", "first": "first", "last": "last", "cluster": "cluster",
        "message": "message", "root_cause": "ROOT CAUSE", "evidence": "EVIDENCE", "remediation": "WHAT TO DO",
        "affected": "AFFECTED", "events": "EVENTS", "logs": "PREVIOUS CONTAINER LOG (last lines)",
        "timeline": "TIMELINE", "notifications": "NOTIFICATIONS",
        "none_sent": "none recorded (no receiver configured, or not routed)",
        "silences": "SILENCES THAT MATCH", "until": "until", "linked": "LINKED INCIDENTS (same cause)",
        "silence_it": "silence it", "dropped": "earlier changes not kept", ":": ": ",
        "workload": "workload", "pods": "pods", "nodes": "nodes",
    },
    "zh": {
        "reason": "原因", "count": "次数", "first": "首次", "last": "最近", "cluster": "集群",
        "message": "消息", "root_cause": "根因", "evidence": "证据", "remediation": "处理建议",
        "affected": "受影响对象", "events": "事件", "logs": "上一个容器的日志（最后几行）",
        "timeline": "时间线", "notifications": "通知记录",
        "none_sent": "没有记录（未配置接收方，或未被路由）",
        "silences": "匹配的静默规则", "until": "截止", "linked": "关联事件（同一根因）",
        "silence_it": "静默此事件", "dropped": "条更早的变更未保留", ":": "：",
        "workload": "工作负载", "pods": "Pod", "nodes": "节点",
    },
}
"""The report's own words; the diagnosis brings its own translation (``podsleuth.locale``)."""


def clean(value: object) -> str:
    return _CONTROL.sub("�", str(value))


def _at(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def story_lines(told: IncidentStory, lang: str = "en") -> list[str]:
    """The story as text in ``lang`` (the diagnosis's own translation; our headings from WORDS)."""
    w = WORDS[lang]
    data = told.record.data
    diagnosis: dict[str, Any] = localize(data.get("diagnosis"), lang) or {}
    where = (
        "/".join(str(x) for x in (data.get("namespace"), data.get("pod")) if x) or f"node {data.get('node')}"
    )
    lines = [
        f"{data.get('severity', '').upper()}  {data.get('category')}  {clean(where)}"
        f"   [{told.record.status}]",
        f"  id {data.get('id')}  ·  {w['reason']} {clean(data.get('reason'))}"
        f"  ·  {w['count']} {data.get('count')}"
        f"  ·  {w['first']} {data.get('first_seen')}  ·  {w['last']} {data.get('last_seen')}",
    ]
    if data.get("cluster"):
        lines.append(f"  {w['cluster']} {clean(data['cluster'])}")
    lines.append(f"  {w['message']}{w[':']}{clean(data.get('message') or '')}")
    if diagnosis:
        confidence = float(diagnosis.get("confidence") or 0.0)
        lines += ["", f"{w['root_cause']}  {diagnosis.get('root_cause')}  ({confidence:.0%})"]
        for key in ("summary", "explanation"):
            if diagnosis.get(key):
                lines.append(f"  {clean(diagnosis[key])}")
        lines += [f"  {clean(w)}" for w in link_words(as_diagnosis(data.get("diagnosis")), lang) if w]
        evidence = diagnosis.get("evidence") or []
        if evidence:
            lines += ["", w["evidence"]]
            for number, item in enumerate(evidence, 1):
                lines.append(f"  {number}. [{clean(item.get('source'))}] {clean(item.get('fact'))}")
        remediation = diagnosis.get("remediation") or []
        if remediation:
            lines += ["", w["remediation"]]
            lines += [f"  {n}. {clean(step)}" for n, step in enumerate(remediation, 1)]
    affected = _affected(data, w)
    if affected:
        lines += ["", w["affected"], *[f"  {a}" for a in affected]]
    events = data.get("events") or []
    if events:
        lines += ["", w["events"]]
        for e in events[-20:]:
            lines.append(f"  {clean(_event_line(e))}")
    logs = data.get("logs")
    if logs:
        lines += ["", w["logs"]]
        lines += [f"  | {clean(line)}" for line in _log_lines(logs)[-20:]]
    lines += ["", w["timeline"]]
    timeline = [f"  {_at(at)}  {event}" for at, event, _ in told.timeline]
    if told.timeline_dropped:  # the bounded timeline keeps the first change and the newest
        timeline.insert(1, f"  …  {told.timeline_dropped:,} {w['dropped']}")
    lines += timeline
    lines += ["", w["notifications"]]
    if told.notifications:
        for n in told.notifications:
            detail = f"  ({clean(n.detail)})" if n.detail else ""
            lines.append(f"  {_at(n.at)}  {n.receiver} -> {clean(n.target)}: {n.result}{detail}")
    else:
        lines.append(f"  {w['none_sent']}")
    if told.silences:
        lines += ["", w["silences"]]
        for s in told.silences:
            matchers = ", ".join(f"{k}={v}" for k, v in s["matchers"].items())
            until = f"{w['until']} {_at(s['ends_at'])}"
            lines.append(f"  {s['id']}  {clean(matchers)}  {until}  {clean(s['comment'])}")
    if told.linked:
        lines += ["", w["linked"]]
        for r in told.linked:
            lines.append(
                f"  {r.id}  {r.data.get('category')}  "
                f"{clean(r.data.get('namespace'))}/{clean(r.data.get('pod'))}"
            )
    command = f"podsleuth silence add --match id={data.get('id')} --for 4h --comment '...'"
    lines += ["", f"{w['silence_it']}{w[':']}{command}"]
    return lines


def _affected(data: dict[str, Any], w: dict[str, str]) -> list[str]:
    out = []
    owner = data.get("owner") or {}
    if owner.get("name"):
        out.append(f"{w['workload']} {clean(owner.get('kind'))}/{clean(owner.get('name'))}")
    pods = [p if isinstance(p, str) else (p or {}).get("name") for p in data.get("pods") or []]
    if data.get("pod") and data["pod"] not in pods:
        pods.insert(0, data["pod"])
    if pods:
        out.append(f"{w['pods']} " + ", ".join(clean(p) for p in pods if p))
    nodes = data.get("nodes") or ([data["node"]] if data.get("node") else [])
    if nodes:
        out.append(f"{w['nodes']} " + ", ".join(clean(n) for n in nodes))
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
