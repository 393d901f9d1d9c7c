"""The first link of the diagnosis chain: what the incident's own message says.

The knowledge base classifies the message, extracts its facts (pod UID, volume, kubelet root,
errno, image, missing secret...) and names the root cause, the checks that would prove it and
the fix. That is already a diagnosis, with the confidence of the signature match; the deeper
links (API facts, node-agent probes) raise or lower it when they run.
"""

from __future__ import annotations

from typing import Any, Protocol

from podsleuth.diagnose.knowledge import KnowledgeBase

SIGNATURE_WEIGHT = 0.6
"""A signature match alone is strong but unconfirmed evidence: cap its confidence here."""


class _IncidentLike(Protocol):
    @property
    def message(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def signature(self) -> str | None: ...


def first_diagnosis(incident: _IncidentLike, knowledge: KnowledgeBase) -> dict[str, Any] | None:
    """The CONTRACT.md ``diagnosis`` object from the message alone; None when nothing matched.

    The returned dict also carries ``signature`` (the id it was computed for) so callers can
    tell when the incident's signature changed and the diagnosis must be redone.
    """
    if not incident.message or incident.signature is None:
        return None
    result = knowledge.classify(incident.message, incident.reason)
    if result.signature is None:
        return None
    evidence: list[dict[str, Any]] = [
        {
            "source": "signature",
            "fact": f"the message matches the known failure {result.signature!r}",
            "data": {"signature": result.signature, "score": round(result.score, 3), **result.facts},
        }
    ]
    checks = [*result.next_checks_api, *result.next_checks_node]
    if checks:
        evidence.append(
            {"source": "next-checks", "fact": "checks that would confirm it", "data": {"checks": checks}}
        )
    return {
        "signature": result.signature,
        # a stable id, as in the full diagnosis (whose rules name causes); the prose explains it
        "root_cause": result.signature,
        "explanation": result.root_cause,
        "summary": result.summary,
        "confidence": round(min(result.score, 1.0) * SIGNATURE_WEIGHT, 3),
        "evidence": evidence,
        "remediation": list(result.remediation),
    }
