"""Exec credential plugins, run for real: a small Python script stands for ``aws eks
get-token`` & co. Its behaviour is set by ``plan.json`` in its state directory; it counts its
runs and records the ``KUBERNETES_EXEC_INFO`` it was given."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from podsleuth.errors import ApiUnauthorized, KubeconfigError
from podsleuth.kube import auth, connect, kubeconfig
from podsleuth.kube.exec_credential import ExecPlugin
from podsleuth.lab.fake_apiserver import FakeApiServer
from tests.kube.conftest import Pki, write_kubeconfig

PLUGIN = """\
import json, os, sys, time
state = os.environ["PLUGIN_STATE"]
plan = json.load(open(os.path.join(state, "plan.json")))
with open(os.path.join(state, "runs"), "a") as f:
    f.write("x")
with open(os.path.join(state, "info.json"), "w") as f:
    f.write(os.environ.get("KUBERNETES_EXEC_INFO", ""))
with open(os.path.join(state, "pid"), "w") as f:
    f.write(str(os.getpid()))
for line in plan.get("stderr", []):
    print(line, file=sys.stderr)
if plan.get("hang"):
    time.sleep(60)
if plan.get("raw") is not None:
    sys.stdout.write(plan["raw"])
    sys.exit(plan.get("exit", 0))
print(json.dumps({"kind": "ExecCredential", "apiVersion": plan.get("version", os.environ["PLUGIN_VERSION"]),
                  "status": plan["status"]}))
