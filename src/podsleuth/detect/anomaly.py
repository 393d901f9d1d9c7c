"""What the rules produce (an ``Anomaly``) and the rule data they read (a ``Catalog``).

Rules say *what is wrong with one object right now*; grouping, counting and resolution are the
tracker's business. Keeping the reason -> category/severity table in a YAML data file (like
node-problem-detector's rule files) lets it grow without code changes and is checked by a test.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from importlib import resources
from typing import Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from podsleuth.datafiles import read_yaml, validated
from podsleuth.errors import KnowledgeBaseError

Severity = Literal["critical", "error", "warning"]
SEVERITIES: tuple[Severity, ...] = ("critical", "error", "warning")

# The CONTRACT.md minimum set, plus finer extras (container-failed, node-problem).
CATEGORIES: frozenset[str] = frozenset(
    {
        "image-pull",
        "crash-loop",
        "oom-killed",
        "container-config",
        "container-start",
        "container-failed",
        "volume-mount",
        "sandbox",
        "unschedulable",
        "probe-failure",
        "evicted",
        "init-failure",
        "node-not-ready",
        "node-pressure",
        "node-problem",
        "stuck-terminating",
        "deadline-exceeded",
    }
)

DelayName = Literal["none", "node_not_ready", "pending", "stuck_creating", "probe_failure"]


def rfc3339(t: datetime | None) -> str | None:
    """CONTRACT.md timestamps: RFC3339 in UTC with a Z, second precision like the API server."""
    if t is None:
        return None
    if t.tzinfo is not None:
        t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Termination(msgspec.Struct, frozen=True, kw_only=True):
    """The container's last termination: the first thing an SRE looks at in a crash loop."""

    reason: str | None
    exit_code: int | None
    finished_at: datetime | None


class Anomaly(msgspec.Struct, frozen=True, kw_only=True):
    """One thing wrong with one pod (or node) at one instant.

    ``occurrence`` counts distinct happenings so that seeing the same state twice never counts
    twice: the restart count for crash/OOM anomalies, 0 for states that simply persist.
    ``condition`` distinguishes node anomalies of one category (MemoryPressure vs DiskPressure).
    """

    category: str
    reason: str
    message: str
    container: str | None = None
    occurrence: int = 0
    restart_count: int = 0
    last_termination: Termination | None = None
    condition: str | None = None
    provisional: bool = False
    """A vague anomaly ("stuck, no event explains it"): when a precise one of the same pod
    follows, the tracker turns the vague incident into the precise one (one alert thread)."""


class _Data(BaseModel):
    """Shipped data is validated like the signatures and rules: pydantic, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CategorySpec(_Data):
    severity: Severity
    wants_logs: bool = False


class NodeConditionRule(_Data):
    type: str
    bad_status: list[str]
    category: str
    delay: DelayName = "none"


class Catalog(_Data):
    """The parsed ``data/rules/categories.yaml``."""

    categories: dict[str, CategorySpec]
    container_reasons: dict[str, str]
    pod_reasons: dict[str, str]
    event_reasons: dict[str, str]
    other_reasons: dict[str, str] = Field(default_factory=dict)
    """Reasons the rules above special-case in code or see only on nodes (CrashLoopBackOff,
    NodeNotReady...): what a bare reason means when classifying a message on its own."""
    severity_overrides: dict[str, Severity] = Field(default_factory=dict)
    node_conditions: list[NodeConditionRule] = Field(default_factory=list)

    def severity(self, category: str, reason: str, condition: str | None = None) -> Severity:
        override = self.severity_overrides.get(reason)
        if override is None and condition is not None:
            override = self.severity_overrides.get(condition)
        if override is not None:
            return override
        spec = self.categories.get(category)
        return spec.severity if spec is not None else "error"

    def wants_logs(self, category: str) -> bool:
        spec = self.categories.get(category)
        return spec is not None and spec.wants_logs


class CatalogError(KnowledgeBaseError):
    """The detection catalog (categories.yaml) is malformed or names an unknown category."""


def parse_catalog(text: str | bytes, *, source: str = "<rules>") -> Catalog:
    """Decode and cross-check a rules file; a typo in a category would silently drop alerts."""
    document = read_yaml(text, where=source, error=CatalogError)
    catalog = validated(Catalog, document, where=source, error=CatalogError)
    unknown = set(catalog.categories) - CATEGORIES
    if unknown:
        raise CatalogError(f"{source}: unknown categories {sorted(unknown)}")
    missing = CATEGORIES - set(catalog.categories)
    if missing:
        raise CatalogError(f"{source}: categories without a severity {sorted(missing)}")
    tables = {
        "container_reasons": catalog.container_reasons,
        "pod_reasons": catalog.pod_reasons,
        "event_reasons": catalog.event_reasons,
        "other_reasons": catalog.other_reasons,
    }
    for table_name, table in tables.items():
        for reason, category in table.items():
            if category not in CATEGORIES:
                raise CatalogError(f"{source}: {table_name}.{reason}: unknown category {category!r}")
    for rule in catalog.node_conditions:
        if rule.category not in CATEGORIES:
            raise CatalogError(f"{source}: node_conditions.{rule.type}: unknown category {rule.category!r}")
    return catalog


@functools.cache
def load_catalog() -> Catalog:
    """The catalog shipped with podsleuth (read once, at Detector construction)."""
    ref = resources.files("podsleuth").joinpath("data/rules/categories.yaml")
    return parse_catalog(ref.read_bytes(), source="podsleuth/data/rules/categories.yaml")
