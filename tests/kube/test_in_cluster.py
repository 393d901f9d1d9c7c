"""The in-cluster service account, with the host paths injected: a temporary directory holds
``token`` and ``ca.crt`` as the kubelet would project them, and the fake API server speaks TLS."""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path

import pytest

from podsleuth.errors import KubeconfigError
from podsleuth.kube import KubeClient
from podsleuth.kube.auth import load_credentials
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.kube.conftest import Pki


@pytest.fixture
def in_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No kubeconfig anywhere; the service account directory (returned) is empty."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    return directory


def _project(directory: Path, token: str) -> None:
    """The kubelet's atomic writer: a new timestamped directory, then the ``..data`` symlink swapped."""
    data = directory / f"..{token}"
    data.mkdir()
    (data / "token").write_text(token)
    link = directory / "..data_tmp"
    link.symlink_to(data.name)
    os.replace(link, directory / "..data")
    if not (directory / "token").is_symlink():
        (directory / "token").symlink_to("..data/token")


async def test_service_account_token_rotates(in_pod: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    (in_pod / "ca.crt").write_bytes(pki.ca)
    _project(in_pod, "sa-token-1")
    server_ctx = pki.server_context()
    server_ctx.verify_mode = ssl.CERT_NONE  # the service account authenticates by token only
    async with FakeApiServer(token="sa-token-1", bookmark_interval=None, ssl_context=server_ctx) as api:
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
        creds = await load_credentials(kubeconfig=None, context=None, service_account_dir=in_pod)
        assert (creds.server, creds.context, creds.source) == (
            f"https://127.0.0.1:{api.port}",
            "in-cluster",
            "in-cluster",
        )
        async with KubeClient(credentials=creds, request_timeout=5.0) as client:
            assert b'"items":[]' in await client.get("/api/v1/pods", {})
            _project(in_pod, "sa-token-2")
            api.token = "sa-token-2"
            assert b'"items":[]' in await client.get("/api/v1/pods", {})


async def test_ipv6_service_host_is_bracketed(
    in_pod: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_pod / "ca.crt").write_bytes(pki.ca)
    (in_pod / "token").write_text("t")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    creds = await load_credentials(kubeconfig=None, context=None, service_account_dir=in_pod)
    assert creds.server == "https://[fd00::1]:443"
    assert await creds.authorization() == "Bearer t"


async def test_unreadable_ca_is_logged_and_system_roots_used(
    in_pod: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (in_pod / "token").write_text("t")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with caplog.at_level(logging.ERROR, logger="podsleuth.kube.in_cluster"):
        creds = await load_credentials(kubeconfig=None, context=None, service_account_dir=in_pod)
    assert creds.ssl is not None
    assert any("expected a root CA in" in r.getMessage() for r in caplog.records)


async def test_missing_token_is_one_line(in_pod: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(KubeconfigError) as info:
        await load_credentials(kubeconfig=None, context=None, service_account_dir=in_pod)
    assert (
        str(info.value)
        == f"in-cluster config: token file {in_pod / 'token'} cannot be read: FileNotFoundError"
    )


async def test_missing_port_is_not_in_cluster(in_pod: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    with pytest.raises(KubeconfigError, match="KUBERNETES_SERVICE_PORT must be defined"):
        await load_credentials(kubeconfig=None, context=None, service_account_dir=in_pod)
