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

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from podsleuth.config import Thresholds
from podsleuth.detect.anomaly import Anomaly, Catalog
from podsleuth.detect.evaluation import Evaluation, condition, pulse, term
from podsleuth.detect.rules_event import EventEvidence
from podsleuth.detect.rules_waiting import (
    liveness,
    probe,
    stuck_creating,
    terminating,
    unschedulable_by_events,
)
from podsleuth.watch.objects import ContainerStatus, Pod, StateTerminated, StateWaiting

__all__ = ["Evaluation", "evaluate_pod"]

_CREATING = frozenset({"ContainerCreating", "PodInitializing"})
_START_FAILURES = frozenset({"StartError", "ContainerCannotRun"})
_NOT_FAILURES = frozenset({"Completed", "ContainerStatusUnknown"})


def evaluate_pod(
    pod: Pod,
    evidence: EventEvidence | None,
    *,
    now: datetime,
    thresholds: Thresholds,
    catalog: Catalog,
    first_seen: datetime,
    events_wait: datetime | None = None,
) -> Evaluation:
    """All anomalies of ``pod`` at ``now``; see the module docstring for the time semantics.

    ``events_wait``: the initial event list is not synced yet; until that instant, a stuck pod
    is not called unexplained (its explaining FailedMount may simply not have arrived)."""
    out = Evaluation()
    meta, st = pod.metadata, pod.status
    window = timedelta(seconds=thresholds.resolve_after)
    if meta.deletion_timestamp is not None:
        terminating(pod, evidence, now, thresholds, out)
        return out
    category: str | None = None
    pod_reason, pod_message = st.reason, st.message
    disruption = condition(pod, "DisruptionTarget")
    if not pod_reason and st.phase == "Failed" and disruption is not None and disruption.status == "True":
        # only the condition says it
        pod_reason, pod_message = disruption.reason or "Evicted", disruption.message
    if pod_reason and st.phase == "Failed":
        category = catalog.pod_reasons.get(pod_reason)
        if category is None and (pod_reason.startswith("OutOf") or disruption is not None):
            category = "evicted"
        if category is not None:
            at = _terminal_time(pod)
            f = evidence.findings.get("evicted") if evidence is not None and category == "evicted" else None
            if f is not None and at is not None and f.last > at:
                at = f.last  # the eviction itself is fresh even if its container finished earlier
            anomaly = Anomaly(category=category, reason=pod_reason, message=pod_message or pod_reason)
            pulse(out, at, now, window, anomaly)
    # a container that will not be restarted: its non-zero exit is the pod's failure
    final = (st.phase == "Failed" and category is None) or (
        category is None and pod.spec.restart_policy == "Never" and st.phase != "Succeeded")
    creating: str | None = None
    scope = _Scope(init=True, pod_failed=final, pod_pending=st.phase == "Pending", now=now, window=window,
                   catalog=catalog)  # fmt: skip
    for cs in st.init_container_statuses or ():
        creating = _container(cs, scope, out) or creating
    scope = replace(scope, init=False, pod_pending=False)
    for cs in st.container_statuses or ():
        creating = _container(cs, scope, out) or creating
    if evidence is not None and st.phase == "Running":
        liveness(pod, evidence, now, window, out)
    scheduled = condition(pod, "PodScheduled")
    if scheduled is not None and scheduled.status == "False" and scheduled.reason == "Unschedulable":
        since = scheduled.last_transition_time or meta.creation_timestamp or first_seen
        at = since + timedelta(seconds=thresholds.pending)
        if now >= at:
            f = evidence.findings.get("unschedulable") if evidence else None
            msg = scheduled.message or (f.message if f else "") or "pod cannot be scheduled"
            out.anomalies.append(Anomaly(category="unschedulable", reason="FailedScheduling", message=msg))
        else:
            out.wake_at(at)
    elif st.phase == "Pending" and not pod.spec.node_name and not (scheduled and scheduled.status == "True"):
        unschedulable_by_events(pod, evidence, now, thresholds, out)
    if creating is None and st.phase == "Pending" and pod.spec.node_name and not st.container_statuses:
        creating = "ContainerCreating"
    if creating is not None:
        stuck_creating(pod, creating, evidence, now, thresholds, first_seen, out, events_wait)
    elif (st.phase == "Running" and evidence is not None and "probe-failure" in evidence.findings
          and not any(a.category == "probe-failure" for a in out.anomalies)):
        probe(pod, evidence, now, thresholds, first_seen, out)
    return out


