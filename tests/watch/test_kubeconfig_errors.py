from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podsleuth.errors import ApiUnauthorized, KubeconfigError
from podsleuth.kube import connect
from podsleuth.lab.fake_apiserver import FakeApiServer


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(data))
    return path


def _config(*contexts: str, current: str | None = None) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
    }


async def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError) as info:
        await connect(kubeconfig=str(tmp_path / "nope"), context=None)
    assert str(info.value) == f"kubeconfig {tmp_path / 'nope'} does not exist"


async def test_unknown_context_lists_the_available_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, _config("prod", "staging", current="prod"))
    with pytest.raises(KubeconfigError) as info:
        await connect(kubeconfig=str(path), context="foo")
    assert str(info.value) == f"context 'foo' not found in {path} (available: prod, staging)"


async def test_no_current_context(tmp_path: Path) -> None:
    path = _write(tmp_path, _config("prod"))
    with pytest.raises(KubeconfigError, match=r"has no current-context; pass --context \(available: prod\)"):
        await connect(kubeconfig=str(path), context=None)


@pytest.mark.parametrize("text", ["{{{ not yaml", "- just\n- a list\n"])
async def test_not_a_kubeconfig(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(KubeconfigError) as info:
        await connect(kubeconfig=str(path), context=None)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


async def test_no_kubeconfig_and_not_in_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeconfigError, match="not running in a cluster"):
        await connect(kubeconfig=None, context=None)


async def test_bearer_token_is_sent_and_a_wrong_one_is_unauthorized(tmp_path: Path) -> None:
    async with FakeApiServer(token="s3cret-token", bookmark_interval=None) as api:
        good = api.kubeconfig_path(tmp_path)
        async with await connect(kubeconfig=str(good), context=None) as client:
            assert b'"items":[]' in await client.get("/api/v1/pods", {})
        bad_dir = tmp_path / "bad"
        bad_dir.mkdir()
        bad = api.kubeconfig_path(bad_dir, token="wrong-token")
        async with await connect(kubeconfig=str(bad), context=None) as client:
            with pytest.raises(ApiUnauthorized) as info:
                await client.get("/api/v1/pods", {})
    assert "wrong-token" not in str(info.value) and "s3cret" not in str(info.value)
