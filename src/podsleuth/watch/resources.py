"""What to watch: the API path, the wire struct to decode, the slim object the pipeline gets.

Events come from events.k8s.io/v1 when served and from core/v1 otherwise; both normalize to
``KubeEvent`` so nothing downstream knows which API group answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from podsleuth.watch import objects

W = TypeVar("W")
T = TypeVar("T")

Ident = tuple[str, str, str, str]
"""(namespace, name, uid, resourceVersion) of one object."""


@dataclass(frozen=True)
class Resource(Generic[W, T]):
    name: str
    """Short name for logs and metric labels: pods, nodes, events."""
    group_version: str
    plural: str
    wire: type[W]
    ident: Callable[[T], Ident]
    convert: Callable[[W], T] | None = None
    """None: the wire struct is the slim object (no per-event call)."""
    namespaced: bool = True
    fallback: Resource[Any, T] | None = None
    """Used instead when this one's API group is not served (404)."""

    @property
    def api(self) -> str:
        return f"{self.group_version} {self.plural}"

    def path(self, namespace: str | None = None) -> str:
        root = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if namespace and self.namespaced:
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"


def _meta_ident(obj: objects.Pod | objects.Node) -> Ident:
    m = obj.metadata
    return (m.namespace, m.name, m.uid, m.resource_version)


def _event_ident(ev: objects.KubeEvent) -> Ident:
    return (ev.namespace, ev.name, ev.uid, ev.resource_version)


PODS: Resource[objects.Pod, objects.Pod] = Resource("pods", "v1", "pods", objects.Pod, _meta_ident)
NODES: Resource[objects.Node, objects.Node] = Resource(
    "nodes", "v1", "nodes", objects.Node, _meta_ident, namespaced=False
)
CORE_EVENTS: Resource[objects.CoreEvent, objects.KubeEvent] = Resource(
    "events", "v1", "events", objects.CoreEvent, _event_ident, convert=objects.event_from_core
)
EVENTS: Resource[objects.EventV1, objects.KubeEvent] = Resource(
    "events", "events.k8s.io/v1", "events", objects.EventV1, _event_ident,
    convert=objects.event_from_v1, fallback=CORE_EVENTS,
)
