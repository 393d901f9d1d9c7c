"""The diagnosis chain: signature -> API facts -> node-agent facts -> decision rules.

Each link only adds facts and evidence; none can fail the diagnosis: an API read that is denied
or a node agent that does not answer becomes a gap that lowers the confidence and is said in the
evidence. The result is CONTRACT.md's ``diagnosis`` object (plus ``rule``, ``explanation`` and,
for node-scoped causes, ``group``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose import api_facts, node_facts
from podsleuth.diagnose.correlate import group_of
from podsleuth.diagnose.evidence import Case, Subject
from podsleuth.diagnose.incident import SIGNATURE_WEIGHT
from podsleuth.diagnose.knowledge import Classification, KnowledgeBase
from podsleuth.diagnose.rules import GAP_PENALTY, MIN_CONFIDENCE, RuleSet, load_rules, render
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

    async def diagnose(self, subject: Subject) -> dict[str, Any]:
        case = Case(subject)
        classification = self._signature(case)
        if self.client is not None:
            await api_facts.collect(self.client, case, call_timeout=self.api_timeout)
            classification = self._refine(case, classification)
        else:
            case.gap("api", "no API client: cluster facts not read")
        if subject.category in NODE_CATEGORIES:
            await node_facts.collect(case, client=self.client, settings=self.agents)
        derive(case)
        return conclude(case, self.rules, classification)

    def _signature(self, case: Case) -> Classification:
        s = case.subject
        c = self.knowledge.classify(s.message, s.reason)
        if c.signature is None:
            case.add(
                "signature", "no known failure signature matches the message", {"message": s.message[:500]}
            )
            return c
        case.facts.update(c.facts)
        case.facts["signature"] = c.signature
        case.add(
            "signature",
            f"the message matches the known failure {c.signature!r}: {c.summary}",
            {"signature": c.signature, "score": round(c.score, 3), **c.facts},
        )
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
        case.add(
            "signature",
            f"an earlier event of the pod matches the more specific failure {best.signature!r}: "
            f"{best.summary}",
            {"signature": best.signature, "score": round(best.score, 3), **best.facts},
        )
        return best


def derive(case: Case) -> None:
    """Facts the rules and templates need that combine other facts."""
    f = case.facts
    me = f"{f.get('namespace')}/{f.get('pod')}"
    f["other_pods"] = [k for k in case.affected if k != me]
    if f.get("daemon_oom_killed"):
        f["oom_clause"] = "OOM-killed and "
        f["oom_because"] = (
            f" (the kernel OOM-killed {f.get('oom_comm')} pid {f.get('oom_pid')} at {f.get('oom_time')})"
        )
    else:
        f["oom_clause"] = f["oom_because"] = ""
    f["plugin_oom"] = f.get("plugin_last_reason") == "OOMKilled"
    f["driver_clause"] = (
        f" ({f['csi_driver']}, mounter {f.get('pv_mounter') or 'unknown'})" if f.get("csi_driver") else ""
    )
    f["plugin_clause"] = (
        f"; the CSI node plugin {f['plugin_pod']} restarted {f.get('plugin_restarts')} time(s)"
        f" (last: {f.get('plugin_last_reason') or 'unknown'})"
        if f.get("plugin_pod")
        else ""
    )
    reasons = f.get("scheduler_reasons")
    if isinstance(reasons, dict):
        f["sched_insufficient"] = sorted(
            str(r)[len("Insufficient ") :] for r in reasons if str(r).startswith("Insufficient ")
        )
        f["sched_taints"] = sorted(str(r) for r in reasons if "taint" in str(r))
    message = str(f.get("event_message") or case.subject.message)
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


def conclude(case: Case, rules: RuleSet, classification: Classification) -> dict[str, Any]:
    f = case.facts
    rule = rules.first(f)
    evidence = [e.to_dict() for e in case.evidence]
    if rule is None:
        score = classification.score * SIGNATURE_WEIGHT if classification.signature else 0.2
        score -= sum(GAP_PENALTY.get(g, 0.05) for g in case.gaps)
        return {
            "root_cause": classification.signature or case.subject.category,
            "rule": None,
            "summary": classification.summary
            if classification.signature
            else f"{case.subject.category}: {case.subject.reason}: {case.subject.message[:200]}",
            "explanation": classification.root_cause,
            "confidence": round(max(MIN_CONFIDENCE, min(score, 0.99)), 3),
            "evidence": evidence,
            "remediation": list(classification.remediation),
        }
    diagnosis: dict[str, Any] = {
        "root_cause": rule.cause,
        "rule": rule.id,
        "summary": render(rule.summary, f),
        "explanation": render(rule.root_cause, f),
        "confidence": rule.score(f, case.gaps),
        "evidence": evidence,
        "remediation": rule.remedies(f),
    }
    if case.gaps:
        diagnosis["unchecked"] = sorted(set(case.gaps))
    if rule.correlate and f.get("node"):
        diagnosis["group"] = group_of(case, rule.cause)
    return diagnosis
