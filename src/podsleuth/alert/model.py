"""A typed view of the CONTRACT.md incident change, decoded at the edge of alerting.

Alerting consumes the contract dicts, not the detector's classes, so the two stages evolve
independently; the raw dict is kept too, because webhooks must forward it unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import msgspec

from podsleuth.errors import InputError

EventKind = Literal["incident.opened", "incident.updated", "incident.resolved"]
RESOLVED: EventKind = "incident.resolved"


class Owner(msgspec.Struct, frozen=True):
    kind: str = ""
    name: str = ""


class EvidencePayload(msgspec.Struct, frozen=True):
    source: str = ""
    fact: str = ""
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Said(msgspec.Struct, frozen=True):
    """A contradiction the diagnosis found (``{"id", "said"}``)."""

    id: str = ""
    said: str = ""


class Group(msgspec.Struct, frozen=True):
    """The pods one cause broke on one node."""

    key: str = ""
    node: str = ""
    cause: str = ""
    pods: list[str] = msgspec.field(default_factory=list)
    volumes: list[str] = msgspec.field(default_factory=list)
    workloads: list[str] = msgspec.field(default_factory=list)
    incidents: list[str] = msgspec.field(default_factory=list)


class CausedBy(msgspec.Struct, frozen=True):
    """A victim's pointer to the pod whose failure made it (docs/diagnosis.md)."""

    subject: str = ""
    node: str = ""
    cause: str = ""
    container: str = ""
    incident: str = ""
    resolved: bool = False


class Victims(msgspec.Struct, frozen=True):
    """A cause's open victim incidents and their pods."""

    incidents: list[str] = msgspec.field(default_factory=list)
    pods: list[str] = msgspec.field(default_factory=list)


class Texts(msgspec.Struct, frozen=True):
    """The diagnosis's texts in another language (lists pair with the English ones)."""

    summary: str = ""
    explanation: str = ""
    remediation: list[str] = msgspec.field(default_factory=list)
    next_checks: list[str] = msgspec.field(default_factory=list)
    evidence: list[str] = msgspec.field(default_factory=list)
    contradictions: list[str] = msgspec.field(default_factory=list)


class Diagnosis(msgspec.Struct, frozen=True):
    """The contract's ``diagnosis``, whole: the diagnoser's ``Diagnosis`` (diagnose/diagnosis.py)
    as alerting reads it (alert sits beside diagnose in the layers, so it decodes the JSON)."""

    root_cause: str = ""
    """A stable id of the cause (``stale-fuse-bind-after-daemon-restart``)."""
    rule: str | None = None
    summary: str = ""
    explanation: str = ""
    """The mechanism in a few sentences."""
    confidence: float = 0.0
    remediation: list[str] = msgspec.field(default_factory=list)
    contradictions: list[Said] = msgspec.field(default_factory=list)
    evidence: list[EvidencePayload] = msgspec.field(default_factory=list)
    next_checks: list[str] = msgspec.field(default_factory=list)
    unchecked: list[str] = msgspec.field(default_factory=list)
    group: Group | None = None
    caused_by: CausedBy | None = None
    victims: Victims | None = None
    translations: dict[str, Texts] = msgspec.field(default_factory=dict)
    """The texts in every other language (``podsleuth.locale.localize`` swaps them in)."""
    locale: str = "en"
    """The language of the texts above (a localized change says so; else English)."""


class IncidentPayload(msgspec.Struct, frozen=True):
    id: str
    fingerprint: str = ""
    category: str = ""
    reason: str = ""
    signature: str | None = None
    severity: str = "error"
    namespace: str | None = None
    pod: str | None = None
    node: str | None = None
    container: str | None = None
    owner: Owner | None = None
    message: str = ""
    count: int = 1
    first_seen: str = ""
    last_seen: str = ""
    diagnosis: Diagnosis | None = None
    pods: list[Any] = msgspec.field(default_factory=list)
    """Pod names (or objects with a ``name``) sharing the incident, beyond ``pod``."""
    labels: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def workload(self) -> str:
        """``Kind/name`` of the owner, or the pod itself for a bare pod."""
        if self.owner and self.owner.name:
            return f"{self.owner.kind}/{self.owner.name}" if self.owner.kind else self.owner.name
        return f"Pod/{self.pod}" if self.pod else ""

    @property
    def all_pods(self) -> list[str]:
        pods = [
            p if isinstance(p, str) else str(p.get("name", ""))
            for p in self.pods
            if isinstance(p, str | dict)
        ]
        pods = [p for p in pods if p]
        if self.pod and self.pod not in pods:
            pods.insert(0, self.pod)
        return pods

    @property
    def cause_key(self) -> str:
        """Incidents with the same key share a root cause: the unit of a storm digest line."""
        if self.diagnosis and self.diagnosis.root_cause:
            return f"rc:{self.diagnosis.root_cause}"
        if self.signature:
            return f"sig:{self.signature}"
        return f"cat:{self.category}:{self.reason}"


class ChangePayload(msgspec.Struct, frozen=True):
    """One incident change plus the raw dict it came from (forwarded verbatim by webhooks)."""

    event: EventKind
    incident: IncidentPayload
    raw: dict[str, Any]

    @property
    def resolved(self) -> bool:
        return self.event == RESOLVED


def decode_change(raw: dict[str, Any]) -> ChangePayload:
    """Validate a contract dict; a malformed change is an ``InputError`` naming the problem."""
    try:
        event = msgspec.convert(raw.get("event"), type=EventKind)
        incident = msgspec.convert(raw.get("incident"), type=IncidentPayload, strict=False)
    except msgspec.ValidationError as e:
        raise InputError(f"invalid incident change: {e}") from None
    return ChangePayload(event=event, incident=incident, raw=raw)


def content_hash(change: ChangePayload) -> str:
    """What makes a change worth telling again: everything but counters and timestamps."""
    i = change.incident
    d = i.diagnosis
    parts = [
        change.event if change.resolved else "open",
        i.category,
        i.reason,
        i.signature or "",
        i.severity,
        i.node or "",
        d.root_cause if d else "",
        "|".join(d.remediation) if d else "",
    ]
    if d and d.caused_by and d.caused_by.incident:  # a victim learning its cause is news
        parts.append(f"caused-by:{d.caused_by.incident}")
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def field_values(incident: IncidentPayload) -> dict[str, str]:
    """Flat string fields that routes and silences match on (``label.KEY`` for labels)."""
    out = {
        "namespace": incident.namespace or "",
        "pod": incident.pod or "",
        "node": incident.node or "",
        "container": incident.container or "",
        "category": incident.category,
        "severity": incident.severity,
        "signature": incident.signature or "",
        "reason": incident.reason,
        "fingerprint": incident.fingerprint,
        "id": incident.id,
        "owner": incident.owner.name if incident.owner else "",
        "workload": incident.workload,
    }
    for key, value in incident.labels.items():
        out[f"label.{key}"] = value
    return out
