"""The ambiguous registry denial is decided by the evidence around it (issue 17 item 2).

The registry's text comes from public reports (containerd's resolver wording, wrapped the way
kubelet reports a pull failure):
- https://github.com/COSCUP/COSCUP-Volunteer/issues/36 -- ``docker.io/library/coscupweb-base``:
  a repository that does not exist in Docker Hub's all-public ``library/`` namespace;
- https://github.com/devlikeapro/waha/issues/1302 -- ``devlikeapro/waha-plus``: a private Docker
  Hub repository pulled without credentials;
- https://github.com/rexray/rexray/issues/1379 -- the same containerd text for a plugin pull.
"""

from __future__ import annotations

from typing import Any

import pytest

from podsleuth.diagnose.api_images import registry_kind, split_image
from podsleuth.diagnose.evidence import DiagnosisRequest
from podsleuth.lab.fake_apiserver.store import Kind
from tests.diagnose.chain.conftest import NODE, Cluster, event, pod, waiting

DENIED = (
    "pull access denied, repository does not exist or may require authorization: server message: "
    "insufficient_scope: authorization failed"
)


def _msg(image: str) -> str:
    return (
        f'Failed to pull image "{image}": rpc error: code = Unknown desc = failed to pull and unpack image '
        f'"{image}": failed to resolve reference "{image}": {DENIED}'
    )


def _pod(
    name: str, image: str, *, secrets: list[str] | None = None, sa: str | None = None, pulled: bool = False
) -> dict[str, Any]:
    p = pod(
        name,
        containers=[{"name": "app", "image": image}],
        statuses=[
            {
                "name": "app",
                "ready": True,
                "restartCount": 0,
                "image": image,
                "imageID": f"{image.split(':')[0]}@sha256:{'a' * 64}",
                "state": {"running": {}},
            }
        ]
        if pulled
        else [waiting("app", "ErrImagePull", _msg(image), image=image, imageID="")],
        phase="Running" if pulled else "Pending",
    )
    if secrets:
        p["spec"]["imagePullSecrets"] = [{"name": s} for s in secrets]
    if sa:
        p["spec"]["serviceAccountName"] = sa
    return p


def _sa(name: str, secrets: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": "shop"},
        "imagePullSecrets": [{"name": s} for s in secrets],
    }


@pytest.fixture
def sa_cluster(cluster: Cluster) -> Cluster:
    """The chain's cluster with ServiceAccounts served (the fake API server's default set lacks them)."""
    cluster.api.register(Kind("v1", "serviceaccounts", "ServiceAccount", True))
    return cluster


async def _diagnose(cluster: Cluster, image: str) -> dict[str, Any]:
    return await cluster.diagnose(
        DiagnosisRequest(
            category="image-pull",
            reason="ErrImagePull",
            message=_msg(image),
            namespace="shop",
            pod="web-1",
            node=NODE,
            owner_kind="Deployment",
            owner_name="web",
        )
    )


@pytest.mark.parametrize(
    ("ref", "want"),
    [
        ("nginx:1.25", ("docker.io", "library/nginx", "1.25")),
        ("devlikeapro/waha-plus", ("docker.io", "devlikeapro/waha-plus", "latest")),
        ("registry.corp.example:5000/team/api:1.4", ("registry.corp.example:5000", "team/api", "1.4")),
        ("ghcr.io/x/y@sha256:abc", ("ghcr.io", "x/y", "sha256:abc")),
    ],
)
def test_image_references_split_like_docker(ref: str, want: tuple[str, str, str]) -> None:
    assert split_image(ref) == want


def test_registry_kinds() -> None:
    assert registry_kind("docker.io", "library/coscupweb-base") == "all-public"
    assert registry_kind("registry.k8s.io", "pause") == "all-public"
    assert registry_kind("docker.io", "devlikeapro/waha-plus") == "mixed"
    assert registry_kind("quay.io", "x/y") == registry_kind("ghcr.io", "x/y") == "mixed"
    assert registry_kind("registry.corp.example", "team/api") == "private"


async def test_all_public_namespace_means_the_repository_does_not_exist(sa_cluster: Cluster) -> None:
    image = "docker.io/library/coscupweb-base:21.07.08"
    sa_cluster.put("pods", _pod("web-1", image))
    d = await _diagnose(sa_cluster, image)
    assert d["root_cause"] == "image-not-found" and d["rule"] == "image-denied-public-registry"
    assert (
        "library/coscupweb-base does not exist" in d["summary"] and "not missing credentials" in d["summary"]
    )
    assert any(
        "docker manifest inspect docker.io/library/coscupweb-base:21.07.08" in c for c in d["next_checks"]
    )


