"""The diagnosis chain: signature -> API facts -> node-agent facts -> decision rules.

Each link only adds facts and evidence; none can fail the diagnosis: an API read that is denied
or a node agent that does not answer becomes a gap that lowers the confidence and is said in the
evidence. The result is a ``Diagnosis`` (diagnose/diagnosis.py): CONTRACT.md's ``diagnosis``
object (plus ``rule``, ``explanation`` and, for node-scoped causes, ``group``) with its texts in
every language (diagnose/translate.py).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose import api_link, node_link
from podsleuth.diagnose import translate as tr
from podsleuth.diagnose.correlate import group_of
from podsleuth.diagnose.diagnosis import Diagnosis, Group, Said, Texts
from podsleuth.diagnose.evidence import Case, DiagnosisRequest
from podsleuth.diagnose.incident import SIGNATURE_WEIGHT
from podsleuth.diagnose.knowledge import Classification, KnowledgeBase
from podsleuth.diagnose.links import caused_by
from podsleuth.diagnose.phrases import phrase
from podsleuth.diagnose.rules import GAP_PENALTY, MIN_CONFIDENCE, RuleSet, load_rules
from podsleuth.kube import KubeClient

log = logging.getLogger(__name__)

POINTERS = frozenset(
    {
        "image-pull-backoff",
        "image-pull-failed-generic",
        "crashloop-backoff",
        "kubelet-failedmount-timeout-aggregate",
        "kubelet-mount-failed-generic",
        "sandbox-create-failed-generic",
        "scheduling-failed-generic",
    }
)
"""Signatures that only point elsewhere ("the earlier ErrImagePull event says why"): the pod's
events are classified too, and a more specific signature of the same category wins."""
NODE_CATEGORIES = frozenset({"container-start", "volume-mount", "oom-killed", "stuck-terminating"})
"""Categories whose cause may live on the node (mounts, FUSE daemons, kernel OOM kills)."""
_PROBE_RE = re.compile(r"^(Liveness|Readiness|Startup) probe (?:failed|errored): ?(.*)$", re.DOTALL)
_SANDBOX_ID_RE = re.compile(r'(sandbox|container) \\?"[0-9a-f]{12,64}\\?"')
DETAIL_MAX = 300


def error_detail(message: str) -> str:
    """The innermost error of a gRPC-wrapped runtime message (after the last ``desc = ``), without
    64-hex sandbox ids, bounded: the specific words (plugin type, socket path, "no IP addresses
    available") a summary should carry."""
    tail = message[-4 * DETAIL_MAX :]
    i = tail.rfind("desc = ")
    text = tail[i + len("desc = ") :] if i >= 0 else tail
    text = " ".join(_SANDBOX_ID_RE.sub(r"\1", text).split())
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 3] + "..."


class Diagnoser:
    """Stateless between calls; one per watch or CLI run. ``client`` None = no API facts."""

    def __init__(
        self,
        *,
        client: KubeClient | None,
        agents: NodeAgentSettings,
        knowledge: KnowledgeBase | None = None,
        rules: RuleSet | None = None,
        api_timeout: float = 5.0,
    ) -> None:
        self.client, self.agents = client, agents
        self.knowledge = knowledge if knowledge is not None else KnowledgeBase.default()
        self.rules = rules if rules is not None else load_rules()
        self.api_timeout = api_timeout

    async def diagnose(self, subject: DiagnosisRequest) -> Diagnosis:
        case = Case(subject)
        classification = self._signature(case)
        if self.client is not None:
            await api_link.collect(self.client, case, call_timeout=self.api_timeout)
            classification = self._refine(case, classification)
        else:
            case.gap("api", phrase("api.no-client"))
        if subject.category in NODE_CATEGORIES:
            await node_link.collect(case, client=self.client, settings=self.agents)
        derive(case)
        return conclude(case, self.rules, classification)

    def _signature(self, case: Case) -> Classification:
        s = case.subject
        c = self.knowledge.classify(s.message, s.reason)
        if c.signature is None:
            case.evidence.append(tr.said_in_all("signature", {"message": s.message[:500]}, "no-signature"))
            return c
        case.facts.update(c.facts)
        case.facts["signature"] = c.signature
        data = {"signature": c.signature, "score": round(c.score, 3), **c.facts}
        case.evidence.append(tr.said_in_all("signature", data, "signature", c))
        return c

    def _refine(self, case: Case, c: Classification) -> Classification:
        if c.signature is not None and c.signature not in POINTERS:
            return c
        best = c
        for reason, message in reversed(case.facts.get("event_messages") or []):
            e = self.knowledge.classify(message, reason)
            if (
                e.signature
                and e.signature not in POINTERS
                and e.signature != c.signature
                and e.category == (c.category if c.signature else case.subject.category)
                and e.score > 0
            ):
                best = e
                break
        if best is c:
            return c
        case.facts.update(best.facts)
        case.facts["signature"] = best.signature
        data = {"signature": best.signature, "score": round(best.score, 3), **best.facts}
        case.evidence.append(tr.said_in_all("signature", data, "earlier-event", best))
        return best


