"""What a rule evaluation returns, and the small helpers the pod rules share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from podsleuth.detect.anomaly import Anomaly, Termination
from podsleuth.watch.objects import Pod, PodCondition, StateTerminated


@dataclass(slots=True)
class Evaluation:
    anomalies: list[Anomaly] = field(default_factory=list)
    next_deadline: datetime | None = None

    def wake_at(self, when: datetime) -> None:
        if self.next_deadline is None or when < self.next_deadline:
            self.next_deadline = when


def term(t: StateTerminated | None) -> Termination | None:
    if t is None:
        return None
    return Termination(reason=t.reason, exit_code=t.exit_code, finished_at=t.finished_at)


def condition(pod: Pod, ctype: str) -> PodCondition | None:
    for c in pod.status.conditions or ():
        if c.type == ctype:
            return c
    return None


def pulse(out: Evaluation, at: datetime | None, now: datetime, window: timedelta, anomaly: Anomaly) -> None:
    if at is None:
        return
    until = at + window
    if now < until:
        out.anomalies.append(anomaly)
        out.wake_at(until)
