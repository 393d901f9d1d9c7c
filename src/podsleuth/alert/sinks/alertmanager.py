"""Alertmanager v2: ``POST /api/v2/alerts``, one alert per incident, ended on resolve.

Alertmanager ends an alert without ``endsAt`` after its ``resolve_timeout`` (5m by default),
which would make a long-open incident look resolved; so open alerts carry an explicit
``endsAt`` one ``hold`` in the future, refreshed by every update and re-notification, and a
resolve sets ``endsAt`` to the resolve time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import aiohttp

from podsleuth.alert.model import ChangePayload
from podsleuth.alert.sinks import Batch, SinkError, classify_status
from podsleuth.config import AlertmanagerReceiver
from podsleuth.redact import redact, url_secrets

_REMEMBER = 10_000


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _before(stamp: str, ts: float) -> bool:
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return False
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp() <= ts


def _alertname(category: str) -> str:
    return (
        "Podsleuth" + "".join(p.capitalize() for p in category.split("-"))
        if category
        else "PodsleuthIncident"
    )


def to_alert(
    change: ChangePayload, *, now: float, hold: float, per_category: bool, generator_url: str
) -> dict[str, Any]:
    i = change.incident
    labels = {
        "alertname": _alertname(i.category) if per_category else "PodsleuthIncident",
        "namespace": i.namespace,
        "pod": i.pod,
        "node": i.node,
        "container": i.container,
        "category": i.category,
        "severity": i.severity,
        "fingerprint": i.fingerprint or i.id,
        "workload": i.workload,
    }
    d = i.diagnosis
    annotations = {
        "summary": (d.summary if d and d.summary else "") or f"{i.category} {i.reason}: {i.workload}".strip(),
        "description": i.message,
        "root_cause": d.root_cause if d else "",
        "remediation": "\n".join(d.remediation) if d else "",
        "signature": i.signature or "",
        "count": str(i.count),
    }
    alert: dict[str, Any] = {
        "labels": {k: str(v) for k, v in labels.items() if v},
        "annotations": {k: v for k, v in annotations.items() if v},
        "endsAt": _rfc3339(now) if change.resolved else _rfc3339(now + hold),
    }
    if i.first_seen and _before(i.first_seen, now if change.resolved else now + hold):
        alert["startsAt"] = i.first_seen  # Alertmanager rejects the batch if startsAt > endsAt
    if generator_url:
        alert["generatorURL"] = generator_url
    return alert


class AlertmanagerSink:
    def __init__(
        self,
        config: AlertmanagerReceiver,
        *,
        clock: Any,
        hold: float,
        per_category: bool = False,
        target: str = "alertmanager",
    ) -> None:
        self.target = target
        self.endpoint = config.url.rstrip("/") + "/api/v2/alerts"
        self.timeout = config.timeout
        self.clock = clock
        self.hold = hold
        self.per_category = per_category
        self.description = f"alertmanager {redact(config.url)}"
        self.secrets = tuple(url_secrets(config.url))
        self._session: aiohttp.ClientSession | None = None
        self._labels: dict[str, dict[str, str]] = {}
        """Last label set per open incident (in memory: lost on restart, see docs/alerting.md)."""

    async def send(self, batch: Batch) -> None:
        now = float(self.clock())
        alerts = []
        # The label memory after this batch, committed only once Alertmanager accepted it, so a
        # failed send that is retried still ends the alert under its old label set.
        remembered: dict[str, dict[str, str] | None] = {}
        for c in batch.changes:
            alert = to_alert(c, now=now, hold=self.hold, per_category=self.per_category, generator_url="")
            alerts.append(alert)
            iid = c.incident.id
            previous = remembered[iid] if iid in remembered else self._labels.get(iid)
            if previous is not None and previous != alert["labels"]:
                # The pod, node or severity moved: end the alert under its old identity too.
                alerts.append({"labels": previous, "endsAt": _rfc3339(now)})
            remembered[iid] = None if c.resolved else alert["labels"]
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._session.post(
                self.endpoint, data=json.dumps(alerts), headers={"Content-Type": "application/json"}
            ) as resp:
                text = (await resp.text(errors="replace"))[:200].strip()
                if resp.status >= 300:
                    raise classify_status(resp.status, what=f"alertmanager ({text})")
        except TimeoutError:
            raise SinkError(f"alertmanager: no answer within {self.timeout:g}s") from None
        except aiohttp.ClientError as e:
            raise SinkError(f"alertmanager: {type(e).__name__}") from None
        for iid, labels in remembered.items():
            self._labels.pop(iid, None)
            if labels is not None:
                self._labels[iid] = labels  # re-inserted: the most recently used are kept
        while len(self._labels) > _REMEMBER:
            self._labels.pop(next(iter(self._labels)))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
