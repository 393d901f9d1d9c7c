"""Bearer tokens, token files that rotate, and basic auth, against the fake API server."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from podsleuth.errors import ApiUnauthorized, KubeconfigError
from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.kube.conftest import write_kubeconfig


def _rotate(path: Path, token: str) -> None:
    """The kubelet's way: write aside, then rename over (a new inode)."""
    aside = path.with_suffix(".new")
    aside.write_text(token + "\n")
    os.replace(aside, path)


async def test_token_file_is_re_read_when_it_rotates(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("first-token\n")
    async with FakeApiServer(token="first-token", bookmark_interval=None) as api:
        path = write_kubeconfig(tmp_path / "kubeconfig", {"server": api.url}, {"tokenFile": "token"})
        async with await connect(kubeconfig=str(path), context=None, request_timeout=5.0) as client:
            assert b'"items":[]' in await client.get("/api/v1/pods", {})
            api.token = "second-token"
            with pytest.raises(ApiUnauthorized):
                await client.get("/api/v1/pods", {})
            _rotate(tmp_path / "token", "second-token")
            assert b'"items":[]' in await client.get("/api/v1/pods", {})
            os.unlink(tmp_path / "token")  # mid-rotation: the last good token is kept
            assert b'"items":[]' in await client.get("/api/v1/pods", {})


async def test_token_file_rewritten_in_place_is_noticed(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("aaaa")
    async with FakeApiServer(token="aaaa", bookmark_interval=None) as api:
        path = write_kubeconfig(tmp_path / "kubeconfig", {"server": api.url}, {"tokenFile": str(token)})
        async with await connect(kubeconfig=str(path), context=None, request_timeout=5.0) as client:
            await client.get("/api/v1/pods", {})
            token.write_text("bbbb")  # same size, same inode
            os.utime(token, ns=(1, 1))
            api.token = "bbbb"
            assert b'"items":[]' in await client.get("/api/v1/pods", {})


async def test_missing_token_file_fails_at_start(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", {"server": "http://127.0.0.1:1"}, {"tokenFile": "gone"})
    with pytest.raises(KubeconfigError) as info:
        await connect(kubeconfig=str(path), context=None)
    assert str(info.value) == (
        f"kubeconfig {path}: users 'test': token file {tmp_path / 'gone'} cannot be read: FileNotFoundError"
    )


async def test_basic_auth_header(tmp_path: Path) -> None:
    async with FakeApiServer(bookmark_interval=None) as api:
        api.authorization = "Basic " + base64.b64encode(b"admin:pa:ss").decode()
        good = write_kubeconfig(
            tmp_path / "a" / "kubeconfig", {"server": api.url}, {"username": "admin", "password": "pa:ss"}
        )
        async with await connect(kubeconfig=str(good), context=None, request_timeout=5.0) as client:
            assert b'"items":[]' in await client.get("/api/v1/pods", {})
        bad = write_kubeconfig(
            tmp_path / "b" / "kubeconfig",
            {"server": api.url},
            {"username": "admin", "password": "n0pe-secret"},
        )
        async with await connect(kubeconfig=str(bad), context=None, request_timeout=5.0) as client:
            with pytest.raises(ApiUnauthorized) as info:
                await client.get("/api/v1/pods", {})
    assert "n0pe-secret" not in str(info.value) and "pa:ss" not in str(info.value)


async def test_token_and_basic_auth_together_is_refused(tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "kubeconfig",
        {"server": "http://127.0.0.1:1"},
        {"token": "t0ken-value", "username": "u", "password": "p4ssword"},
    )
    with pytest.raises(KubeconfigError) as info:
        await connect(kubeconfig=str(path), context=None)
    assert "more than one authentication method (token, basicAuth)" in str(info.value)
    assert "t0ken-value" not in str(info.value) and "p4ssword" not in str(info.value)
