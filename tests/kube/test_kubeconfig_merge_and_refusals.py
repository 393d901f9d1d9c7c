"""Which kubeconfig, context, cluster and user are used (client-go's merge rules), and the
kubeconfig features we refuse with one line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from podsleuth.errors import KubeconfigError
from podsleuth.kube.auth import load_credentials
from tests.kube.conftest import write_kubeconfig


def _file(path: Path, current: str | None, clusters: dict[str, str], contexts: dict[str, str]) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in clusters.items()],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": c, "user": "u"}} for n, c in contexts.items()],
    }))  # fmt: skip
    return path


async def test_kubeconfig_list_merges_first_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _file(tmp_path / "one", "a", {"shared": "http://first:1"}, {"a": "shared"})
    second = _file(
        tmp_path / "two", "b", {"shared": "http://second:1", "own": "http://own:1"}, {"a": "own", "b": "own"}
    )
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "missing"), str(first), str(second)]))
    creds = await load_credentials(kubeconfig=None, context=None)
    assert (creds.context, creds.server) == (
        "a",
        "http://first:1",
    )  # current-context and cluster of the first
    creds = await load_credentials(kubeconfig=None, context="b")
    assert creds.server == "http://own:1"  # a context only the second file has


async def test_kubeconfig_list_of_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "x"), str(tmp_path / "y")]))
    with pytest.raises(KubeconfigError, match="does not exist"):
        await load_credentials(kubeconfig=None, context=None)


@pytest.mark.parametrize(("server", "cluster", "expected"), [
    ("127.0.0.1:6443", {}, "http://127.0.0.1:6443"),
    ("127.0.0.1:6443", {"insecure-skip-tls-verify": True}, "https://127.0.0.1:6443"),
    ("https://h.example/prefix/", {}, "https://h.example/prefix"),
])  # fmt: skip
async def test_server_url_defaults(
    tmp_path: Path, server: str, cluster: dict[str, Any], expected: str
) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", {"server": server, **cluster}, {"token": "t"})
    creds = await load_credentials(kubeconfig=str(path), context=None)
    assert creds.server == expected
    assert (creds.ssl is not None) == expected.startswith("https")
    assert await creds.authorization() == "Bearer t"


@pytest.mark.parametrize(("cluster", "user", "message"), [
    ({"proxy-url": "http://proxy:3128"}, {}, "clusters 'test': proxy-url is not supported"),
    ({}, {"auth-provider": {"name": "oidc", "config": {"id-token": "s3cr3t-id"}}},
     "users 'test': auth-provider is not supported"),
    ({"certificate-authority": "nope.pem"}, {}, "certificate-authority file"),
    ({"certificate-authority-data": "bm90IGEgY2VydA=="}, {}, "certificate-authority-data is not a usable CA"),
    ({"server": None}, {}, "clusters 'test': no server defined"),
    ({"insecure-skip-tls-verify": "yes"}, {}, "insecure-skip-tls-verify must be true or false"),
    ({}, {"token": 12345}, "users 'test': token must be a string"),
])  # fmt: skip
async def test_refused_with_one_line(
    tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any], message: str
) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", {"server": "https://127.0.0.1:1", **cluster}, user)
    with pytest.raises(KubeconfigError) as info:
        await load_credentials(kubeconfig=str(path), context=None)
    text = str(info.value)
    assert message in text and "\n" not in text and "s3cr3t" not in text and str(path) in text


async def test_auth_provider_points_to_exec_plugins(tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "kubeconfig", {"server": "https://127.0.0.1:1"}, {"auth-provider": {"name": "gcp"}}
    )
    with pytest.raises(KubeconfigError, match="use an exec credential plugin instead \\(oidc: kubelogin\\)"):
        await load_credentials(kubeconfig=str(path), context=None)


async def test_context_with_an_undefined_cluster(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump({"current-context": "x", "contexts": [{"name": "x", "context": {"cluster": "c"}}]})
    )
    with pytest.raises(KubeconfigError, match="context 'x' refers to a cluster that is not defined"):
        await load_credentials(kubeconfig=str(path), context=None)


async def test_context_without_a_user_has_no_authorization(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "current-context": "x", "clusters": [{"name": "c", "cluster": {"server": "http://h:1"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c"}}],
    }))  # fmt: skip
    creds = await load_credentials(kubeconfig=str(path), context=None)
    assert await creds.authorization() is None
