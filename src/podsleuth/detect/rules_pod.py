"""Pod rules: one pod's current state (+ its event evidence + the time) -> anomalies.

A pure function of its inputs. It also returns the earliest future instant at which its answer
could change without any new update (a threshold being crossed, a point-in-time anomaly ageing
out), so the engine can re-evaluate exactly then: time-based rules fire on time.

Point-in-time anomalies (an OOM kill, an eviction, a failed Job container) are "pulses": active
while their timestamp is younger than ``resolve_after``; an old one seen on the initial list is
history, not news. States that persist (ImagePullBackOff, CreateContainerConfigError, ...) are
active as long as the state lasts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from podsleuth.config import Thresholds
from podsleuth.detect.anomaly import Anomaly, Catalog, Termination
from podsleuth.detect.rules_event import Evidence
from podsleuth.watch.objects import ContainerStatus, Pod, PodCondition, StateTerminated, StateWaiting

_CREATING = frozenset({"ContainerCreating", "PodInitializing"})
_START_FAILURES = frozenset({"StartError", "ContainerCannotRun"})
_NOT_FAILURES = frozenset({"Completed", "ContainerStatusUnknown"})


@dataclass(slots=True)
class Evaluation:
    anomalies: list[Anomaly] = field(default_factory=list)
    next_deadline: datetime | None = None

    def wake_at(self, when: datetime) -> None:
        if self.next_deadline is None or when < self.next_deadline:
            self.next_deadline = when


def _term(t: StateTerminated | None) -> Termination | None:
    if t is None:
        return None
    return Termination(reason=t.reason, exit_code=t.exit_code, finished_at=t.finished_at)


def _condition(pod: Pod, ctype: str) -> PodCondition | None:
    for c in pod.status.conditions or ():
        if c.type == ctype:
            return c
    return None


def _pulse(out: Evaluation, at: datetime | None, now: datetime, window: timedelta, anomaly: Anomaly) -> None:
    if at is None:
        return
    until = at + window
    if now < until:
        out.anomalies.append(anomaly)
        out.wake_at(until)


def evaluate_pod(
    pod: Pod,
    evidence: Evidence | None,
    *,
    now: datetime,
    thresholds: Thresholds,
    catalog: Catalog,
    first_seen: datetime,
) -> Evaluation:
    """All anomalies of ``pod`` at ``now``; see the module docstring for the time semantics."""
    out = Evaluation()
    meta, st = pod.metadata, pod.status
    window = timedelta(seconds=thresholds.resolve_after)
    if meta.deletion_timestamp is not None:
        _terminating(pod, evidence, now, thresholds, out)
        return out
    category: str | None = None
    if st.reason and st.phase == "Failed":
        category = catalog.pod_reasons.get(st.reason)
        if category is None and st.reason.startswith("OutOf"):
            category = "evicted"
        if category is not None:
            at = _terminal_time(pod)
            anomaly = Anomaly(category=category, reason=st.reason, message=st.message or st.reason)
            _pulse(out, at, now, window, anomaly)
    failed = st.phase == "Failed" and category is None  # the pod reason already explains it
    creating: str | None = None
    for cs in st.init_container_statuses or ():
        creating = _container(cs, True, failed, now, window, catalog, out) or creating
    for cs in st.container_statuses or ():
        creating = _container(cs, False, failed, now, window, catalog, out) or creating
    scheduled = _condition(pod, "PodScheduled")
    if scheduled is not None and scheduled.status == "False" and scheduled.reason == "Unschedulable":
        since = scheduled.last_transition_time or meta.creation_timestamp or first_seen
        at = since + timedelta(seconds=thresholds.pending)
        if now >= at:
            f = evidence.findings.get("unschedulable") if evidence else None
            msg = scheduled.message or (f.message if f else "") or "pod cannot be scheduled"
            out.anomalies.append(Anomaly(category="unschedulable", reason="FailedScheduling", message=msg))
        else:
            out.wake_at(at)
    if creating is None and st.phase == "Pending" and pod.spec.node_name and not st.container_statuses:
        creating = "ContainerCreating"
    if creating is not None:
        _stuck_creating(pod, creating, evidence, now, thresholds, first_seen, out)
    elif st.phase == "Running" and evidence is not None and "probe-failure" in evidence.findings:
        _probe(pod, evidence, now, thresholds, first_seen, out)
    return out


def _container(
    cs: ContainerStatus,
    init: bool,
    pod_failed: bool,
    now: datetime,
    window: timedelta,
    catalog: Catalog,
    out: Evaluation,
) -> str | None:
    """Append this container's anomalies; return its waiting reason if it is still being created."""
    state, last_state = cs.state, cs.last_state
    if state is None:
        return None
    last = last_state.terminated if last_state is not None else None
    w = state.waiting
    if w is not None and w.reason:
        reason = w.reason
        if reason in _CREATING:
            return reason
        if reason == "CrashLoopBackOff":
            lr = last.reason if last is not None else None
            if lr == "OOMKilled":
                category, reason = "oom-killed", "OOMKilled"
            elif lr in _START_FAILURES:
                category, reason = "container-start", lr or reason
            else:
                category = "init-failure" if init else "crash-loop"
            msg = (last.message if last is not None and last.message else None) or _crash_message(cs, last, w)
        else:
            found = catalog.container_reasons.get(reason)
            if found is None:
                return None
            category = found
            if init and category not in ("image-pull", "container-config", "container-start"):
                category = "init-failure"
            msg = w.message or reason
        out.anomalies.append(
            Anomaly(
                category=category,
                reason=reason,
                message=msg,
                container=cs.name,
                occurrence=0 if category in ("image-pull", "container-config") else cs.restart_count,
                restart_count=cs.restart_count,
                last_termination=_term(last),
            )
        )
        return None
    t = state.terminated
    if t is not None:
        if t.reason == "OOMKilled":
            category = "oom-killed"
        elif t.reason in _NOT_FAILURES or (t.exit_code or 0) == 0:
            return None
        elif init:
            category = "init-failure"
        elif t.reason in _START_FAILURES:
            category = "container-start"
        elif pod_failed:
            category = "container-failed"
        else:
            return None  # one crash of a restarting container is not a crash loop
        reason = t.reason or "Error"
        msg = t.message or f"container {cs.name} terminated: {reason} (exit code {t.exit_code})"
        anomaly = Anomaly(
            category=category,
            reason=reason,
            message=msg,
            container=cs.name,
            occurrence=cs.restart_count,
            restart_count=cs.restart_count,
            last_termination=_term(t),
        )
        _pulse(out, t.finished_at, now, window, anomaly)
        return None
    if state.running is not None and last is not None and last.reason == "OOMKilled":
        msg = last.message or f"container {cs.name} was OOM-killed (exit code {last.exit_code}) and restarted"
        anomaly = Anomaly(
            category="oom-killed",
            reason="OOMKilled",
            message=msg,
            container=cs.name,
            occurrence=cs.restart_count,
            restart_count=cs.restart_count,
            last_termination=_term(last),
        )
        _pulse(out, last.finished_at, now, window, anomaly)
    return None


