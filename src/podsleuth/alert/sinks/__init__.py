"""Sinks: where a batch of incident changes is delivered.

A sink either returns (delivered), raises ``SinkError`` (transient: the outbox retries with
backoff) or ``SinkRejected`` (the receiver refused the payload for good: dead-lettered at once,
retrying cannot help). Error messages must already be free of secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from podsleuth.alert.model import ChangePayload, decode_change
from podsleuth.errors import DeliveryError


class SinkError(DeliveryError):
    """A transient delivery failure (connection refused, timeout, 5xx, 429)."""


class SinkRejected(SinkError):
    """A permanent failure (4xx other than 408/429): the payload will never be accepted."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Incident changes grouped into one notification for one receiver."""

    batch_id: str
    receiver: str
    changes: list[ChangePayload]
    created_at: float
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Batch:
        return cls(
            batch_id=str(payload["batch_id"]),
            receiver=str(payload["receiver"]),
            changes=[decode_change(c) for c in payload["changes"]],
            created_at=float(payload["created_at"]),
            meta=dict(payload.get("meta") or {}),
        )


class Sink(Protocol):
    target: str
    """Stable id within the receiver (``webhook``, ``apprise:0``): the outbox key of a delivery."""
    description: str
    """Redacted, for logs."""

    async def send(self, batch: Batch) -> None: ...

    async def aclose(self) -> None: ...


def classify_status(status: int, *, what: str) -> SinkError:
    """Map an HTTP error status to transient or permanent."""
    if status in (408, 425, 429) or status >= 500:
        return SinkError(f"{what}: HTTP {status}")
    return SinkRejected(f"{what}: HTTP {status} (rejected)")
