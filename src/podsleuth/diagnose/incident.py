"""The first link of the diagnosis chain: what the incident's own message says.

The knowledge base classifies the message, extracts its facts (pod UID, volume, kubelet root,
errno, image, missing secret...) and names the root cause, the checks that would prove it and
the fix. That is already a diagnosis, with the confidence of the signature match; the deeper
links (API facts, node-agent probes) raise or lower it when they run.
"""

from __future__ import annotations

from typing import Protocol

from podsleuth.diagnose import translate as tr
from podsleuth.diagnose.diagnosis import Diagnosis, Texts
from podsleuth.diagnose.evidence import Evidence
from podsleuth.diagnose.knowledge import Classification, KnowledgeBase
from podsleuth.locale import DEFAULT

SIGNATURE_WEIGHT = 0.6
"""A signature match alone is strong but unconfirmed evidence: cap its confidence here."""


class _IncidentLike(Protocol):
    @property
    def message(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def signature(self) -> str | None: ...


def first_diagnosis(incident: _IncidentLike, knowledge: KnowledgeBase) -> Diagnosis | None:
    """The diagnosis from the message alone (no ``rule`` key: it never ran the decision rules);
    None when nothing matched. Which signature it was computed for is the caller's to keep."""
    if not incident.message or incident.signature is None:
        return None
    result = knowledge.classify(incident.message, incident.reason)
    if result.signature is None:
        return None
    data = {"signature": result.signature, "score": round(result.score, 3), **result.facts}
    evidence = [tr.said_in_all("signature", data, "first", result)]
    en = tr.signature_texts(result, DEFAULT, result.facts)
    checks = [*en.next_checks_api, *en.next_checks_node]
    if checks:
        evidence.append(tr.said_in_all("next-checks", {"checks": checks}, "first-checks"))
    return Diagnosis(
        # a stable id, as in the full diagnosis (whose rules name causes); the prose explains it
        root_cause=result.signature,
        explanation=en.root_cause,
        summary=result.summary,
        confidence=round(min(result.score, 1.0) * SIGNATURE_WEIGHT, 3),
        evidence=[tr.plain(e) for e in evidence],
        remediation=list(en.remediation),
        translations={lang: _texts(result, evidence, lang) for lang in tr.OTHER},
    )


def _texts(result: Classification, evidence: list[Evidence], lang: str) -> Texts:
    t = tr.signature_texts(result, lang, result.facts)
    return Texts(
        summary=t.summary,
        explanation=t.root_cause,
        remediation=list(t.remediation),
        evidence=[tr.evidence_fact(e, lang) for e in evidence],
    )
