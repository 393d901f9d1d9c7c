"""The diagnosis, typed: what the chain concluded, from the diagnoser to the store, alerts and console.

Its JSON form (``to_dict``, msgspec-encoded) is CONTRACT.md's ``diagnosis`` object plus our
extensions (docs/diagnosis.md): keys a diagnosis does not have are *absent*, not null (``UNSET``),
exactly as the dicts before it had them -- the first diagnosis from the signature alone has no
``rule`` key at all, the full chain's has one (``null`` for the signature fallback), and that
is how a reader tells them apart. Nothing but the diagnosis is in it: the runner keeps its own
bookkeeping (for which signature, first or full) beside it.

Every user-facing text exists in every language of ``podsleuth.locale.LOCALES``: English in the
contract's fields, the others under ``translations[lang]`` (``Texts``, lists in the same order
as the English ones). ``podsleuth.locale.localize`` turns the JSON form into one language.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from podsleuth.diagnose.evidence import Evidence
from podsleuth.locale import DEFAULT


class Said(msgspec.Struct, frozen=True):
    """A contradiction found among the facts (``{"id", "said"}``): it lowered the confidence."""

    id: str
    said: str


class Group(msgspec.Struct, frozen=True, kw_only=True):
    """The pods broken the same way on one node (``diagnose.correlate``): one cause, one group."""

    key: str
    node: str
    cause: str
    pods: list[str] = msgspec.field(default_factory=list)
    volumes: list[str] = msgspec.field(default_factory=list)
    workloads: list[str] = msgspec.field(default_factory=list)
    incidents: list[str] = msgspec.field(default_factory=list)


class CausedBy(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A victim's pointer to what broke it (``diagnose.correlate.caused_by``): another pod on its
    node -- the CSI/FUSE plugin pod whose OOM kill left the victim's mount dead. ``subject`` and
    ``cause`` come from the victim's own facts, so they are there even when the watch never saw
    the culprit; ``incident`` is the culprit's incident once the runner matched one (``Links``),
    ``resolved`` when that incident has resolved since (the victim may well outlive it)."""

    subject: str
    """The culprit pod, ``namespace/name``."""
    node: str
    cause: str
    """What happened to it: ``oom-killed``."""
    container: str = ""
    incident: str = ""
    resolved: bool = False


class Victims(msgspec.Struct, frozen=True, kw_only=True):
    """A cause's list of what it broke: the open incidents whose ``caused_by`` names it."""

    incidents: list[str] = msgspec.field(default_factory=list)
    pods: list[str] = msgspec.field(default_factory=list)


class Texts(msgspec.Struct, frozen=True, kw_only=True):
    """A diagnosis's user-facing texts in one language; lists pair one to one with the English
    (``evidence[i]`` is the fact of ``Diagnosis.evidence[i]``). An entry of the knowledge base
    without a translation yet gives its English text here (per entry, not per diagnosis)."""

    summary: str
    explanation: str = ""
    remediation: list[str] = msgspec.field(default_factory=list)
    next_checks: list[str] = msgspec.field(default_factory=list)
    evidence: list[str] = msgspec.field(default_factory=list)
    contradictions: list[str] = msgspec.field(default_factory=list)


class Diagnosis(msgspec.Struct, frozen=True, kw_only=True):
    """One diagnosis of one incident. Field order is the JSON key order."""

    root_cause: str
    """A stable id of the cause (a rule's ``cause``, else the signature id, else the category)."""
    rule: str | UnsetType | None = UNSET
    """The decision rule that matched; ``None`` for the chain's signature fallback; absent
    (``UNSET``) in the first diagnosis, which never ran the rules."""
    summary: str
    explanation: str = ""
    """The mechanism, in a few sentences (the rule's or signature's ``root_cause`` text)."""
    confidence: float
    remediation: list[str] = msgspec.field(default_factory=list)
    contradictions: list[Said] | UnsetType = UNSET
    evidence: list[Evidence] = msgspec.field(default_factory=list)
    next_checks: list[str] | UnsetType = UNSET
    unchecked: list[str] | UnsetType = UNSET
    """Links of the chain that could not run (``node-agent``, ``api``)."""
    group: Group | UnsetType = UNSET
    caused_by: CausedBy | UnsetType = UNSET
    """Another pod's failure made this one (docs/diagnosis.md "Cause and victims")."""
    victims: Victims | UnsetType = UNSET
    """The incidents this one's failure made (set by the runner, never by the chain)."""
    translations: dict[str, Texts] = msgspec.field(default_factory=dict)
    """The texts in every other language (``zh``), see ``Texts``."""
    locale: str | UnsetType = UNSET
    """Set only on a localized copy (``podsleuth.locale.localize``): the language of the texts."""

    @property
    def full(self) -> bool:
        """Made by the whole chain (it ran the decision rules), not the signature alone."""
        return self.rule is not UNSET

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (CONTRACT.md's ``diagnosis`` object), for the store and the output:
        evidence items are ``{source, fact, data}`` (their other languages are in
        ``translations[lang].evidence``)."""
        out: dict[str, Any] = msgspec.to_builtins(self, enc_hook=str)
        for item in out["evidence"]:
            item.pop("translations", None)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Diagnosis:
        """Decode the JSON form (a stored row, an alert's change); ``msgspec.ValidationError``
        when it is not one."""
        return msgspec.convert(data, cls, strict=False)

    def texts(self, lang: str) -> Texts:
        """The texts in ``lang``: the translation when there is one, else the English."""
        if lang != DEFAULT and lang in self.translations:
            return self.translations[lang]
        return Texts(
            summary=self.summary,
            explanation=self.explanation,
            remediation=list(self.remediation),
            next_checks=list(self.next_checks) if isinstance(self.next_checks, list) else [],
            evidence=[e.fact for e in self.evidence],
            contradictions=[c.said for c in self.contradictions]
            if isinstance(self.contradictions, list)
            else [],
        )


def as_diagnosis(value: object) -> Diagnosis | None:
    """What an incident holds as its diagnosis, typed: the runner attaches a ``Diagnosis``; an
    incident read back from the store (``resume``) holds its JSON dict. None for anything else
    (no diagnosis, or a stored form this version cannot read)."""
    if isinstance(value, Diagnosis):
        return value
    if isinstance(value, dict):
        try:
            return Diagnosis.from_dict(value)
        except msgspec.ValidationError:
            return None
    return None
