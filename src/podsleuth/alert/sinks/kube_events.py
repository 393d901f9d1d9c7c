"""A Kubernetes Event on the affected pod, so ``kubectl describe pod`` shows the root cause.

The sink does not talk to the API itself: it takes an async ``post(path, body)`` from the
caller (the watch command wires its API client), so alerting stays free of kube transport code
and RBAC needs only ``create`` on ``events``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from podsleuth.alert.model import ChangePayload
from podsleuth.alert.sinks import Batch, SinkError

PostFn = Callable[[str, dict[str, Any]], Awaitable[None]]


def _now(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def one_line(change: ChangePayload) -> str:
    i = change.incident
    d = i.diagnosis
    if change.resolved:
        text = f"podsleuth: {i.category} incident resolved"
    elif d and d.root_cause:
        text = f"{d.root_cause}" + (f" - {d.remediation[0]}" if d.remediation else "")
    else:
        text = f"podsleuth: {i.category} ({i.reason}): {i.message}"
    text = " ".join(text.split())
    return text[:1000]


def to_event(
    change: ChangePayload, *, now: float, instance: str, batch_id: str = ""
) -> tuple[str, dict[str, Any]] | None:
    i = change.incident
    if i.pod and i.namespace:
        involved = {"kind": "Pod", "apiVersion": "v1", "namespace": i.namespace, "name": i.pod}
        namespace = i.namespace
    elif i.node:
        involved = {"kind": "Node", "apiVersion": "v1", "name": i.node}
        namespace = "default"
    else:
        return None
    if change.resolved:
        reason, kind = "PodsleuthResolved", "Normal"
    else:
        reason = "RootCauseFound" if i.diagnosis and i.diagnosis.root_cause else "PodsleuthIncident"
        kind = "Warning"
    # Named after the batch, not the time: a retried delivery hits 409 AlreadyExists, not a twin.
    digest = hashlib.sha256(f"{i.id}\x00{change.event}\x00{batch_id}".encode()).hexdigest()[:10]
    subject = (i.pod or i.node or "incident")[:200]
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{subject}.podsleuth.{digest}", "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": one_line(change),
        "type": kind,
        "source": {"component": "podsleuth"},
        "reportingComponent": "podsleuth",
        "reportingInstance": instance,
        "firstTimestamp": _now(now),
        "lastTimestamp": _now(now),
        "count": 1,
    }
    return f"/api/v1/namespaces/{namespace}/events", body


class KubeEventsSink:
    def __init__(
        self,
        *,
        post: PostFn,
        clock: Callable[[], float],
        instance: str = "podsleuth",
        target: str = "kubernetes_events",
    ) -> None:
        self.target = target
        self.description = "kubernetes events"
        self.post = post
        self.clock = clock
        self.instance = instance

    async def send(self, batch: Batch) -> None:
        now = self.clock()
        for change in batch.changes:
            event = to_event(change, now=now, instance=self.instance, batch_id=batch.batch_id)
            if event is None:
                continue
            path, body = event
            try:
                await self.post(path, body)
            except SinkError:
                raise
            except Exception as e:  # the injected client's errors: retried by the outbox
                if getattr(e, "status", None) == 409:
                    continue  # already written by an earlier attempt of this delivery
                raise SinkError(f"kubernetes event: {type(e).__name__}: {str(e)[:200]}") from None

    async def aclose(self) -> None:
        return None