"""

V1, V1BETA1 = "client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"


class Plugin:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.script = directory / "plugin.py"
        self.script.write_text(f"#!{sys.executable}\n{PLUGIN}")
        self.script.chmod(0o755)

    def plan(self, **plan: Any) -> None:
        (self.dir / "plan.json").write_text(json.dumps(plan))

    @property
    def runs(self) -> int:
        path = self.dir / "runs"
        return len(path.read_text()) if path.exists() else 0

    @property
    def info(self) -> dict[str, Any]:
        return dict(json.loads((self.dir / "info.json").read_text()))

    def exec_config(self, version: str = V1, **extra: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "apiVersion": version, "command": str(self.script), "args": [],
            "env": [
                {"name": "PLUGIN_STATE", "value": str(self.dir)},
                {"name": "PLUGIN_VERSION", "value": version},
            ],
            "interactiveMode": "Never",
        }  # fmt: skip
        config.update(extra)
        return config


@pytest.fixture
def plugin(tmp_path: Path) -> Plugin:
    return Plugin(tmp_path / "plugin")


def _stamp(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("version", [V1, V1BETA1])
async def test_token_from_the_plugin_is_cached_without_expiry(
    tmp_path: Path, plugin: Plugin, version: str
) -> None:
    plugin.plan(status={"token": "tok-1"})
    exec_config = plugin.exec_config(version)
    if version == V1BETA1:
        del exec_config["interactiveMode"]  # optional before v1
    async with FakeApiServer(token="tok-1", bookmark_interval=None) as api:
        path = write_kubeconfig(tmp_path / "kubeconfig", {"server": api.url}, {"exec": exec_config})
        async with await connect(kubeconfig=str(path), context=None, request_timeout=5.0) as client:
            await client.get("/api/v1/pods", {})
            await client.get("/api/v1/pods", {})
    assert plugin.runs == 1
    assert plugin.info == {"kind": "ExecCredential", "apiVersion": version, "spec": {"interactive": False}}


async def test_expired_credential_runs_the_plugin_again(tmp_path: Path, plugin: Plugin) -> None:
    plugin.plan(status={"token": "tok-1", "expirationTimestamp": _stamp(timedelta(seconds=-1))})
    path = write_kubeconfig(
        tmp_path / "kubeconfig", {"server": "http://127.0.0.1:1"}, {"exec": plugin.exec_config()}
    )
    creds = await auth.load_credentials(kubeconfig=str(path), context=None)
    assert await creds.authorization() == "Bearer tok-1"
    assert plugin.runs == 2
    plugin.plan(status={"token": "tok-2", "expirationTimestamp": _stamp(timedelta(hours=1))})
    assert await creds.authorization() == "Bearer tok-2"
    assert await creds.authorization() == "Bearer tok-2"
    assert plugin.runs == 3


async def test_unauthorized_runs_the_plugin_again(tmp_path: Path, plugin: Plugin) -> None:
    plugin.plan(status={"token": "tok-1"})
    async with FakeApiServer(token="tok-1", bookmark_interval=None) as api:
        path = write_kubeconfig(tmp_path / "kubeconfig", {"server": api.url}, {"exec": plugin.exec_config()})
        async with await connect(kubeconfig=str(path), context=None, request_timeout=5.0) as client:
            await client.get("/api/v1/pods", {})
            api.token = "tok-2"  # revoked server-side; the plugin now hands out the new one
            plugin.plan(status={"token": "tok-2"})
            with pytest.raises(ApiUnauthorized):
                await client.get("/api/v1/pods", {})
            assert b'"items":[]' in await client.get("/api/v1/pods", {})
    assert plugin.runs == 2


async def test_hung_plugin_times_out_and_is_killed(tmp_path: Path, plugin: Plugin) -> None:
    plugin.plan(hang=True, status={"token": "x"})
    path = write_kubeconfig(tmp_path / "kubeconfig", {"server": "http://h:1"}, {"exec": plugin.exec_config()})
    selection = kubeconfig.load([path], context=None, explicit=True)
    assert selection.user.exec is not None
    hung = ExecPlugin(selection.user.exec, selection.cluster, timeout=0.5)
    with pytest.raises(ApiUnauthorized) as info:
        await hung.get()
    assert (
        str(info.value)
        == f"kubeconfig {path}: users 'test': exec plugin plugin.py did not answer within 0.5s"
    )
    with pytest.raises(ProcessLookupError):
        os.kill(int((plugin.dir / "pid").read_text()), 0)


@pytest.mark.parametrize(("plan", "message"), [
    ({"raw": "{not json"}, "plugin plugin.py did not print an ExecCredential (not JSON)"),
    ({"version": V1BETA1, "status": {"token": "t"}}, f"configured for {V1} but printed another apiVersion"),
    ({"status": {}}, "status has neither a token nor a client certificate"),
    ({"status": {"token": "t", "expirationTimestamp": "tomorrow"}}, "expirationTimestamp is not an RFC 3339"),
    ({"raw": "", "exit": 3, "stderr": ["boom"]}, "failed with exit status 3"),
])  # fmt: skip
async def test_bad_plugin_output_is_one_line(
    tmp_path: Path, plugin: Plugin, plan: dict[str, Any], message: str
) -> None:
    plugin.plan(**plan)
    path = write_kubeconfig(tmp_path / "kubeconfig", {"server": "http://h:1"}, {"exec": plugin.exec_config()})
    with pytest.raises(KubeconfigError) as info:
        await auth.load_credentials(kubeconfig=str(path), context=None)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(f"kubeconfig {path}: users 'test': exec")


async def test_missing_executable_shows_the_install_hint(tmp_path: Path, plugin: Plugin) -> None:
    config = plugin.exec_config(
        command="no-such-plugin-xyz", installHint="install it with: brew install xyz\nmore"
    )
    path = write_kubeconfig(tmp_path / "kubeconfig", {"server": "http://h:1"}, {"exec": config})
    with pytest.raises(KubeconfigError) as info:
        await auth.load_credentials(kubeconfig=str(path), context=None)
    assert str(info.value).endswith(
        "exec plugin no-such-plugin-xyz: executable not found (install it with: brew install xyz)"
    )


@pytest.mark.parametrize(("extra", "message"), [
    ({"interactiveMode": None}, f"interactiveMode must be specified for {V1}"),
    ({"interactiveMode": "Always"}, "interactiveMode Always needs a terminal"),
    ({"apiVersion": "client.authentication.k8s.io/v1alpha1"}, "apiVersion must be one of"),
    ({"command": None}, "command is required"),
])  # fmt: skip
async def test_exec_config_errors(
    tmp_path: Path, plugin: Plugin, extra: dict[str, Any], message: str
) -> None:
    path = write_kubeconfig(
        tmp_path / "kubeconfig", {"server": "http://h:1"}, {"exec": plugin.exec_config(**extra)}
    )
    with pytest.raises(KubeconfigError, match=message):
        await auth.load_credentials(kubeconfig=str(path), context=None)
    assert plugin.runs == 0


async def test_stderr_is_logged_without_the_token(
    tmp_path: Path, plugin: Plugin, caplog: pytest.LogCaptureFixture
) -> None:
    plugin.plan(
        status={"token": "tok-secret-1"}, stderr=["refreshing credentials", "got tok-secret-1"] + ["x"] * 9
    )
    path = write_kubeconfig(tmp_path / "kubeconfig", {"server": "http://h:1"}, {"exec": plugin.exec_config()})
    with caplog.at_level(logging.WARNING, logger="podsleuth.kube.exec_credential"):
        await auth.load_credentials(kubeconfig=str(path), context=None)
    messages = [r.getMessage() for r in caplog.records]
    assert "exec credential plugin plugin.py: refreshing credentials" in messages
    assert not any("tok-secret-1" in m for m in messages) and len(messages) == 5


async def test_provide_cluster_info(tmp_path: Path, plugin: Plugin) -> None:
    plugin.plan(status={"token": "t"})
    cluster = {
        "server": "https://h.example:6443",
        "tls-server-name": "kube.test",
        "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "x"}}],
    }
    path = write_kubeconfig(
        tmp_path / "kubeconfig", cluster, {"exec": plugin.exec_config(provideClusterInfo=True)}
    )
    await auth.load_credentials(kubeconfig=str(path), context=None)
    assert plugin.info["spec"] == {
        "interactive": False,
        "cluster": {
            "server": "https://h.example:6443",
            "tls-server-name": "kube.test",
            "config": {"audience": "x"},
        },
    }


async def test_client_certificate_from_the_plugin_over_tls(tmp_path: Path, plugin: Plugin, pki: Pki) -> None:
    plugin.plan(
        status={"clientCertificateData": pki.client_cert.decode(), "clientKeyData": pki.client_key.decode()}
    )
    async with FakeApiServer(bookmark_interval=None, ssl_context=pki.server_context()) as api:
        cluster = {"server": api.url, "certificate-authority": str(pki.dir / "ca.pem")}
        path = write_kubeconfig(tmp_path / "kubeconfig", cluster, {"exec": plugin.exec_config()})
        async with await connect(kubeconfig=str(path), context=None, request_timeout=5.0) as client:
            assert b'"items":[]' in await client.get("/api/v1/pods", {})
            assert await client.credentials.authorization() is None
