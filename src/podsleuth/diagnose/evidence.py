"""What the diagnosis chain works on (a ``DiagnosisRequest``) and what it collects (a ``Case``).

Each link of the chain (signature, API, node agent) adds *facts* (flat keys the decision rules
test, e.g. ``pv_mounter`` or ``daemon_oom_killed``) and *evidence* (the same facts worded for a
human, with their source), so the rules stay data and the report reads like an engineer's
write-up: what was looked at, where, and what it showed. The wording is a catalogue phrase
(``podsleuth.diagnose.phrases``) rendered in every language at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from podsleuth.detect import EventRecord, Incident
from podsleuth.diagnose.phrases import Phrase
from podsleuth.locale import DEFAULT


class DiagnosisRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The incident-like input: from a watch ``Incident`` or built by ``diagnose pod``."""

    category: str
    reason: str
    message: str
    signature: str | None = None
    namespace: str | None = None
    pod: str | None = None
    node: str | None = None
    container: str | None = None
    owner_kind: str = ""
    owner_name: str = ""
    pods: tuple[str, ...] = ()
    events: tuple[EventRecord, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    incident_id: str | None = None

    @classmethod
    def from_incident(cls, inc: Incident) -> DiagnosisRequest:
        return cls(
            category=inc.category,
            reason=inc.reason,
            message=inc.message,
            signature=inc.signature,
            namespace=inc.namespace,
            pod=inc.pod,
            node=inc.node,
            container=inc.container,
            owner_kind=inc.owner.kind,
            owner_name=inc.owner.name,
            pods=inc.pods,
            events=inc.events,
            first_seen=inc.first_seen,
            last_seen=inc.last_seen,
            incident_id=inc.id,
        )


class Evidence(msgspec.Struct, frozen=True):
    """One link of the evidence chain, CONTRACT.md's ``{"source", "fact", "data"}``; the fact in
    the other languages under ``translations`` (lang -> text; English stays in ``fact``)."""

    source: str
    fact: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    translations: dict[str, str] = msgspec.field(default_factory=dict)

    @classmethod
    def said(cls, source: str, fact: Phrase, data: dict[str, Any] | None = None) -> Evidence:
        """The evidence of a catalogue phrase, in every language."""
        texts = fact.texts()
        english = texts.pop(DEFAULT)
        return cls(source, english, data or {}, texts)

    def text(self, lang: str) -> str:
        """The fact in ``lang``: its translation when there is one, else the English."""
        return self.translations.get(lang) or self.fact

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "fact": self.fact, "data": self.data}
        if self.translations:
            out["translations"] = dict(self.translations)
        return out


class Case:
    """The facts and evidence gathered so far for one subject; mutable, owned by one chain run."""

    def __init__(self, subject: DiagnosisRequest) -> None:
        self.subject = subject
        self.facts: dict[str, Any] = {
            "category": subject.category,
            "reason": subject.reason,
            "signature": subject.signature,
            "namespace": subject.namespace,
            "pod": subject.pod,
            "node": subject.node,
            "container": subject.container,
            "owner": f"{subject.owner_kind}/{subject.owner_name}" if subject.owner_name else None,
        }
        self.evidence: list[Evidence] = []
        self.gaps: list[str] = []
        """Links of the chain that could not run (agent unreachable, API denied): lower confidence."""
        self.affected: dict[str, dict[str, Any]] = {}
        """Pods (``ns/name``) broken the same way, with their volume and workload: the group."""
        self.names: dict[str, str] = {}
        """Pod UID -> ``ns/name`` of the pods on the node, to name what the node agent finds by UID."""

    def add(self, source: str, fact: Phrase, data: dict[str, Any] | None = None, **facts: Any) -> None:
        """Evidence (a ``phrase(...)``: no sentence without its translations) and the facts it
        established."""
        self.evidence.append(Evidence.said(source, fact, data))
        self.facts.update(facts)

    def gap(self, source: str, fact: Phrase, data: dict[str, Any] | None = None) -> None:
        """A link that could not be checked: said in the evidence, counted against confidence."""
        self.gaps.append(source)
        self.evidence.append(Evidence.said(source, fact, {**(data or {}), "unavailable": True}))

    def affect(self, namespace: str, pod: str, **info: Any) -> None:
        key = f"{namespace}/{pod}"
        entry = self.affected.setdefault(key, {"namespace": namespace, "pod": pod})
        entry.update({k: v for k, v in info.items() if v is not None})
