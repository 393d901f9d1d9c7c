"""The incident values the tracker hands out: immutable snapshots and the changes carrying them.

Split from ``incidents`` (the tracker that makes them), which re-exports these names.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from podsleuth.detect.anomaly import Severity, Termination, rfc3339
from podsleuth.detect.owner import Owner
from podsleuth.detect.rules_event import EventRecord

ChangeKind = Literal["incident.opened", "incident.updated", "incident.resolved"]
NODE_CAUSES = frozenset({"node-not-ready", "node-pressure"})
"""Node incident categories a pod incident on that node links to (``node_incident``)."""


class Incident(msgspec.Struct, frozen=True, kw_only=True):
    """An immutable snapshot of one incident, as handed to the store, notifier and diagnoser."""

    id: str
    fingerprint: str
    category: str
    reason: str
    signature: str | None
    severity: Severity
    namespace: str | None
    pod: str | None
    node: str | None
    container: str | None
    owner: Owner
    message: str
    count: int
    first_seen: datetime
    last_seen: datetime
    diagnosis: object | None = None
    """The diagnosis the runner attached: a ``podsleuth.diagnose.diagnosis.Diagnosis`` (a
    msgspec Struct; ``diagnose.diagnosis.as_diagnosis`` types it), or its JSON dict when read
    back from the store (``resume``). Opaque here: detect sits below diagnose in the layers
    (tests/test_layers.py) and only carries it and encodes it in ``to_contract``."""
    pods: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    condition: str | None = None
    restart_count: int | None = None
    last_termination: Termination | None = None
    events: tuple[EventRecord, ...] = ()
    logs: tuple[str, ...] | None = None
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    wants_logs: bool = False
    resolved_at: datetime | None = None
    node_incident: str | None = None
    """A pod incident on a node that is NotReady or under pressure: that node incident's id
    (the pod's failure is likely the node's doing)."""
    cluster: str | None = None
    """The watcher's cluster name (config ``cluster.name``, default the kubeconfig context)."""

    def to_contract(self) -> dict[str, Any]:
        """CONTRACT.md's ``incident`` object (RFC3339 UTC times), plus the extra keys."""
        lt = self.last_termination
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "category": self.category,
            "reason": self.reason,
            "signature": self.signature,
            "severity": self.severity,
            "namespace": self.namespace,
            "pod": self.pod,
            "node": self.node,
            "container": self.container,
            "owner": {"kind": self.owner.kind, "name": self.owner.name},
            "message": self.message,
            "count": self.count,
            "first_seen": rfc3339(self.first_seen),
            "last_seen": rfc3339(self.last_seen),
            "diagnosis": _contract(self.diagnosis),
            "pods": list(self.pods),
            "nodes": list(self.nodes),
            "condition": self.condition,
            "restart_count": self.restart_count,
            "last_termination": None
            if lt is None
            else {"reason": lt.reason, "exit_code": lt.exit_code, "finished_at": rfc3339(lt.finished_at)},
            "events": [e.to_contract() for e in self.events],
            "logs": None if self.logs is None else list(self.logs),
            "labels": dict(self.labels),
            "resolved_at": rfc3339(self.resolved_at),
            "node_incident": self.node_incident,
            "cluster": self.cluster,
        }


class IncidentChange(msgspec.Struct, frozen=True, kw_only=True):
    """One line of ``watch --output json``. ``wants_logs``: fetch the previous container's log
    lines for ``incident.pod``/``incident.container`` and hand them to ``Detector.attach_logs``."""

    kind: ChangeKind
    incident: Incident
    wants_logs: bool = False

    def to_contract(self) -> dict[str, Any]:
        return {"event": self.kind, "incident": self.incident.to_contract()}


@runtime_checkable
class _HasContract(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def _contract(diagnosis: object) -> Any:
    """A diagnosis's JSON form: its own ``to_dict`` (the typed one), else the stored dict as is."""
    if isinstance(diagnosis, _HasContract):
        return diagnosis.to_dict()
    return msgspec.to_builtins(diagnosis, enc_hook=str)


def node_key(name: str) -> tuple[str, str]:
    """The subject key of a node; a namespace never contains NUL: no clash with pod keys."""
    return ("\x00node", name)


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """Who the anomalies are about: a pod (with its workload) or a node."""

    key: Hashable
    uid: str
    namespace: str | None
    pod: str | None
    node: str | None
    owner: Owner
    labels: dict[str, str] | None = None
