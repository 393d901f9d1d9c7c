"""Which anomalies to drop: namespaces in/out, ignore rules from the config, default noise rules.

Globs are compiled once; namespace decisions are memoised because the namespace check runs on
every pod update (the hot path) and a cluster has few namespaces.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from podsleuth.config import IgnoreRule, WatchSettings
from podsleuth.detect.anomaly import Anomaly

DEFAULT_IGNORE: tuple[IgnoreRule, ...] = (IgnoreRule(namespace="kube-system", category="probe-failure"),)
"""Noise dropped unless the Detector is built with ``default_ignore=()``: probe flaps of system
add-ons are the platform's business and the top complaint about other watchers."""


def _glob(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else re.compile(fnmatch.translate(pattern))


@dataclass(frozen=True, slots=True)
class _Rule:
    namespace: re.Pattern[str] | None
    pod: re.Pattern[str] | None
    container: re.Pattern[str] | None
    categories: frozenset[str] | None
    reason: re.Pattern[str] | None
    labels: tuple[tuple[str, re.Pattern[str]], ...]

    def matches(
        self, anomaly: Anomaly, *, namespace: str | None, pod: str | None, labels: dict[str, str] | None
    ) -> bool:
        if self.categories is not None and anomaly.category not in self.categories:
            return False
        if self.reason is not None and not self.reason.fullmatch(anomaly.reason):
            return False
        if self.namespace is not None and (namespace is None or not self.namespace.fullmatch(namespace)):
            return False
        if self.pod is not None and (pod is None or not self.pod.fullmatch(pod)):
            return False
        if self.container is not None and (
            anomaly.container is None or not self.container.fullmatch(anomaly.container)
        ):
            return False
        for key, pattern in self.labels:
            value = (labels or {}).get(key)
            if value is None or not pattern.fullmatch(value):
                return False
        return True


def _compile(rule: IgnoreRule) -> _Rule:
    cats = rule.category
    categories = None if cats is None else frozenset([cats] if isinstance(cats, str) else cats)
    return _Rule(
        namespace=_glob(rule.namespace),
        pod=_glob(rule.pod),
        container=_glob(rule.container),
        categories=categories,
        reason=_glob(rule.reason),
        labels=tuple((k, re.compile(fnmatch.translate(v))) for k, v in rule.labels.items()),
    )


class Filters:
    def __init__(self, settings: WatchSettings, *, default_ignore: Sequence[IgnoreRule]) -> None:
        self._include = [_glob(ns) for ns in settings.namespaces]
        self._exclude = [_glob(ns) for ns in settings.exclude_namespaces]
        self._rules = [_compile(r) for r in (*default_ignore, *settings.ignore)]
        self._ns_cache: dict[str, bool] = {}

    def namespace_allowed(self, namespace: str) -> bool:
        allowed = self._ns_cache.get(namespace)
        if allowed is None:
            included = not self._include or any(p and p.fullmatch(namespace) for p in self._include)
            allowed = bool(included) and not any(p and p.fullmatch(namespace) for p in self._exclude)
            if len(self._ns_cache) > 10_000:
                self._ns_cache.clear()
            self._ns_cache[namespace] = allowed
        return allowed

    def keep(
        self,
        anomalies: list[Anomaly],
        *,
        namespace: str | None,
        pod: str | None,
        labels: dict[str, str] | None,
    ) -> list[Anomaly]:
        if not self._rules or not anomalies:
            return anomalies
        return [
            a
            for a in anomalies
            if not any(r.matches(a, namespace=namespace, pod=pod, labels=labels) for r in self._rules)
        ]
