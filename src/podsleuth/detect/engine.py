"""The Detector: watch changes + time in, incident changes out. Pure: no I/O, no clock, no asyncio.

The caller (the watch loop) feeds every change and sleeps until ``next_deadline()``, then calls
``tick(now)``; that is how time-based rules (stuck ContainerCreating, Pending, Terminating,
persisting probe failures, NotReady nodes, quiet-period resolution) fire on time.

Hot path: most pod updates are healthy running pods. ``on_pod`` answers those with a couple of
attribute reads and two dict lookups; only pods that are not plainly healthy, or that the
detector already has an interest in (stored, evidence, incident membership), are evaluated. A
kept pod whose last evaluation found nothing (Running and ready after an old OOM kill) is not
evaluated again while a MODIFIED event changes nothing the rules read.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from podsleuth.config import IgnoreRule, WatchSettings
from podsleuth.detect.anomaly import Catalog, load_catalog
from podsleuth.detect.filters import DEFAULT_IGNORE, Filters
from podsleuth.detect.incidents import NODE_CAUSES, Incident, IncidentChange, Subject, Tracker, node_key
from podsleuth.detect.owner import Owner, resolve_owner
from podsleuth.detect.rules_event import EventEvidence, event_category, event_reason, event_record
from podsleuth.detect.rules_node import evaluate_node
from podsleuth.detect.rules_pod import evaluate_pod
from podsleuth.detect.timers import Timers
from podsleuth.watch.objects import KubeEvent, Node, Pod, PodStatus

PodKey = tuple[str, str]
EVIDENCE_TTL = timedelta(hours=1)
"""Event memory of a pod we have no other interest in is forgotten after this long."""
SWEEP_EVERY = timedelta(minutes=10)
EVENTS_SYNC_WAIT = timedelta(minutes=2)
"""How long a stuck pod's "no event explains it" waits for the initial event list at most (the
event list may be forbidden or failing: the vague incident then still comes, late)."""


@dataclass(slots=True)
class _Watched:
    """A pod (or node) the detector keeps because something about it may still change."""

    obj: Pod | Node
    first_seen: datetime
    quiet: bool = False
    """Its last evaluation found nothing, set no deadline, had no event evidence and no
    incident: the same pod again (``_same_for_rules``) cannot answer differently."""


def _plainly_healthy(st: PodStatus) -> bool:
    """Running with every container ready and no recent-OOM hint, or Succeeded."""
    phase = st.phase
    if phase == "Running":
        css = st.container_statuses
        if not css:
            return False
        for cs in css:
            if not cs.ready:
                return False
            ls = cs.last_state
            if ls is not None and ls.terminated is not None and ls.terminated.reason == "OOMKilled":
                return False
        return True
    if phase != "Succeeded":
        return False
    for cs in st.container_statuses or ():  # an OOM kill can end in exit code 0 and Succeeded
        state = cs.state
        if state is not None and state.terminated is not None and state.terminated.reason == "OOMKilled":
            return False
    return True


def _same_for_rules(old: Pod, new: Pod) -> bool:
    """Everything ``evaluate_pod`` reads is equal (msgspec struct equality, in C): a MODIFIED
    event that moved only fields the rules ignore (resourceVersion, annotations, labels)."""
    om, nm = old.metadata, new.metadata
    return (
        nm.deletion_timestamp is None
        and om.uid == nm.uid
        and old.status == new.status
        and old.spec == new.spec
        and om.creation_timestamp == nm.creation_timestamp
    )


class Detector:
    """See the module docstring. Construct once per watch; all methods take the current time."""

    def __init__(
        self,
        settings: WatchSettings,
        *,
        classify: Callable[[str, str | None], str | None] | None = None,
        catalog: Catalog | None = None,
        default_ignore: Sequence[IgnoreRule] | None = None,
        await_events: bool = False,
        cluster: str = "",
    ) -> None:
        """``cluster``: stamped on incidents and part of their fingerprints.
        ``await_events``: the caller reports ``on_synced("events", ...)``; until then stuck
        pods are not called unexplained (pods are listed before events at start-up)."""
        self._th = settings.thresholds
        self._catalog = catalog if catalog is not None else load_catalog()
        self._timers = Timers()
        self._tracker = Tracker(
            catalog=self._catalog,
            timers=self._timers,
            resolve_after=self._th.resolve_after,
            classify=classify,
            collect_logs=settings.collect_logs,
            cluster=cluster,
        )
        if default_ignore is None:
            default_ignore = DEFAULT_IGNORE if settings.default_ignore else ()
        self._filters = Filters(settings, default_ignore=default_ignore)
        self._pods: dict[PodKey, _Watched] = {}
        self._evidence: dict[Hashable, EventEvidence] = {}
        self._nodes: dict[str, _Watched] = {}
        self._await_events = await_events
        self._events_synced: set[str | None] = set()
        """Namespaces (None = all) whose initial event list is complete."""
        self._born: datetime | None = None
        self.pod_source: Callable[[PodKey], Pod | None] | None = None
        """Where to read a pod the detector does not keep (the watch cache), when an event with
        a category arrives for it: a liveness kill of a pod that looks healthy between kills."""

    # ---- inputs ----------------------------------------------------------------------------------

    def on_pod(self, old: Pod | None, new: Pod | None, now: datetime) -> list[IncidentChange]:
        if new is None:
            if old is not None:
                self._pod_gone((old.metadata.namespace, old.metadata.name), now)
            return []
        meta = new.metadata
        key = (meta.namespace, meta.name)
        watched = self._pods.get(key)
        if watched is None:
            if meta.deletion_timestamp is None and key not in self._evidence and _plainly_healthy(new.status):
                return []
        elif (  # kept, found quiet, and nothing the rules read moved (a pod with an old OOM kill)
            watched.quiet
            and key not in self._evidence
            and _same_for_rules(watched.obj, new)  # type: ignore[arg-type]
            and not self._tracker.has_member(key)
        ):
            watched.obj = new
            return []
        if not self._filters.namespace_allowed(meta.namespace):
            return []
        return self._evaluate_pod(key, new, now)

    def on_event(self, event: KubeEvent, now: datetime) -> list[IncidentChange]:
        reg = event.regarding
        reason = event_reason(event)
        category = event_category(reason, self._catalog, event.message)
        if reg.kind == "Pod":
            namespace = reg.namespace or event.namespace
            if not self._filters.namespace_allowed(namespace):
                return []
            key: Hashable = (namespace, reg.name)
            watched = self._pods.get((namespace, reg.name))
            if watched is not None and reg.uid and watched.obj.metadata.uid not in ("", reg.uid):
                return []  # about an earlier pod of the same name
        elif reg.kind == "Node":
            key = node_key(reg.name)
            watched = self._nodes.get(reg.name)
        else:
            return []
        ev = self._evidence.get(key)
        if ev is None or (reg.uid and ev.uid and ev.uid != reg.uid):
            if (
                category is None
                and event.type != "Warning"
                and watched is None
                and not self._tracker.has_member(key)
            ):
                return []  # routine event (Pulled, Started, ...) about an object we have no interest in
            if not self._evidence:
                self._timers.schedule(("sweep",), now + SWEEP_EVERY)
            ev = EventEvidence(uid=reg.uid, touched=now)
            self._evidence[key] = ev
        record = event_record(event, reason)
        if not ev.add(record, category, now=now):
            return []
        self._tracker.add_event(key, record)
        if category is None or reg.kind != "Pod":
            return []
        pod_key = (reg.namespace or event.namespace, reg.name)
        if watched is not None:
            assert isinstance(watched.obj, Pod)
            return self._evaluate_pod(pod_key, watched.obj, now)
        pod = self.pod_source(pod_key) if self.pod_source is not None else None
        if pod is None or (reg.uid and pod.metadata.uid not in ("", reg.uid)):
            return []
        return self._evaluate_pod(pod_key, pod, now)

    def on_node(self, old: Node | None, new: Node | None, now: datetime) -> list[IncidentChange]:
        if new is None:
            if old is not None:
                name = old.metadata.name
                self._nodes.pop(name, None)
                self._evidence.pop(node_key(name), None)
                self._timers.cancel(("node", name))
                self._tracker.gone(node_key(name), now=now)
            return []
        return self._evaluate_node(new, now)

    def on_synced(self, resource: str, namespace: str | None, now: datetime) -> list[IncidentChange]:
        """A reflector finished a list. The first complete event list lets stuck pods waiting
        for it be judged: explained by an event now, or truly unexplained."""
        if resource != "events" or namespace in self._events_synced:
            return []
        self._events_synced.add(namespace)
        changes: list[IncidentChange] = []
        for key, watched in list(self._pods.items()):
            if namespace is None or key[0] == namespace:
                assert isinstance(watched.obj, Pod)
                changes.extend(self._evaluate_pod(key, watched.obj, now))
        return changes

    def _events_wait(self, namespace: str, now: datetime) -> datetime | None:
        if not self._await_events or None in self._events_synced or namespace in self._events_synced:
            return None
        if self._born is None:
            self._born = now
        return self._born + EVENTS_SYNC_WAIT

    def tick(self, now: datetime) -> list[IncidentChange]:
        """Fire every deadline at or before ``now``."""
        changes: list[IncidentChange] = []
        for key in self._timers.pop_due(now):
            assert isinstance(key, tuple)
            if key[0] == "pod":
                watched = self._pods.get(key[1])
                if watched is not None:
                    assert isinstance(watched.obj, Pod)
                    changes.extend(self._evaluate_pod(key[1], watched.obj, now))
            elif key[0] == "node":
                watched = self._nodes.get(key[1])
                if watched is not None:
                    assert isinstance(watched.obj, Node)
                    changes.extend(self._evaluate_node(watched.obj, now))
            elif key[0] == "resolve":
                change = self._tracker.resolve_due(key[1], now=now)
                if change is not None:
                    changes.append(change)
            elif key[0] == "sweep":
                self._sweep(now)
        return changes

    def next_deadline(self) -> datetime | None:
        return self._timers.next_deadline()

    def open_incidents(self) -> list[Incident]:
        return self._tracker.open_incidents()

    def members_held(self) -> int:
        """See ``Tracker.members_held``: the detector's memory for its open incidents."""
        return self._tracker.members_held()

    def attach_logs(self, fingerprint: str, lines: Sequence[str]) -> IncidentChange | None:
        """Fill the log slot of an incident that ``wants_logs``; returns the update to emit."""
        return self._tracker.attach_logs(fingerprint, lines)

    # ---- internals -------------------------------------------------------------------------------

    def _evaluate_pod(self, key: PodKey, pod: Pod, now: datetime) -> list[IncidentChange]:
        meta = pod.metadata
        watched = self._pods.get(key)
        if watched is None or watched.obj.metadata.uid != meta.uid:
            watched = _Watched(pod, now)
        else:
            watched.obj = pod
        ev = self._evidence.get(key)
        if ev is not None and ev.uid and meta.uid and ev.uid != meta.uid:
            del self._evidence[key]
            ev = None
        result = evaluate_pod(
            pod, ev, now=now, thresholds=self._th, catalog=self._catalog, first_seen=watched.first_seen,
            events_wait=self._events_wait(meta.namespace, now),
        )
        anomalies = self._filters.keep(
            result.anomalies, namespace=meta.namespace, pod=meta.name, labels=meta.labels
        )
        changes: list[IncidentChange] = []
        if anomalies or self._tracker.has_member(key):
            subject = Subject(
                key=key,
                uid=meta.uid,
                namespace=meta.namespace,
                pod=meta.name,
                node=pod.spec.node_name,
                owner=resolve_owner(meta),
                labels=meta.labels,
            )
            changes = self._tracker.observe(subject, anomalies, now=now, recent=ev.recent if ev else ())
        if result.next_deadline is not None:
            self._timers.schedule(("pod", key), result.next_deadline)
        else:
            self._timers.cancel(("pod", key))
        st = pod.status
        settled = st.phase in ("Succeeded", "Failed") or _plainly_healthy(st)
        if settled and result.next_deadline is None and not result.anomalies:
            self._pods.pop(key, None)
            self._evidence.pop(key, None)
        else:
            watched.quiet = (
                not result.anomalies
                and result.next_deadline is None
                and ev is None
                and not changes
                and not self._tracker.has_member(key)
            )
            self._pods[key] = watched
        return changes

    def _evaluate_node(self, node: Node, now: datetime) -> list[IncidentChange]:
        name = node.metadata.name
        watched = self._nodes.get(name)
        if watched is None or watched.obj.metadata.uid != node.metadata.uid:
            watched = _Watched(node, now)
        else:
            watched.obj = node
        result = evaluate_node(
            node, now=now, thresholds=self._th, catalog=self._catalog, first_seen=watched.first_seen
        )
        key = node_key(name)
        labels = node.metadata.labels
        anomalies = self._filters.keep(result.anomalies, namespace=None, pod=None, labels=labels)
        changes: list[IncidentChange] = []
        if anomalies or self._tracker.has_member(key):
            subject = Subject(
                key=key,
                uid=node.metadata.uid,
                namespace=None,
                pod=None,
                node=name,
                owner=Owner(kind="Node", name=name),
                labels=node.metadata.labels,
            )
            ev = self._evidence.get(key)
            changes = self._tracker.observe(subject, anomalies, now=now, recent=ev.recent if ev else ())
            if any(c.kind == "incident.opened" and c.incident.category in NODE_CAUSES for c in changes):
                changes.extend(self._tracker.link_node(name))
        if result.next_deadline is not None:
            self._timers.schedule(("node", name), result.next_deadline)
        else:
            self._timers.cancel(("node", name))
        if result.anomalies or result.next_deadline is not None:
            self._nodes[name] = watched
        else:
            self._nodes.pop(name, None)
        return changes

    def _pod_gone(self, key: PodKey, now: datetime) -> None:
        self._pods.pop(key, None)
        self._evidence.pop(key, None)
        self._timers.cancel(("pod", key))
        self._tracker.gone(key, now=now)

    def _sweep(self, now: datetime) -> None:
        """Forget event memory nobody needs: its pod is gone, healthy or never showed up."""
        horizon = now - EVIDENCE_TTL
        for key in [k for k, ev in self._evidence.items() if ev.touched < horizon]:
            if key not in self._pods and not self._tracker.has_member(key):
                del self._evidence[key]
        if self._evidence:
            self._timers.schedule(("sweep",), now + SWEEP_EVERY)