def _data(case: Case, source: str) -> dict[str, Any]:
    return next((e.data for e in reversed(case.evidence) if e.source == source), {})


def serving_daemon(case: Case) -> None:
    """The daemon serving the pod's mount *now* (agent's mountinfo record), when no
    ``fuse-daemon-restarted`` finding named one: a live daemon over a ``//deleted`` root is the
    founding write-up's literal state.  It counts as restarted when it started after the kernel
    OOM-killed the plugin's daemon, or when it runs with ``nonempty`` (only a re-mount needs it)."""
    f = case.facts
    mount = _data(case, "node-agent:mountinfo")
    if isinstance(mount.get("root"), str) and mount.get("root_deleted"):
        f.setdefault("mount_root", mount["root"])
    daemons = [d for d in mount.get("fuse_daemons") or [] if isinstance(d, dict)]
    if f.get("daemon_pid") is not None or not daemons:
        return
    d = daemons[-1]
    start = d.get("start_time")
    killed = _data(case, "node-agent:kernel").get("time") if f.get("daemon_oom_killed") else None
    nonempty = any("nonempty" in str(a) for a in d.get("cmdline") or [])
    # both clocks are boot-time estimates (kmsg's monotonic stamp, /proc's start ticks): 2 s slack
    after_oom = isinstance(start, int | float) and isinstance(killed, int | float) and start >= killed - 2.0
    f.update(
        daemon_pid=d.get("pid"),
        daemon_comm=d.get("comm"),
        daemon_started=datetime.fromtimestamp(start, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        if isinstance(start, int | float)
        else None,
        daemon_nonempty=nonempty,
        daemon_restarted=after_oom or nonempty,
        daemon_live=True,
        fuse_connection=mount.get("fuse_connection"),
    )


def derive(case: Case) -> None:
    """Facts the rules and templates need that combine other facts."""
    f = case.facts
    serving_daemon(case)
    me = f"{f.get('namespace')}/{f.get('pod')}"
    f["other_pods"] = [k for k in case.affected if k != me]
    f["plugin_oom"] = f.get("plugin_last_reason") == "OOMKilled"
    f.update(tr.phrases(f, "en"))  # the other languages' forms: tr.facts_in when rendering them
    reasons = f.get("scheduler_reasons")
    if isinstance(reasons, dict):
        f["sched_insufficient"] = sorted(
            str(r)[len("Insufficient ") :] for r in reasons if str(r).lower().startswith("insufficient ")
        )
        f["sched_taints"] = sorted(str(r) for r in reasons if "taint" in str(r).lower())
    message = str(f.get("event_message") or case.subject.message)
    f.setdefault("error_detail", error_detail(message))
    m = _PROBE_RE.match(message.strip())
    if m:
        kind = m.group(1).lower()
        f.setdefault("probe_kind", kind)
        f.setdefault("probe_error", m.group(2).strip() or None)
        f.setdefault("probe_endpoint", f.get(f"{kind}_probe") or f.get("probe_url"))
    source = f.get("mount_source")
    if not f.get("volume_mount_path"):
        if isinstance(source, str) and "/volumes/" in source:
            f["volume_mount_path"] = source
        elif f.get("volume_plugin") == "kubernetes.io~csi" and f.get("volume_path"):
            f["volume_mount_path"] = f"{f['volume_path']}/mount"
        else:
            f["volume_mount_path"] = f.get("volume_path")
    f.setdefault("message", case.subject.message)
    f.setdefault("condition", None)


def conclude(case: Case, rules: RuleSet, classification: Classification) -> Diagnosis:
    f = case.facts
    rule = rules.first(f)
    langs = ("en", *tr.OTHER)
    sig_checks = {lang: tr.signature_draft(classification, lang, f).checks for lang in langs}
    if rule is None:
        score = classification.score * SIGNATURE_WEIGHT if classification.signature else 0.2
        score -= sum(GAP_PENALTY.get(g, 0.05) for g in case.gaps)
        detail = str(f.get("error_detail") or "")
        unmatched = f"{case.subject.category}: {case.subject.reason}: {case.subject.message[:200]}"
        drafts = {lang: tr.signature_draft(classification, lang, f, detail=detail, unmatched=unmatched)
                  for lang in langs}  # fmt: skip
        confidence = round(max(MIN_CONFIDENCE, min(score, 0.99)), 3)
    else:
        # the rule's own checks; else the matched signature's (the catalogue has some for most)
        drafts = {lang: tr.rule_draft(rule, f, lang, sig_checks[lang]) for lang in langs}
        confidence = rule.score(f, case.gaps)
    cause = rule.cause if rule else classification.signature or case.subject.category
    said, confidence = _contradictions(case, rules, drafts, cause, confidence)
    en = drafts["en"]
    tr.first_of(list(en.checks), *(d.checks for d in drafts.values()))
    return Diagnosis(
        root_cause=cause,
        rule=rule.id if rule else None,
        summary=en.summary,
        explanation=en.explanation,
        confidence=confidence,
        remediation=en.remediation,
        contradictions=said or msgspec.UNSET,
        evidence=[tr.plain(e) for e in case.evidence],
        next_checks=en.checks or msgspec.UNSET,
        unchecked=sorted(set(case.gaps)) if rule is not None and case.gaps else msgspec.UNSET,
        group=msgspec.convert(group_of(case, rule.cause), Group)
        if rule is not None and rule.correlate and f.get("node")
        else msgspec.UNSET,
        caused_by=caused_by(case) or msgspec.UNSET,
        translations={
            lang: Texts(
                summary=d.summary,
                explanation=d.explanation,
                remediation=d.remediation,
                next_checks=d.checks,
                evidence=[tr.evidence_fact(e, lang) for e in case.evidence],
                contradictions=d.said,
            )
            for lang, d in drafts.items()
            if lang != "en"
        },
    )


def _contradictions(
    case: Case, rules: RuleSet, drafts: dict[str, tr.Draft], cause: str, confidence: float
) -> tuple[list[Said], float]:
    """Facts that cannot all be true lower the confidence and are said, in the summary too: the
    reader must not take a conclusion built on one side of a contradiction at face value."""
    found = rules.contradicted(case.facts, cause)
    if not found:
        return [], confidence
    out: list[Said] = []
    for c in found:
        texts = {lang: tr.contradiction_texts(c, case.facts, lang) for lang in drafts}
        for lang, (text, checks) in texts.items():
            drafts[lang].said.append(text)
            drafts[lang].checks.extend(checks)
        other = {lang: text for lang, (text, _) in texts.items() if lang != "en"}
        data = {"id": c.id, "lowered_by": c.lower}
        case.evidence.append(tr.said("contradiction", texts["en"][0], data, **other))
        out.append(Said(c.id, texts["en"][0]))
    for draft in drafts.values():
        draft.but()
    return out, round(max(MIN_CONFIDENCE, confidence - sum(c.lower for c in found)), 3)