async def test_private_registry_without_secrets_names_both_candidates(sa_cluster: Cluster) -> None:
    image = "registry.corp.example/team/api:1.4"
    sa_cluster.put("pods", _pod("web-1", image))
    sa_cluster.put("serviceaccounts", _sa("default", []))
    d = await _diagnose(sa_cluster, image)
    assert d["root_cause"] == "image-pull-auth" and d["rule"] == "image-denied-no-credentials"
    assert "no imagePullSecrets on the pod nor on ServiceAccount default" in d["summary"]
    assert "team/api does not exist" in d["summary"] and "most likely private" in d["summary"]
    assert 0.65 <= d["confidence"] <= 0.75
    checks = " ".join(d["next_checks"])
    assert "kubectl -n shop get pod web-1 -o jsonpath='{.spec.imagePullSecrets[*].name}'" in checks
    assert "kubectl -n shop get serviceaccount default" in checks
    assert "docker login registry.corp.example && docker pull registry.corp.example/team/api:1.4" in checks
    assert not any("/secrets" in path for _, path, _ in sa_cluster.api.requests), (
        "podsleuth never reads Secrets"
    )


async def test_other_pods_pulling_it_with_a_secret_decide_for_missing_auth(sa_cluster: Cluster) -> None:
    image = "devlikeapro/waha-plus:2025.7.8"
    sa_cluster.put("pods", _pod("web-1", image))
    sa_cluster.put("pods", _pod("worker-1", image, secrets=["hub-creds"], pulled=True))
    sa_cluster.put("pods", _pod("other-1", "devlikeapro/waha:latest", secrets=["x"], pulled=True))
    sa_cluster.put("serviceaccounts", _sa("default", []))
    d = await _diagnose(sa_cluster, image)
    assert d["rule"] == "image-denied-peers-have-secrets" and d["root_cause"] == "image-pull-auth"
    assert "pulled by shop/worker-1" in d["summary"] and "hub-creds" in d["summary"]
    assert "other-1" not in d["summary"]
    assert d["confidence"] >= 0.8


async def test_secret_on_the_service_account_added_after_the_pod(sa_cluster: Cluster) -> None:
    image = "quay.io/acme/private:3"
    sa_cluster.put("pods", _pod("web-1", image, sa="builder"))
    sa_cluster.put("serviceaccounts", _sa("builder", ["quay-pull"]))
    d = await _diagnose(sa_cluster, image)
    assert d["rule"] == "image-denied-sa-secret-added-later"
    assert "ServiceAccount builder lists quay-pull" in d["summary"]
    assert "kubectl -n shop delete pod web-1" in d["remediation"][0]


async def test_with_credentials_it_stays_ambiguous_and_says_so(sa_cluster: Cluster) -> None:
    image = "ghcr.io/acme/tool:1"
    sa_cluster.put("pods", _pod("web-1", image, secrets=["ghcr"]))
    sa_cluster.put("serviceaccounts", _sa("default", []))
    d = await _diagnose(sa_cluster, image)
    assert d["root_cause"] == "image-pull-auth-or-missing" and d["confidence"] <= 0.55
    assert "credentials are wrong, expired or lack access" in d["summary"]
    assert "or the repository does not exist" in d["summary"]


async def test_backoff_pod_is_decided_by_its_earlier_denied_pull_event(sa_cluster: Cluster) -> None:
    image = "registry.corp.example/team/api:1.4"
    backoff = f'Back-off pulling image "{image}"'
    p = _pod("web-1", image)
    p["status"]["containerStatuses"] = [waiting("app", "ImagePullBackOff", backoff, image=image, imageID="")]
    sa_cluster.put("pods", p)
    sa_cluster.put("events", event("web-1", "Failed", _msg(image)))
    sa_cluster.put("serviceaccounts", _sa("default", []))
    d = await sa_cluster.diagnose(
        DiagnosisRequest(
            category="image-pull",
            reason="ImagePullBackOff",
            message=backoff,
            namespace="shop",
            pod="web-1",
            node=NODE,
            owner_kind="Deployment",
            owner_name="web",
        )
    )
    assert d["rule"] == "image-denied-no-credentials", d["summary"]
    assert any(e["source"] == "api:image-pull" for e in d["evidence"])
