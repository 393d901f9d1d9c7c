"""Share the repeated strings and label sets of cached pods.

100,000 cached pods carry 100,000 copies of the same namespace names, owner kinds, node
names, condition types, container names and label sets (every replica of a Deployment has the
same labels). Replacing the copies with one shared object cuts the watch cache by half
(3.2 KiB -> 1.5 KiB per realistic pod), which is what keeps 100,000 pods under the memory
target. Pods are mutated in place.

``Interner.pod`` (a table lookup per string, ~2-3 µs) runs at once for pods new to the cache:
the initial list and ADDED events. MODIFIED events, the bulk of a stream, are cached as decoded
and shared later, in one pass (``Deferred``): a pod that changes ten times before the pass is
shared once, not ten times. Sharing MODIFIED pods at once (taking the shared objects over from
the cached previous version) cost 3-4 µs per event, a fifth of the whole watch path
(``docs/performance.md``); not sharing them would double the memory of every pod that changed.

Sharing replaces values by equal ones (strings, timestamps, label dicts), so doing it to a pod
that the detector has already seen changes nothing it can observe: cached pods are values,
never mutated by readers, and everything runs on one event loop.
"""

from __future__ import annotations

from datetime import datetime

from podsleuth.watch.objects import Pod

Key = tuple[str, str]

MAX_ENTRIES = 200_000
"""Tables are dropped and rebuilt past this size, so high-cardinality values (a label unique to
each pod) cannot grow them without bound; sharing then restarts from the next pods."""


class Interner:
    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        self._labels: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self._times: dict[datetime, datetime] = {}
        """Timestamps are second-precision: a rollout's pods, and a pod's own conditions, share them."""

    def _s(self, value: str) -> str:
        return self._strings.setdefault(value, value)

    def pod(self, pod: Pod) -> Pod:
        if max(len(self._strings), len(self._labels), len(self._times)) > MAX_ENTRIES:
            self._strings.clear()
            self._labels.clear()
            self._times.clear()
        t = self._times.setdefault
        s = self._strings.setdefault
        meta = pod.metadata
        meta.namespace = s(meta.namespace, meta.namespace)
        if meta.creation_timestamp is not None:
            meta.creation_timestamp = t(meta.creation_timestamp, meta.creation_timestamp)
        labels = meta.labels
        if labels:
            meta.labels = self._labels.setdefault(tuple(labels.items()), labels)
        for ref in meta.owner_references or ():
            ref.kind = s(ref.kind, ref.kind)
            ref.name = s(ref.name, ref.name)
        node = pod.spec.node_name
        if node is not None:
            pod.spec.node_name = s(node, node)
        status = pod.status
        if status.phase is not None:
            status.phase = s(status.phase, status.phase)
        if status.start_time is not None:
            status.start_time = t(status.start_time, status.start_time)
        for cond in status.conditions or ():
            cond.type = s(cond.type, cond.type)
            cond.status = s(cond.status, cond.status)
            if cond.reason is not None:
                cond.reason = s(cond.reason, cond.reason)
            if cond.last_transition_time is not None:
                cond.last_transition_time = t(cond.last_transition_time, cond.last_transition_time)
        for statuses in (status.container_statuses, status.init_container_statuses):
            for cs in statuses or ():
                cs.name = s(cs.name, cs.name)
        return pod


UNSHARED_MAX = 8192
"""At most this many cached pods wait unshared (~1.7 KiB more each: ~14 MiB at worst), whatever
the stream: the bound on what deferring costs in memory."""
EVENTS_PER_PASS = 32
"""A pass runs once the stream brought this many MODIFIED events per waiting pod: the pass
costs at most 1/32 of sharing every event, and a pod changing often is shared once."""
QUIET_READ = 8
"""A network read that brought at most this many MODIFIED events means the stream is quiet:
share what waits now. A quiet cluster (tens of events per second, each pod a different one)
would otherwise keep up to ``UNSHARED_MAX`` pods unshared for hours (+14 MiB at 100,000 pods,
measured by bench/idle.py); a busy stream reads hundreds of events at a time and defers."""


class Deferred:
    """Keys of cached pods decoded but not yet shared; ``share`` shares them in one pass.

    The reflector notes a key per MODIFIED event (a dict store) and asks ``due`` once per
    network read. No clock and no timer: a quiet stream shares after each small read
    (``QUIET_READ``), a busy one every ``EVENTS_PER_PASS`` events per noted pod, a stream of
    always-new pods at ``UNSHARED_MAX`` (one ``Interner.pod`` per event, as cheap as sharing at
    once).
    """

    __slots__ = ("_seen", "events", "interner", "keys")

    def __init__(self, interner: Interner) -> None:
        self.interner = interner
        self.keys: dict[Key, None] = {}
        """Insertion-ordered set of the waiting keys."""
        self.events = 0
        """MODIFIED events noted since the last pass."""
        self._seen = 0
        """``events`` at the previous ``due``: what one network read brought is the difference."""

    def due(self) -> bool:
        """Asked once per network read: share now?"""
        waiting, this_read = len(self.keys), self.events - self._seen
        self._seen = self.events
        if waiting == 0:
            return False
        return waiting >= UNSHARED_MAX or self.events >= EVENTS_PER_PASS * waiting or this_read <= QUIET_READ

    def share(self, cache: dict[Key, Pod]) -> int:
        """Share the waiting pods still cached (deleted ones are gone); how many were shared."""
        pod, shared = self.interner.pod, 0
        for key in self.keys:
            obj = cache.get(key)
            if obj is not None:
                pod(obj)
                shared += 1
        self.clear()
        return shared

    def clear(self) -> None:
        """Nothing waits any more (a re-list replaced the cache with shared pods)."""
        self.keys.clear()
        self.events = self._seen = 0