def _crash_message(cs: ContainerStatus, last: StateTerminated | None, waiting: StateWaiting) -> str:
    """Say how the container died, not only kubelet's back-off text, which names no cause."""
    backoff = waiting.message or waiting.reason or "CrashLoopBackOff"
    if last is None:
        return backoff
    return (
        f"container {cs.name} terminated with {last.reason or 'Error'} (exit code {last.exit_code}), "
        f"restarted {cs.restart_count} times; {backoff}"
    )


def _terminal_time(pod: Pod) -> datetime | None:
    """When a Failed pod failed: the latest condition change or container finish we can see."""
    times = [c.last_transition_time for c in pod.status.conditions or () if c.last_transition_time]
    for cs in pod.status.container_statuses or ():
        if cs.state is not None and cs.state.terminated is not None and cs.state.terminated.finished_at:
            times.append(cs.state.terminated.finished_at)
    if times:
        return max(times)
    return pod.metadata.creation_timestamp


def _stuck_creating(
    pod: Pod,
    waiting: str,
    evidence: Evidence | None,
    now: datetime,
    thresholds: Thresholds,
    first_seen: datetime,
    out: Evaluation,
) -> None:
    scheduled = _condition(pod, "PodScheduled")
    since = (
        (scheduled.last_transition_time if scheduled is not None and scheduled.status == "True" else None)
        or pod.status.start_time
        or pod.metadata.creation_timestamp
        or first_seen
    )
    explained = False
    for category in ("volume-mount", "sandbox"):
        f = evidence.findings.get(category) if evidence is not None else None
        if f is None or f.last < since:
            continue  # about an earlier pod of the same name
        explained = True
        at = max(f.first, since) + timedelta(seconds=thresholds.volume_mount)
        if now >= at:
            out.anomalies.append(Anomaly(category=category, reason=f.reason, message=f.message))
        else:
            out.wake_at(at)
    at = since + timedelta(seconds=thresholds.stuck_creating)
    if now < at:
        out.wake_at(at)
    elif not explained:
        minutes = int((now - since).total_seconds() // 60)
        msg = f"pod waiting in {waiting} for {minutes}m; no event explains it"
        out.anomalies.append(Anomaly(category="container-start", reason=waiting, message=msg))


def _terminating(
    pod: Pod, evidence: Evidence | None, now: datetime, thresholds: Thresholds, out: Evaluation
) -> None:
    """deletionTimestamp is already the end of the grace period (the API server sets it to
    request time + grace), so only ``terminating_extra`` is added."""
    deleted_at = pod.metadata.deletion_timestamp
    assert deleted_at is not None
    f = evidence.findings.get("stuck-terminating") if evidence is not None else None
    grace = timedelta(seconds=pod.metadata.deletion_grace_period_seconds or 0)
    if f is not None and f.last >= deleted_at - grace:
        out.anomalies.append(Anomaly(category="stuck-terminating", reason=f.reason, message=f.message))
        return
    at = deleted_at + timedelta(seconds=thresholds.terminating_extra)
    if now >= at:
        minutes = int((now - deleted_at).total_seconds() // 60)
        msg = f"pod still terminating {minutes}m after its grace period ended"
        out.anomalies.append(Anomaly(category="stuck-terminating", reason="Terminating", message=msg))
    else:
        out.wake_at(at)


def _probe(
    pod: Pod, evidence: Evidence, now: datetime, thresholds: Thresholds, first_seen: datetime, out: Evaluation
) -> None:
    """Probe failures count only while the pod stays not ready for ``probe_failure``: one failed
    readiness probe during startup is normal life."""
    ready = _condition(pod, "Ready")
    if ready is None or ready.status == "True":
        return
    f = evidence.findings["probe-failure"]
    since = ready.last_transition_time or first_seen
    if f.last < since - timedelta(seconds=thresholds.probe_failure):
        return  # failures from long before the pod last became not ready
    at = max(since, f.first) + timedelta(seconds=thresholds.probe_failure)
    if now >= at:
        out.anomalies.append(
            Anomaly(category="probe-failure", reason=f.reason, message=f.message, container=f.container)
        )
    else:
        out.wake_at(at)
