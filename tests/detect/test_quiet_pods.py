"""A kept pod found quiet (Running and ready after an old OOM kill) is not evaluated again while
MODIFIED events change nothing the rules read; any change the rules do read is still judged."""

from __future__ import annotations

from typing import Any

import msgspec

from podsleuth.watch.objects import Pod
from tests.detect.builders import (
    at,
    decode_pod,
    detector,
    kinds,
    last_term,
    pod_dict,
    run_until,
    running,
    waiting,
)

DAY = 86400


def _old_oom(**kw: Any) -> dict[str, Any]:
    """Ready and Running, restarted once after an OOM kill long ago: not plainly healthy."""
    return pod_dict(containers=[running("app", restarts=1, last=last_term("OOMKilled", 137, at(0)))], **kw)


def _touched(raw: dict[str, Any], rv: int) -> Pod:
    """The same pod after a MODIFIED event that moved only resourceVersion and an annotation."""
    raw = msgspec.json.decode(msgspec.json.encode(raw))
    raw["metadata"]["resourceVersion"] = str(rv)
    raw["metadata"]["annotations"]["touched"] = str(rv)
    return decode_pod(raw)


def test_quiet_pod_touched_again_and_again_raises_nothing() -> None:
    d = detector()
    raw = _old_oom()
    pod = decode_pod(raw)
    assert d.on_pod(None, pod, at(3 * DAY)) == []
    for rv in range(2, 50):
        new = _touched(raw, rv)
        assert d.on_pod(pod, new, at(3 * DAY + rv)) == []
        pod = new
    assert d.next_deadline() is None
    assert run_until(d, at(10 * DAY)) == []


def test_quiet_pod_that_starts_crash_looping_opens_an_incident() -> None:
    d = detector()
    pod = decode_pod(_old_oom())
    assert d.on_pod(None, pod, at(3 * DAY)) == []
    assert d.on_pod(pod, _touched(_old_oom(), 7), at(3 * DAY + 1)) == []
    last = last_term("Error", 1, at(3 * DAY + 5), "panic")
    crashing = decode_pod(
        pod_dict(containers=[waiting("app", "CrashLoopBackOff", "back-off", restarts=3, last=last)])
    )
    assert kinds(d.on_pod(pod, crashing, at(3 * DAY + 10))) == [("incident.opened", "crash-loop")]


def test_quiet_pod_deleted_and_stuck_terminating_fires_on_time() -> None:
    d = detector(thresholds={"terminating_extra": "5m"})
    pod = decode_pod(_old_oom())
    assert d.on_pod(None, pod, at(3 * DAY)) == []
    deleting = decode_pod(_old_oom(deletion=at(3 * DAY + 40), grace=30))
    assert d.on_pod(pod, deleting, at(3 * DAY + 10)) == []
    assert d.next_deadline() == at(3 * DAY + 340)
    assert kinds(run_until(d, at(3 * DAY + 340))) == [("incident.opened", "stuck-terminating")]


def test_quiet_pod_replaced_under_the_same_name_is_judged_afresh() -> None:
    d = detector()
    pod = decode_pod(_old_oom())
    assert d.on_pod(None, pod, at(3 * DAY)) == []
    # same name, same status, new uid: a fresh pod whose OOM kill is recent
    fresh = decode_pod(pod_dict(uid="uid-new", containers=[
        running("app", restarts=1, last=last_term("OOMKilled", 137, at(3 * DAY + 20)))]))  # fmt: skip
    assert kinds(d.on_pod(pod, fresh, at(3 * DAY + 30))) == [("incident.opened", "oom-killed")]
