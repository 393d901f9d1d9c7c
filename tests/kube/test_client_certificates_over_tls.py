"""Client certificates and CAs over real TLS: the fake API server requires a client
certificate signed by the test CA, so a request succeeds only if the certificate was loaded."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import pytest

from podsleuth.errors import ApiError, KubeconfigError
from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.kube.conftest import Pki, write_kubeconfig


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _pods(path: Path) -> bytes:
    async with await connect(kubeconfig=str(path), context=None, request_timeout=5.0) as client:
        return await client.get("/api/v1/pods", {})


async def test_certificate_files_relative_to_the_kubeconfig(tmp_path: Path, pki: Pki) -> None:
    (tmp_path / "certs").mkdir()
    for name in ("ca.pem", "client.pem", "client-key.pem"):
        (tmp_path / "certs" / name).write_bytes((pki.dir / name).read_bytes())
    async with FakeApiServer(bookmark_interval=None, ssl_context=pki.server_context()) as api:
        path = write_kubeconfig(
            tmp_path / "kubeconfig",
            {"server": api.url, "certificate-authority": "certs/ca.pem"},
            {"client-certificate": "certs/client.pem", "client-key": "certs/client-key.pem"},
        )
        assert b'"items":[]' in await _pods(path)


async def test_certificate_data_leaves_no_key_file_behind(
    tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    async with FakeApiServer(bookmark_interval=None, ssl_context=pki.server_context()) as api:
        path = write_kubeconfig(
            tmp_path / "kubeconfig",
            {"server": api.url, "certificate-authority-data": b64(pki.ca)},
            {"client-certificate-data": b64(pki.client_cert), "client-key-data": b64(pki.client_key)},
        )
        assert b'"items":[]' in await _pods(path)
    assert list(scratch.iterdir()) == []


async def test_without_a_client_certificate_the_server_refuses(tmp_path: Path, pki: Pki) -> None:
    async with FakeApiServer(bookmark_interval=None, ssl_context=pki.server_context()) as api:
        path = write_kubeconfig(
            tmp_path / "kubeconfig", {"server": api.url, "certificate-authority-data": b64(pki.ca)}, {}
        )
        with pytest.raises(ApiError):
            await _pods(path)


async def test_another_ca_does_not_trust_the_server(tmp_path: Path, pki: Pki) -> None:
    async with FakeApiServer(bookmark_interval=None, ssl_context=pki.server_context()) as api:
        path = write_kubeconfig(
            tmp_path / "kubeconfig",
            {"server": api.url, "certificate-authority-data": b64(pki.other_ca)},
            {"client-certificate-data": b64(pki.client_cert), "client-key-data": b64(pki.client_key)},
        )
        with pytest.raises(ApiError, match="cannot reach the API server"):
            await _pods(path)


async def test_insecure_skip_tls_verify_accepts_an_unknown_ca(tmp_path: Path, pki: Pki) -> None:
    async with FakeApiServer(bookmark_interval=None, ssl_context=pki.server_context()) as api:
        path = write_kubeconfig(
            tmp_path / "kubeconfig",
            {"server": api.url, "insecure-skip-tls-verify": True},
            {"client-certificate-data": b64(pki.client_cert), "client-key-data": b64(pki.client_key)},
        )
        assert b'"items":[]' in await _pods(path)


async def test_insecure_with_a_ca_is_refused_like_client_go(tmp_path: Path, pki: Pki) -> None:
    path = write_kubeconfig(
        tmp_path / "kubeconfig",
        {
            "server": "https://127.0.0.1:1",
            "insecure-skip-tls-verify": True,
            "certificate-authority-data": b64(pki.ca),
        },
        {},
    )
    with pytest.raises(KubeconfigError, match="clusters 'test': specifying a root certificate"):
        await _pods(path)


@pytest.mark.parametrize(("name", "ok"), [("kube.test", True), ("wrong.test", False)])
async def test_tls_server_name_is_verified(tmp_path: Path, pki: Pki, name: str, ok: bool) -> None:
    async with FakeApiServer(bookmark_interval=None, ssl_context=pki.server_context()) as api:
        path = write_kubeconfig(
            tmp_path / "kubeconfig",
            {"server": api.url, "certificate-authority-data": b64(pki.ca), "tls-server-name": name},
            {"client-certificate-data": b64(pki.client_cert), "client-key-data": b64(pki.client_key)},
        )
        if ok:
            assert b'"items":[]' in await _pods(path)
        else:
            with pytest.raises(ApiError, match="cannot reach the API server"):
                await _pods(path)


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"client-certificate-data": "Zm9v"}, "needs both a certificate and a key"),
        (
            {"client-certificate-data": "Zm9v", "client-key-data": "Zm9v"},
            "client certificate or key is not usable",
        ),
        ({"client-certificate": "nope.pem", "client-key": "nope-key.pem"}, "does not exist"),
        ({"client-key-data": "not base64!"}, "client-key-data is not valid base64"),
    ],
)
async def test_bad_client_certificates_are_one_line(
    tmp_path: Path, user: dict[str, str], message: str
) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", {"server": "https://127.0.0.1:1"}, user)
    with pytest.raises(KubeconfigError) as info:
        await _pods(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert f"kubeconfig {path}: users 'test'" in str(info.value)
