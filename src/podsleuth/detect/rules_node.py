"""Node rules: node conditions (+ time) -> anomalies, driven by the catalog's condition table.

A node briefly NotReady (a kubelet restart, a missed heartbeat) is normal life, so Ready and
NetworkUnavailable count only after ``thresholds.node_not_ready``; pressure and
node-problem-detector conditions count at once (they are already debounced by the kubelet's
eviction-pressure-transition-period and by NPD).

A status outside True/False/Unknown (a newer Kubernetes, a buggy agent) is reported with the
rule's category and delay: it is not known good, and dropping it would hide the node.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from podsleuth.config import Thresholds
from podsleuth.detect.anomaly import Anomaly, Catalog
from podsleuth.detect.rules_pod import Evaluation
from podsleuth.watch.objects import Node

_KNOWN = frozenset({"True", "False", "Unknown"})


def evaluate_node(
    node: Node, *, now: datetime, thresholds: Thresholds, catalog: Catalog, first_seen: datetime
) -> Evaluation:
    out = Evaluation()
    conditions = {c.type: c for c in node.status.conditions or ()}
    for rule in catalog.node_conditions:
        cond = conditions.get(rule.type)
        if cond is None:
            continue
        # a missing status is unexpected only where "not True" is bad (Ready); a pressure
        # condition without a status is no sign of pressure
        unexpected = cond.status not in _KNOWN and (cond.status != "" or "False" in rule.bad_status)
        if cond.status not in rule.bad_status and not unexpected:
            continue
        delay = 0.0 if rule.delay == "none" else float(getattr(thresholds, rule.delay))
        since = cond.last_transition_time or first_seen
        at = since + timedelta(seconds=delay)
        if now < at:
            out.wake_at(at)
            continue
        reason = cond.reason or rule.type
        if rule.type == "Ready" and cond.status == "Unknown" and not cond.reason:
            reason = "NodeStatusUnknown"
        message = cond.message or f"node condition {rule.type} is {cond.status}"
        if unexpected:  # a value this version does not know is not known good: said, not dropped
            reason = cond.reason or f"Unexpected{rule.type}Status"
            message = f"node condition {rule.type} has the unexpected status {cond.status[:64]!r}" + (
                f": {cond.message}" if cond.message else "")
        out.anomalies.append(
            Anomaly(category=rule.category, reason=reason, message=message, condition=rule.type)
        )
    return out
