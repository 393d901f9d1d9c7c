"""Notifier tuning: the ``alerts`` config section plus knobs it does not (yet) have, with defaults.

Kept as a frozen dataclass built from ``AlertSettings`` so the notifier never reads config
objects directly and tests can set any knob without writing YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from podsleuth.config import AlertSettings


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``messages`` notifications per ``period`` seconds to one receiver; 0 = unlimited."""

    messages: int = 20
    period: float = 60.0


@dataclass(frozen=True, slots=True)
class AlertOptions:
    group_wait: float = 10.0
    repeat_interval: float = 4 * 3600.0
    send_resolved: bool = True
    locale: str = "en"
    rate_limit: RateLimit = field(default_factory=RateLimit)
    """Applies to receivers with chat/email (apprise) targets; machine receivers are unlimited
    unless ``rate_limits`` names them."""
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)
    max_batch: int = 500
    """Changes folded into one notification at most; the rest go into the next one."""
    max_detail: int = 5
    """Incidents shown in full in a chat/email message; the others become digest lines."""
    victims_with_cause: bool = True
    """A cause and its victims (docs/diagnosis.md) go in one message, the victims after it."""
    evidence_lines: int = 3
    max_attempts: int = 10
    """Delivery attempts before a notification is dead-lettered."""
    backoff_base: float = 2.0
    backoff_max: float = 300.0
    max_in_flight: int = 64
    """Concurrent deliveries per receiver, so a slow sink does not queue every message behind one.
    Deliveries of one incident to one target still go one at a time, in order."""
    apprise_timeout: float = 30.0
    alertmanager_hold: float = 0.0
    """How long an open incident's Alertmanager alert stays firing without news; 0 = 2x repeat_interval."""
    alertmanager_per_category: bool = False
    template_dir: str | None = None
    external_url: str = ""
    """The console's address (config ``ui.external_url``): chat/email messages link to each
    incident's page, ``<external_url>/incidents/<id>``."""
    idle_poll: float = 5.0
    """Upper bound of a worker's sleep, so rows written by another process are noticed."""
    retention: float = 14 * 86400.0
    """Sent/dead deliveries, their queue rows and log, and incidents resolved (with their
    timeline) are deleted this long after; 0 = keep everything."""
    prune_interval: float = 3600.0
    """How often the running notifier sweeps (the first sweep runs at start); 0 = never."""

    @classmethod
    def from_settings(cls, settings: AlertSettings, **overrides: Any) -> AlertOptions:
        base = cls(
            group_wait=settings.group_wait,
            repeat_interval=settings.repeat_interval,
            send_resolved=settings.send_resolved,
            locale=settings.locale,
            rate_limit=RateLimit(settings.rate_limit.messages, settings.rate_limit.period),
            rate_limits={
                r.name: RateLimit(r.rate_limit.messages, r.rate_limit.period)
                for r in settings.receivers
                if r.rate_limit is not None
            },
            max_detail=settings.max_detail,
            victims_with_cause=settings.victims_with_cause,
            max_attempts=settings.max_attempts,
            backoff_max=settings.backoff_max,
            template_dir=settings.template_dir,
            retention=settings.retention,
            alertmanager_per_category=any(
                r.alertmanager is not None and r.alertmanager.alertname == "per-category"
                for r in settings.receivers
            ),
        )
        return replace(base, **overrides)

    def rate_limit_for(self, receiver: str, *, human: bool) -> RateLimit | None:
        limit = self.rate_limits.get(receiver) or (self.rate_limit if human else None)
        if limit is None or limit.messages <= 0:
            return None
        return limit

    @property
    def hold(self) -> float:
        return self.alertmanager_hold or 2 * self.repeat_interval
