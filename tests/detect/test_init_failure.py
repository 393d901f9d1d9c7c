"""Init containers: Init:Error and Init:CrashLoopBackOff are init-failure; pull/config stay theirs."""

from __future__ import annotations

from podsleuth.watch.objects import Pod
from tests.detect.builders import at, cond, detector, kinds, last_term, make_pod, terminated, waiting

INIT_CONDS = [
    cond("Initialized", "False", reason="ContainersNotInitialized"),
    cond("Ready", "False"),
    cond("ContainersReady", "False"),
    cond("PodScheduled", "True"),
]


def pending(init: list[dict[str, object]]) -> Pod:
    return make_pod(
        phase="Pending",
        init=init,
        containers=[waiting("app", "PodInitializing")],
        conditions=INIT_CONDS,
    )


def test_init_error_then_crash_loop_is_one_init_failure() -> None:
    d = detector()
    err = pending([terminated("migrate", reason="Error", exit_code=1, finished=at(5), restarts=1)])
    loop = pending(
        [
            waiting(
                "migrate",
                "CrashLoopBackOff",
                "back-off 10s",
                restarts=1,
                last=last_term("Error", 1, at(5), "relation users does not exist"),
            )
        ]
    )
    [c] = d.on_pod(None, err, at(6))
    assert (c.kind, c.incident.category, c.incident.container) == (
        "incident.opened",
        "init-failure",
        "migrate",
    )
    assert c.wants_logs
    assert d.on_pod(err, loop, at(8)) == []
    [inc] = d.open_incidents()
    assert inc.reason == "CrashLoopBackOff" and inc.count == 1


def test_init_image_pull_and_config_keep_their_category() -> None:
    d = detector()
    pod = pending([waiting("fetch", "ImagePullBackOff", "Back-off pulling image")])
    assert kinds(d.on_pod(None, pod, at(1))) == [("incident.opened", "image-pull")]
    d2 = detector()
    pod2 = pending([waiting("fetch", "CreateContainerConfigError", 'secret "db" not found')])
    assert kinds(d2.on_pod(None, pod2, at(1))) == [("incident.opened", "container-config")]


def test_successful_init_is_quiet() -> None:
    d = detector()
    pod = pending([terminated("migrate", reason="Completed", exit_code=0, finished=at(5))])
    assert d.on_pod(None, pod, at(6)) == []
