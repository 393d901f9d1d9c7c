"""Slim structs of the objects only diagnosis reads (one GET each, never cached).

The watch structs (``podsleuth.watch.objects``) stay lean for 100,000 cached pods; diagnosis
needs a few more fields of a handful of objects: pod IP (to reach a node agent), image pull
secrets, probe endpoints, PVC -> PV -> CSI driver, volume handle and attributes (``mounter:
fuse``), node allocatable and the drivers registered on a node (CSINode).
"""

from __future__ import annotations

import msgspec

from podsleuth.watch.objects import (
    ContainerStatus,
    CoreEvent,
    NodeCondition,
    ObjectMeta,
    PodCondition,
    ResourceRequirements,
    Taint,
    Volume,
    VolumeMount,
)


class _Wire(msgspec.Struct, rename="camel", omit_defaults=True):
    pass


class HttpGet(_Wire):
    path: str | None = None
    port: int | str | None = None
    scheme: str | None = None
    host: str | None = None


class PortRef(_Wire):
    port: int | str | None = None


class ExecAction(_Wire):
    command: list[str] | None = None


class ProbeSpec(_Wire):
    http_get: HttpGet | None = None
    tcp_socket: PortRef | None = None
    grpc: PortRef | None = None
    exec: ExecAction | None = None
    timeout_seconds: int | None = None
    failure_threshold: int | None = None


class ContainerSpec(_Wire):
    name: str = ""
    image: str = ""
    volume_mounts: list[VolumeMount] | None = None
    resources: ResourceRequirements | None = None
    liveness_probe: ProbeSpec | None = None
    readiness_probe: ProbeSpec | None = None
    startup_probe: ProbeSpec | None = None


class LocalRef(_Wire):
    name: str = ""


class PodSpecFull(_Wire):
    node_name: str | None = None
    containers: list[ContainerSpec] = msgspec.field(default_factory=list)
    init_containers: list[ContainerSpec] | None = None
    volumes: list[Volume] | None = None
    image_pull_secrets: list[LocalRef] | None = None
    node_selector: dict[str, str] | None = None
    service_account_name: str | None = None


class PodStatusFull(_Wire):
    phase: str | None = None
    reason: str | None = None
    message: str | None = None
    pod_ip: str | None = msgspec.field(default=None, name="podIP")
    host_ip: str | None = msgspec.field(default=None, name="hostIP")
    qos_class: str | None = None
    conditions: list[PodCondition] | None = None
    container_statuses: list[ContainerStatus] | None = None
    init_container_statuses: list[ContainerStatus] | None = None


class PodFull(_Wire):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PodSpecFull = msgspec.field(default_factory=PodSpecFull)
    status: PodStatusFull = msgspec.field(default_factory=PodStatusFull)


class PodList(_Wire):
    items: list[PodFull] = msgspec.field(default_factory=list)


class CoreEventList(_Wire):
    items: list[CoreEvent] = msgspec.field(default_factory=list)


class PvcSpec(_Wire):
    volume_name: str | None = None
    storage_class_name: str | None = None


class Phase(_Wire):
    phase: str | None = None


class Pvc(_Wire):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PvcSpec = msgspec.field(default_factory=PvcSpec)
    status: Phase = msgspec.field(default_factory=Phase)


class CsiSource(_Wire):
    driver: str = ""
    volume_handle: str = ""
    volume_attributes: dict[str, str] | None = None


class SelectorRequirement(_Wire):
    key: str = ""
    operator: str = ""
    values: list[str] | None = None


class SelectorTerm(_Wire):
    match_expressions: list[SelectorRequirement] | None = None


class NodeSelector(_Wire):
    node_selector_terms: list[SelectorTerm] | None = None


class VolumeNodeAffinity(_Wire):
    required: NodeSelector | None = None

    def words(self) -> str:
        """``topology.kubernetes.io/zone in us-east-1a`` (terms ORed, expressions ANDed)."""
        terms = (self.required.node_selector_terms or []) if self.required else []
        return " or ".join(
            " and ".join(
                f"{e.key} {e.operator.lower()} {','.join(e.values or [])}".strip()
                for e in t.match_expressions or []
            )
            for t in terms
        )


class PvSpec(_Wire):
    csi: CsiSource | None = None
    node_affinity: VolumeNodeAffinity | None = None
    mount_options: list[str] | None = None
    storage_class_name: str | None = None


class Pv(_Wire):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PvSpec = msgspec.field(default_factory=PvSpec)
    status: Phase = msgspec.field(default_factory=Phase)


class NodeSpecFull(_Wire):
    unschedulable: bool | None = None
    taints: list[Taint] | None = None


class NodeStatusFull(_Wire):
    conditions: list[NodeCondition] | None = None
    allocatable: dict[str, str] | None = None


class NodeFull(_Wire):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: NodeSpecFull = msgspec.field(default_factory=NodeSpecFull)
    status: NodeStatusFull = msgspec.field(default_factory=NodeStatusFull)


class VolumeNodeResources(_Wire):
    count: int | None = None


class CsiNodeDriver(_Wire):
    name: str = ""
    node_id: str | None = msgspec.field(default=None, name="nodeID")
    allocatable: VolumeNodeResources | None = None


class CsiNodeSpec(_Wire):
    drivers: list[CsiNodeDriver] | None = None


class CsiNode(_Wire):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: CsiNodeSpec = msgspec.field(default_factory=CsiNodeSpec)
