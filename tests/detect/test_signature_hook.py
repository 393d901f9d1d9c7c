"""The injected classifier sets Incident.signature; it is called once per distinct message."""

from __future__ import annotations

from tests.detect.builders import at, detector, last_term, replica, waiting

PROCFD = (
    'error mounting "/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv/mount" to rootfs at "/data": mount '
    "/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv/mount:/data (via /proc/self/fd/6), flags: 0x5000: "
    "no such file or directory"
)


def test_signature_is_set_and_classification_cached() -> None:
    calls: list[tuple[str, str | None]] = []

    def classify(message: str, reason: str | None) -> str | None:
        calls.append((message, reason))
        return "runc-1.1-via-procfd-enoent" if "/proc/self/fd/" in message else None

    d = detector(classify=classify)
    changes = []
    for i in range(20):
        pod = replica(
            i,
            containers=[
                waiting(
                    "grafana",
                    "RunContainerError",
                    PROCFD,
                    restarts=2,
                    last=last_term("StartError", 128, at(0), PROCFD),
                )
            ],
        )
        changes += d.on_pod(None, pod, at(i))
    assert changes[0].incident.signature == "runc-1.1-via-procfd-enoent"
    assert d.open_incidents()[0].signature == "runc-1.1-via-procfd-enoent"
    assert calls == [(PROCFD, "RunContainerError")]


def test_no_classifier_means_null_signature() -> None:
    d = detector()
    [c] = d.on_pod(None, replica(0, containers=[waiting("app", "CrashLoopBackOff", "x", restarts=1)]), at(0))
    assert c.incident.signature is None


def test_the_remembered_signatures_are_bounded_least_recently_used_first() -> None:
    """A CrashLoopBackOff message names its pod: every pod that ever crash-loops is a new
    (message, reason) pair. The table keeps the most recently used ones, not a cliff that
    forgets them all."""
    from podsleuth.detect.incidents import SIGNATURES_REMEMBERED

    calls: list[str] = []

    def classify(message: str, reason: str | None) -> str | None:
        calls.append(message)
        return None

    d = detector(classify=classify)

    def crash(i: int, message: str) -> None:
        pod = replica(i, containers=[waiting("app", "CrashLoopBackOff", message, restarts=1)])
        d.on_pod(None, pod, at(i))

    crash(0, "hot message")
    for i in range(1, SIGNATURES_REMEMBERED + 100):
        crash(i, f"back-off restarting failed container app in pod app-{i}")
        if i % 1000 == 0:
            crash(i, "hot message")  # used again: stays remembered
    crash(0, "hot message")
    crash(1, "back-off restarting failed container app in pod app-1")  # the oldest: forgotten
    assert calls.count("hot message") == 1
    assert calls.count("back-off restarting failed container app in pod app-1") == 2