@dataclass(frozen=True, slots=True)
class _Scope:
    """What every container of one pod is judged against."""

    init: bool
    pod_failed: bool
    """The pod will not restart it: a non-zero exit is the pod's failure."""
    pod_pending: bool
    now: datetime
    window: timedelta
    catalog: Catalog


def _container(cs: ContainerStatus, scope: _Scope, out: Evaluation) -> str | None:
    """Append this container's anomalies; return its waiting reason if it is still being created."""
    state = cs.state
    if state is None:
        return None
    last = cs.last_state.terminated if cs.last_state is not None else None
    if state.waiting is not None and state.waiting.reason:
        return _waiting(cs, state.waiting, last, scope, out)
    if state.terminated is not None:
        _terminated(cs, state.terminated, scope, out)
    elif state.running is not None and last is not None and last.reason == "OOMKilled":
        msg = last.message or f"container {cs.name} was OOM-killed (exit code {last.exit_code}) and restarted"
        anomaly = _anomaly(cs, "oom-killed", "OOMKilled", msg, last)
        pulse(out, last.finished_at, scope.now, scope.window, anomaly)
    return None


def _waiting(
    cs: ContainerStatus, w: StateWaiting, last: StateTerminated | None, scope: _Scope, out: Evaluation
) -> str | None:
    """A waiting container: a state that lasts (back-off, config error) or still being created."""
    reason = w.reason or ""
    if reason in _CREATING:
        return reason
    if reason == "CrashLoopBackOff":
        lr = last.reason if last is not None else None
        if lr == "OOMKilled":
            category, reason = "oom-killed", "OOMKilled"
        elif lr in _START_FAILURES:
            category, reason = "container-start", lr or reason
        else:
            category = "init-failure" if scope.init else "crash-loop"
        msg = (last.message if last is not None and last.message else None) or _crash_message(cs, last, w)
    else:
        found = scope.catalog.container_reasons.get(reason)
        if found is None:
            return None
        category = found
        if scope.init and category not in ("image-pull", "container-config", "container-start"):
            category = "init-failure"
        msg = w.message or reason
    stateful = category in ("image-pull", "container-config")  # a state, not a count of crashes
    out.anomalies.append(_anomaly(cs, category, reason, msg, last, occurrence=0 if stateful else None))
    return None


def _terminated(cs: ContainerStatus, t: StateTerminated, scope: _Scope, out: Evaluation) -> None:
    """A container that ended: only some endings are failures worth an incident."""
    if t.reason == "OOMKilled":
        category = "oom-killed"
    elif t.reason in _NOT_FAILURES or (t.exit_code or 0) == 0:
        return
    elif scope.init:
        category = "init-failure"
    elif t.reason in _START_FAILURES:
        category = "container-start"
    elif scope.pod_failed:
        category = "container-failed"
    else:
        return  # one crash of a restarting container is not a crash loop
    reason = t.reason or "Error"
    msg = t.message or f"container {cs.name} terminated: {reason} (exit code {t.exit_code})"
    anomaly = _anomaly(cs, category, reason, msg, t)
    if scope.init and scope.pod_pending:
        out.anomalies.append(anomaly)  # the pod is stuck behind it: a state, not a pulse
    else:
        pulse(out, t.finished_at, scope.now, scope.window, anomaly)


def _anomaly(
    cs: ContainerStatus,
    category: str,
    reason: str,
    message: str,
    last: StateTerminated | None,
    *,
    occurrence: int | None = None,
) -> Anomaly:
    return Anomaly(
        category=category,
        reason=reason,
        message=message,
        container=cs.name,
        occurrence=cs.restart_count if occurrence is None else occurrence,
        restart_count=cs.restart_count,
        last_termination=term(last),
    )


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
