"""The fake API server's object store: one global resourceVersion, a bounded event history.

Objects are kept serialized (bytes) next to the few values selectors need, so the server can
hold 100,000 realistic pods and answer list pages by joining bytes, the way a watch cache does.
The history is what watches resume from; anything older than its window is "too old" (410).
"""

from __future__ import annotations

import base64
import bisect
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from podsleuth.lab.fake_apiserver.selectors import field_values


@dataclass(frozen=True)
class Kind:
    """One served resource: ``group_version`` is ``v1`` for the core group."""

    group_version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.group_version.rpartition("/")[0]

    @property
    def key(self) -> str:
        """How tests name it: ``pods`` for core, ``events.k8s.io/events`` for a group."""
        return f"{self.group}/{self.plural}" if self.group else self.plural


DEFAULT_KINDS = (
    Kind("v1", "pods", "Pod", True),
    Kind("v1", "nodes", "Node", False),
    Kind("v1", "events", "Event", True),
    Kind("events.k8s.io/v1", "events", "Event", True),
    Kind("v1", "namespaces", "Namespace", False),
    Kind("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True),
    Kind("v1", "persistentvolumes", "PersistentVolume", False),
    Kind("apps/v1", "replicasets", "ReplicaSet", True),
    Kind("apps/v1", "deployments", "Deployment", True),
    Kind("coordination.k8s.io/v1", "leases", "Lease", True),
)


@dataclass(slots=True)
class Entry:
    namespace: str
    name: str
    rv: int
    labels: dict[str, str]
    fields: dict[str, str]
    raw: bytes


@dataclass(slots=True, frozen=True)
class Record:
    """One history record: what a watch replays or receives live."""

    rv: int
    kind: str
    type: str
    entry: Entry


Listener = Callable[[Record], None]


@dataclass
class Store:
    kinds: Iterable[Kind] = DEFAULT_KINDS
    window: int = 10_000
    rv: int = 1
    floor: int = 1
    """Watches from a resourceVersion below this get 410: it fell out of the history window."""
    compacted: int = 0
    """Continue tokens of lists older than this get 410."""
    by_key: dict[str, Kind] = field(default_factory=dict)
    objects: dict[str, dict[tuple[str, str], Entry]] = field(default_factory=dict)
    order: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    history: deque[Record] = field(default_factory=deque)
    listeners: set[Listener] = field(default_factory=set)

    def __post_init__(self) -> None:
        for kind in self.kinds:
            self.register(kind)

    def register(self, kind: Kind) -> None:
        self.by_key[kind.key] = kind
        self.objects.setdefault(kind.key, {})
        self.order.setdefault(kind.key, [])

    def lookup(self, group_version: str, plural: str) -> Kind | None:
        group = group_version.rpartition("/")[0]
        return self.by_key.get(f"{group}/{plural}" if group else plural)

    # ---- writes --------------------------------------------------------------------------

    def put(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace; bumps the resourceVersion and notifies watches."""
        kind = self.by_key[key]
        meta = obj.setdefault("metadata", {})
        name = meta.get("name") or f"{meta.get('generateName', 'obj-')}{uuid.uuid4().hex[:5]}"
        meta["name"] = name
        namespace = meta.setdefault("namespace", "default") if kind.namespaced else ""
        old = self.objects[kind.key].get((namespace, name))
        if "uid" not in meta:
            meta["uid"] = _uid_of(old) if old else str(uuid.uuid4())
        meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        obj["kind"], obj["apiVersion"] = kind.kind, kind.group_version
        labels = dict(meta.get("labels") or {})
        entry = Entry(namespace, name, self.rv, labels, field_values(obj), _dumps(obj))
        self.objects[kind.key][(namespace, name)] = entry
        if old is None:
            bisect.insort(self.order[kind.key], (namespace, name))
        self._record(Record(self.rv, kind.key, "MODIFIED" if old else "ADDED", entry))
        return obj

    def delete(self, key: str, namespace: str, name: str) -> dict[str, Any] | None:
        kind = self.by_key[key]
        entry = self.objects[kind.key].pop((namespace if kind.namespaced else "", name), None)
        if entry is None:
            return None
        keys = self.order[kind.key]
        del keys[bisect.bisect_left(keys, (entry.namespace, entry.name))]
        self.rv += 1
        obj: dict[str, Any] = msgspec.json.decode(entry.raw)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        gone = Entry(entry.namespace, entry.name, self.rv, entry.labels, entry.fields, _dumps(obj))
        self._record(Record(self.rv, kind.key, "DELETED", gone))
        return obj

    def compact(self) -> None:
        """Forget all history: older watches and continue tokens now get 410.

        The resourceVersion moves on by one so that lists served from now on are not expired.
        """
        self.history.clear()
        self.rv += 1
        self.floor = self.compacted = self.rv

    def _record(self, record: Record) -> None:
        if len(self.history) >= self.window:
            self.floor = self.history.popleft().rv
        self.history.append(record)
        for listener in list(self.listeners):
            listener(record)

    # ---- reads ---------------------------------------------------------------------------

    def get(self, key: str, namespace: str, name: str) -> Entry | None:
        return self.objects[key].get((namespace, name))

    def scan(self, key: str, *, namespace: str | None, start: tuple[str, str] | None) -> Iterator[Entry]:
        """Entries in (namespace, name) order, strictly after ``start``."""
        keys, objects = self.order[key], self.objects[key]
        if namespace is not None:
            lo = bisect.bisect_right(keys, start) if start else bisect.bisect_left(keys, (namespace, ""))
        else:
            lo = bisect.bisect_right(keys, start) if start else 0
        for i in range(lo, len(keys)):
            ns_name = keys[i]
            if namespace is not None and ns_name[0] != namespace:
                return
            yield objects[ns_name]

    def since(self, key: str, rv: int) -> list[Record]:
        return [r for r in self.history if r.rv > rv and r.kind == key]


def encode_continue(rv: int, start: tuple[str, str]) -> str:
    data = {"v": "meta.k8s.io/v1", "rv": rv, "start": f"{start[0]}/{start[1]}\u0000"}
    return base64.urlsafe_b64encode(msgspec.json.encode(data)).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    """Raises ValueError for a token this server did not issue."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    data = msgspec.json.decode(raw)
    ns, _, name = str(data["start"]).rstrip("\u0000").partition("/")
    return int(data["rv"]), (ns, name)


def _uid_of(entry: Entry) -> str:
    return str(msgspec.json.decode(entry.raw)["metadata"]["uid"])


def _dumps(obj: dict[str, Any]) -> bytes:
    return msgspec.json.encode(obj)
