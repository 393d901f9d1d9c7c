"""Container config and start failures, with the real runtime wording (the founding case)."""

from __future__ import annotations

from tests.detect.builders import at, detector, kinds, last_term, make_pod, waiting

PROCFD = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
    "failed: unable to start container process: error during container init: error mounting "
    '"/var/lib/kubelet/pods/0b4c/volumes/kubernetes.io~csi/pvc-91/mount" to rootfs at "/data": mount '
    "/var/lib/kubelet/pods/0b4c/volumes/kubernetes.io~csi/pvc-91/mount:/data (via /proc/self/fd/6), "
    "flags: 0x5000: no such file or directory: unknown"
)


def test_create_container_config_error() -> None:
    d = detector()
    pod = make_pod(
        phase="Pending",
        containers=[waiting("app", "CreateContainerConfigError", 'configmap "cluster-config" not found')],
    )
    [c] = d.on_pod(None, pod, at(1))
    assert (c.incident.category, c.incident.reason) == ("container-config", "CreateContainerConfigError")
    assert c.incident.message == 'configmap "cluster-config" not found'


def test_run_container_error_with_start_error_last_state() -> None:
    d = detector()
    pod = make_pod(
        containers=[
            waiting(
                "grafana",
                "RunContainerError",
                PROCFD,
                restarts=4,
                last=last_term("StartError", 128, at(50), PROCFD),
            )
        ],
        conditions=None,
    )
    [c] = d.on_pod(None, pod, at(51))
    inc = c.incident
    assert (inc.category, inc.reason, inc.severity) == ("container-start", "RunContainerError", "critical")
    assert "via /proc/self/fd/6" in inc.message
    assert inc.last_termination is not None and inc.last_termination.reason == "StartError"


def test_crash_loop_after_start_errors_stays_container_start() -> None:
    d = detector()
    run_err = make_pod(
        containers=[
            waiting(
                "grafana",
                "RunContainerError",
                PROCFD,
                restarts=4,
                last=last_term("StartError", 128, at(50), PROCFD),
            )
        ]
    )
    backoff = make_pod(
        containers=[
            waiting(
                "grafana",
                "CrashLoopBackOff",
                "back-off 1m20s",
                restarts=5,
                last=last_term("StartError", 128, at(90), PROCFD),
            )
        ]
    )
    assert kinds(d.on_pod(None, run_err, at(51))) == [("incident.opened", "container-start")]
    assert kinds(d.on_pod(run_err, backoff, at(91))) == [("incident.updated", "container-start")]
    [inc] = d.open_incidents()
    assert inc.reason == "StartError" and "procfd" in inc.message.replace("/proc/self/fd", "procfd")


def test_create_container_error_is_container_start() -> None:
    d = detector()
    msg = "Error: container create failed: mount `/var/lib/kubelet/pods/x/volumes/kubernetes.io~nfs/v`: stale NFS file handle"  # noqa: E501
    pod = make_pod(phase="Pending", containers=[waiting("app", "CreateContainerError", msg)])
    assert kinds(d.on_pod(None, pod, at(1))) == [("incident.opened", "container-start")]
