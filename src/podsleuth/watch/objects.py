"""Slim msgspec structs of the Kubernetes objects podsleuth reads.

Only the fields that detection and diagnosis use are declared; msgspec skips everything else
(managedFields, annotations, spec details) without building it, which is what makes decoding
a 6 KB pod cost microseconds instead of the official client's millisecond. Wire names are the
API's camelCase (``rename="camel"``); Python names are snake_case. Every field has a default so
that objects from any Kubernetes version, or partial objects, decode; enum-like fields are
plain strings for the same reason. An object that still does not fit is repaired or skipped
alone by ``lenient``, never failing its list page.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from podsleuth.kube.errors import StatusDetails


class _Slim(msgspec.Struct, rename="camel", omit_defaults=True, gc=False):
    """Base of the wire structs. Treat instances as immutable: caches share them between stages.

    ``gc=False``: these trees never form reference cycles, and keeping 100,000 cached pods
    (a few hundred thousand structs) out of the cyclic collector's scans is a large saving.
    (Not ``frozen=True``: mypy's dataclass_transform then rejects every subclass.)
    """


class Present(_Slim):
    """A field whose presence matters but whose content we never read (decoded without building it)."""


class OwnerReference(_Slim):
    kind: str = ""
    name: str = ""
    controller: bool | None = None


class ObjectMeta(_Slim):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    labels: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    deletion_grace_period_seconds: int | None = None


class ListMeta(_Slim):
    resource_version: str = ""
    # the wire name is "continue", a Python keyword
    continue_: str | None = msgspec.field(default=None, name="continue")
    remaining_item_count: int | None = None


# ---- Pod -------------------------------------------------------------------------------------


class StateWaiting(_Slim):
    reason: str | None = None
    message: str | None = None


class StateRunning(_Slim):
    """Running: its presence is what matters (since when is read from a fresh GET if needed)."""


class StateTerminated(_Slim):
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None
    finished_at: datetime | None = None


class ContainerState(_Slim):
    waiting: StateWaiting | None = None
    running: StateRunning | None = None
    terminated: StateTerminated | None = None


class ContainerStatus(_Slim):
    name: str = ""
    ready: bool = False
    restart_count: int = 0
    state: ContainerState | None = None
    last_state: ContainerState | None = None


ConditionStatus = str
"""Today "True", "False" or "Unknown". Not a Literal: a value a newer Kubernetes adds must decode
(kept as the string, "not known good" to the rules) instead of failing the whole list page.
The interner shares the strings of cached pods, which is what the Literal used to buy."""
PodPhase = str
"""Pending, Running, Succeeded, Failed, Unknown today; a str for the same reason."""


class PodCondition(_Slim):
    type: str = ""
    status: ConditionStatus = ""
    reason: str | None = None
    message: str | None = None
    last_transition_time: datetime | None = None


class ClaimRef(_Slim):
    claim_name: str = ""
    read_only: bool | None = None


class NamedRef(_Slim):
    """configMap / secret / csi volume sources: the name (or secretName / driver) they point at."""

    name: str | None = None
    secret_name: str | None = None
    driver: str | None = None
    optional: bool | None = None


class PathRef(_Slim):
    """hostPath / nfs volume sources."""

    path: str = ""
    server: str | None = None
    type: str | None = None


class Volume(_Slim):
    name: str = ""
    persistent_volume_claim: ClaimRef | None = None
    config_map: NamedRef | None = None
    secret: NamedRef | None = None
    csi: NamedRef | None = None
    host_path: PathRef | None = None
    nfs: PathRef | None = None
    empty_dir: Present | None = None
    projected: Present | None = None


class VolumeMount(_Slim):
    name: str = ""
    mount_path: str = ""
    sub_path: str | None = None
    read_only: bool | None = None


class Probe(_Slim):
    http_get: Present | None = None
    tcp_socket: Present | None = None
    exec: Present | None = None
    grpc: Present | None = None
    failure_threshold: int | None = None
    period_seconds: int | None = None


class ResourceRequirements(_Slim):
    limits: dict[str, str] | None = None
    requests: dict[str, str] | None = None


class Container(_Slim):
    name: str = ""
    image: str = ""
    volume_mounts: list[VolumeMount] | None = None
    resources: ResourceRequirements | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None


class PodSpec(_Slim):
    """What the watch cache keeps of a pod spec: enough for detection and grouping. Volumes,
    mounts, resources and probes are read by diagnosis from a fresh GET (``PodDetail``), so
    100,000 cached pods do not carry them."""

    node_name: str | None = None
    restart_policy: str | None = None
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None


class PodSpecDetail(PodSpec):
    service_account_name: str | None = None
    containers: list[Container] = msgspec.field(default_factory=list)
    init_containers: list[Container] | None = None
    volumes: list[Volume] | None = None


class PodStatus(_Slim):
    phase: PodPhase | None = None
    reason: str | None = None
    message: str | None = None
    start_time: datetime | None = None
    conditions: list[PodCondition] | None = None
    container_statuses: list[ContainerStatus] | None = None
    init_container_statuses: list[ContainerStatus] | None = None


class Pod(_Slim):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)


class PodDetail(_Slim):
    """A pod as diagnosis reads it (one GET per diagnosis): the spec's volumes, containers,
    resources and probes included."""

    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PodSpecDetail = msgspec.field(default_factory=PodSpecDetail)
    status: PodStatus = msgspec.field(default_factory=PodStatus)


# ---- Node ------------------------------------------------------------------------------------


class NodeCondition(_Slim):
    type: str = ""
    status: ConditionStatus = ""
    reason: str | None = None
    message: str | None = None
    last_heartbeat_time: datetime | None = None
    last_transition_time: datetime | None = None


class Taint(_Slim):
    key: str = ""
    value: str | None = None
    effect: str = ""


class NodeSpec(_Slim):
    unschedulable: bool | None = None
    taints: list[Taint] | None = None


class NodeStatus(_Slim):
    conditions: list[NodeCondition] | None = None


class Node(_Slim):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus = msgspec.field(default_factory=NodeStatus)


# ---- Event -----------------------------------------------------------------------------------


class ObjectRef(_Slim):
    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    field_path: str | None = None


class EventSeries(_Slim):
    count: int = 0
    last_observed_time: datetime | None = None


class EventSource(_Slim):
    component: str | None = None
    host: str | None = None


class EventV1(_Slim):
    """events.k8s.io/v1 Event on the wire."""

    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    regarding: ObjectRef = msgspec.field(default_factory=ObjectRef)
    reason: str = ""
    note: str = ""
    type: str = ""
    event_time: datetime | None = None
    series: EventSeries | None = None
    reporting_controller: str | None = None
    reporting_instance: str | None = None
    deprecated_count: int | None = None
    deprecated_first_timestamp: datetime | None = None
    deprecated_last_timestamp: datetime | None = None
    deprecated_source: EventSource | None = None


class CoreEvent(_Slim):
    """core/v1 Event on the wire (the fallback when events.k8s.io/v1 is not served)."""

    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    involved_object: ObjectRef = msgspec.field(default_factory=ObjectRef)
    reason: str = ""
    message: str = ""
    type: str = ""
    count: int | None = None
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    event_time: datetime | None = None
    source: EventSource | None = None
    reporting_component: str | None = None


class KubeEvent(msgspec.Struct, frozen=True):
    """One Event, whichever API group it came from; what detection and diagnosis read."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    reason: str
    message: str
    type: str
    regarding: ObjectRef
    count: int
    first_time: datetime | None
    last_time: datetime | None
    source: str | None
    host: str | None


def event_from_v1(ev: EventV1) -> KubeEvent:
    count = ev.series.count if ev.series else (ev.deprecated_count or 1)
    series_last = ev.series.last_observed_time if ev.series else None
    last = series_last or ev.deprecated_last_timestamp or ev.event_time
    host = ev.deprecated_source.host if ev.deprecated_source else None
    return KubeEvent(
        namespace=ev.metadata.namespace,
        name=ev.metadata.name,
        uid=ev.metadata.uid,
        resource_version=ev.metadata.resource_version,
        reason=ev.reason,
        message=ev.note,
        type=ev.type,
        regarding=ev.regarding,
        count=max(count, 1),
        first_time=ev.deprecated_first_timestamp or ev.event_time,
        last_time=last,
        source=ev.reporting_controller or (ev.deprecated_source.component if ev.deprecated_source else None),
        host=host,
    )


def event_from_core(ev: CoreEvent) -> KubeEvent:
    return KubeEvent(
        namespace=ev.metadata.namespace,
        name=ev.metadata.name,
        uid=ev.metadata.uid,
        resource_version=ev.metadata.resource_version,
        reason=ev.reason,
        message=ev.message,
        type=ev.type,
        regarding=ev.involved_object,
        count=max(ev.count or 1, 1),
        first_time=ev.first_timestamp or ev.event_time,
        last_time=ev.last_timestamp or ev.event_time or ev.first_timestamp,
        source=(ev.source.component if ev.source else None) or ev.reporting_component,
        host=ev.source.host if ev.source else None,
    )


class Status(_Slim):
    """A metav1.Status, as sent in ERROR watch events and error responses."""

    kind: str = ""
    status: str = ""
    message: str = ""
    reason: str = ""
    code: int = 0
    details: StatusDetails | None = None
    """Only ``retryAfterSeconds`` is read (a 429 in a stream)."""
