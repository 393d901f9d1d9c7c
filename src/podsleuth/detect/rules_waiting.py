"""Pod rules for pods that wait or keep failing in the background: stuck creating, stuck
terminating, probe failures (readiness never-ready, liveness restart loops) and scheduling
failures known only from events. Split from ``rules_pod``, which calls them; same purity."""

from __future__ import annotations

from datetime import datetime, timedelta

from podsleuth.config import Thresholds
from podsleuth.detect.anomaly import Anomaly
from podsleuth.detect.evaluation import Evaluation, condition, term
from podsleuth.detect.rules_event import EventEvidence
from podsleuth.watch.objects import Pod

LIVENESS_LOOP = timedelta(hours=1)
"""A liveness restart loop stays news this long after its last kill: kills come minutes or
hours apart, so the point-in-time window would drop it between two."""


def stuck_creating(
    pod: Pod,
    waiting: str,
    evidence: EventEvidence | None,
    now: datetime,
    thresholds: Thresholds,
    first_seen: datetime,
    out: Evaluation,
    events_wait: datetime | None = None,
) -> None:
    scheduled = condition(pod, "PodScheduled")
    since = (
        (scheduled.last_transition_time if scheduled is not None and scheduled.status == "True" else None)
        or pod.status.start_time
        or pod.metadata.creation_timestamp
        or first_seen
    )
    explained = False
    stuck_at = since + timedelta(seconds=thresholds.stuck_creating)
    for category in ("volume-mount", "sandbox"):
        f = evidence.findings.get(category) if evidence is not None else None
        if f is None or f.last < since:
            continue  # about an earlier pod of the same name
        explained = True
        # a pod already stuck past stuck_creating is no transient: its explanation counts at once
        at = min(max(f.first, since) + timedelta(seconds=thresholds.volume_mount), max(stuck_at, f.first))
        if now >= at:
            out.anomalies.append(Anomaly(category=category, reason=f.reason, message=f.message))
        else:
            out.wake_at(at)
    if now < stuck_at:
        out.wake_at(stuck_at)
    elif not explained and not out.anomalies:  # an init container failing already says why
        if events_wait is not None and now < events_wait:
            out.wake_at(events_wait)  # the explaining event may be in the list still to come
            return
        minutes = int((now - since).total_seconds() // 60)
        msg = f"pod waiting in {waiting} for {minutes}m; no event explains it"
        out.anomalies.append(
            Anomaly(category="container-start", reason=waiting, message=msg, provisional=True)
        )


def terminating(
    pod: Pod, evidence: EventEvidence | None, now: datetime, thresholds: Thresholds, out: Evaluation
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


def probe(
    pod: Pod,
    evidence: EventEvidence,
    now: datetime,
    thresholds: Thresholds,
    first_seen: datetime,
    out: Evaluation,
) -> None:
    """Probe failures count only while the pod stays not ready for ``probe_failure``: one failed
    readiness probe during startup is normal life."""
    ready = condition(pod, "Ready")
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


def unschedulable_by_events(
    pod: Pod, evidence: EventEvidence | None, now: datetime, thresholds: Thresholds, out: Evaluation
) -> None:
    """FailedScheduling events say it when the PodScheduled condition does not (an older
    scheduler, a status not written yet, a pasted ``describe``): the pod is still unscheduled
    ``pending`` after the scheduler first said it does not fit (repeats only confirm it; the
    scheduler's retries are deduplicated into one event whose count may not be shown)."""
    f = evidence.findings.get("unschedulable") if evidence is not None else None
    if f is None:
        return
    created = pod.metadata.creation_timestamp
    if created is not None and f.last < created:
        return  # about an earlier pod of the same name
    since = max(f.first, created) if created is not None else f.first
    at = since + timedelta(seconds=thresholds.pending)
    if now >= at:
        out.anomalies.append(Anomaly(category="unschedulable", reason=f.reason, message=f.message))
    else:
        out.wake_at(at)


def liveness(pod: Pod, evidence: EventEvidence, now: datetime, window: timedelta, out: Evaluation) -> None:
    """A liveness-probe restart loop: the kubelet kills the container for failed liveness
    probes, it runs again, is killed again. Its restarts are the probe's doing, so the incident
    is a probe failure (a crash-loop anomaly of the same container becomes one)."""
    f = evidence.findings.get("probe-failure")
    if f is None or f.liveness is None:
        return
    until = f.liveness + max(window, LIVENESS_LOOP)
    if now >= until:
        return
    for cs in pod.status.container_statuses or ():
        if f.container not in (None, cs.name) or cs.restart_count < 1:
            continue
        last = cs.last_state.terminated if cs.last_state is not None else None
        repeated = f.kills >= 2 and cs.restart_count >= 2  # the kubelet said it killed it, again and again
        finished = last.finished_at if last is not None else None
        aligned = finished is not None and finished >= f.first - timedelta(minutes=2)
        if not (repeated or aligned):
            continue  # its restarts predate the probe failures
        kept = [a for a in out.anomalies if not (a.container == cs.name and a.category == "crash-loop")]
        out.anomalies[:] = kept
        out.anomalies.append(
            Anomaly(
                category="probe-failure",
                reason=f.reason,
                message=f.message,
                container=cs.name,
                occurrence=cs.restart_count,
                restart_count=cs.restart_count,
                last_termination=term(last),
            )
        )
        out.wake_at(until)
        return
