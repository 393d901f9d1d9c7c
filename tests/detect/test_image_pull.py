"""ErrImagePull and ImagePullBackOff alternate for one cause: they must be one incident."""

from __future__ import annotations

from tests.detect.builders import at, detector, kinds, make_pod, waiting

NOT_FOUND = (
    'rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/acme/web:1.4.3": failed to '
    'resolve reference "ghcr.io/acme/web:1.4.3": ghcr.io/acme/web:1.4.3: not found'
)


def test_err_image_pull_then_backoff_is_one_incident() -> None:
    d = detector()
    pulling = make_pod(phase="Pending", containers=[waiting("app", "ErrImagePull", NOT_FOUND)])
    changes = d.on_pod(None, pulling, at(5))
    assert kinds(changes) == [("incident.opened", "image-pull")]
    first = changes[0].incident
    assert (first.reason, first.severity, first.container) == ("ErrImagePull", "error", "app")
    backoff = make_pod(
        phase="Pending",
        containers=[waiting("app", "ImagePullBackOff", 'Back-off pulling image "ghcr.io/acme/web:1.4.3"')],
    )
    assert d.on_pod(pulling, backoff, at(20)) == []
    assert d.on_pod(backoff, pulling, at(40)) == []
    [inc] = d.open_incidents()
    assert inc.id == first.id and inc.count == 1
    assert inc.reason == "ErrImagePull"  # the latest state's reason travels with the snapshot
    assert not changes[0].wants_logs


def test_invalid_image_name_is_image_pull() -> None:
    d = detector()
    pod = make_pod(
        phase="Pending",
        containers=[
            waiting(
                "app",
                "InvalidImageName",
                'Failed to apply default image tag "/cloudfoundry/x:y": couldn\'t parse image reference',
            )
        ],
    )
    assert kinds(d.on_pod(None, pod, at(1))) == [("incident.opened", "image-pull")]
