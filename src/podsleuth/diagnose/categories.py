"""The incident categories of CONTRACT.md, and the Kubernetes reasons that imply each one.

The mapping itself is the detector's rules file (``data/rules/categories.yaml``), so a reason
means the same category in detection and in diagnosis.
"""

from __future__ import annotations

import functools
from typing import Final

from podsleuth.detect.anomaly import CATEGORIES as DETECT_CATEGORIES
from podsleuth.detect.anomaly import load_catalog

#: The detector's categories, plus node-side ones for kernel and mount evidence that does not
#: come from a pod (kernel log lines, mountinfo, FUSE daemons).
CATEGORIES: Final[frozenset[str]] = DETECT_CATEGORIES | {"node-kernel", "node-mount"}

UNKNOWN: Final = "unknown"


@functools.cache
def _reason_categories() -> dict[str, str]:
    """reason -> category, from the detector's rules file: one table for both stages."""
    catalog = load_catalog()
    table: dict[str, str] = {}
    for rule in catalog.node_conditions:
        table[rule.type.lower()] = rule.category
    for reasons in (
        catalog.other_reasons,
        catalog.event_reasons,
        catalog.pod_reasons,
        catalog.container_reasons,
    ):
        for reason, category in reasons.items():
            table[reason.lower()] = category
    return table


def normalise_reason(reason: str | None) -> str | None:
    """Reasons arrive as ``RunContainerError``, ``Init:CrashLoopBackOff`` or with stray spaces;
    compare them in one canonical form."""
    if reason is None:
        return None
    r = reason.strip().lower()
    if r.startswith("init:"):
        r = r[5:]
    return r or None


def category_of_reason(reason: str | None) -> str | None:
    """The category a Kubernetes reason implies on its own, used when no signature matched."""
    if reason is None:
        return None
    if reason.strip().lower().startswith("init:"):
        return "init-failure"
    r = normalise_reason(reason)
    return _reason_categories().get(r) if r else None
