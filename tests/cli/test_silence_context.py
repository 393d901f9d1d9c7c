"""`silence add --context NAME`: a silence made on a laptop reaches the in-cluster watcher's
console through the API server's service proxy, with the user's own kube credentials.

Real over fake: the real console app over a real SQLite store, behind the fake API server's
service proxy (which, like kube-apiserver, authenticates the caller and removes the
``Authorization`` header before forwarding); the real CLI in a subprocess. A middleware on the
console records the headers it received, to show the user's kube token never reaches it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from podsleuth.console.app import ConsoleSettings, create_app
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.store import Store, open_store
from tests.fakes.net import free_port

KUBE_TOKEN = "alice-kube-bearer-token-0123456789"
WRITE_TOKEN = "console-write-token-0123456789abcdef"
NS, SVC = "podsleuth", "podsleuth-watcher"


@dataclass
class Cluster:
    api: FakeApiServer
    store: Store
    kubeconfig: Path
    token_file: Path
    console_url: str
    seen: list[dict[str, str]] = field(default_factory=list)

    async def silence(self, *args: str, kubeconfig: bool = True) -> tuple[int, str, str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)} if kubeconfig else dict(os.environ)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "podsleuth", "silence", "add", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()


async def _console(store: Store, port: int, token: str | None, seen: list[dict[str, str]]) -> web.AppRunner:
    app = create_app(ConsoleSettings(store=store, write_token=token))

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        seen.append(dict(request.headers))
        return await handler(request)

    app.middlewares.insert(0, record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    store = await open_store(f"sqlite:///{tmp_path / 'watcher.db'}")
    seen: list[dict[str, str]] = []
    port = free_port()
    runner = await _console(store, port, WRITE_TOKEN, seen)
    console_url = f"http://127.0.0.1:{port}"
    api = FakeApiServer(token=KUBE_TOKEN, user="alice", bookmark_interval=None)
    await api.start()
    api.add_service(NS, SVC, ports={"metrics": 9090, "ui": 8080}, upstream={"ui": console_url})
    token_file = tmp_path / "write-token"
    token_file.write_text(WRITE_TOKEN + "\n")
    try:
        yield Cluster(api, store, api.kubeconfig_path(tmp_path), token_file, console_url, seen)
    finally:
        await api.stop()
        await runner.cleanup()
        await store.aclose()


async def test_a_laptop_silence_lands_in_the_in_cluster_consoles_store(cluster: Cluster) -> None:
    code, out, err = await cluster.silence(
        "--context", "fake", "--match", "namespace=shop", "--for", "1h",
        "--token-file", str(cluster.token_file), "--comment", "deploy",
    )  # fmt: skip
    assert code == 0, err
    silences = await cluster.store.silences(now=time.time())
    assert [s.matchers for s in silences] == [{"namespace": "shop"}]
    assert out.strip() == f"silence {silences[0].id} added until " + time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(silences[0].ends_at)
    )
    assert 3590 < silences[0].ends_at - time.time() <= 3600 and silences[0].comment == "deploy"
    # the API server saw the kube token; the console saw the write token, never the kube one
    assert any(p.endswith(f"/services/{SVC}:ui/proxy/api/silences") for _m, p, _q in cluster.api.requests)
    posted = [h for h in cluster.seen if h.get("X-Podsleuth-Token")]
    assert len(posted) == 1 and posted[0]["X-Podsleuth-Token"] == WRITE_TOKEN
    assert "Authorization" not in posted[0]
    assert not any(KUBE_TOKEN in v for h in cluster.seen for v in h.values())


async def test_json_output_and_an_explicit_kubeconfig_and_service(cluster: Cluster) -> None:
    code, out, err = await cluster.silence(
        "--kubeconfig", str(cluster.kubeconfig), "--service", f"{NS}/{SVC}:8080", "--match", "pod=cart-*",
        "--for", "30m", "--token-file", str(cluster.token_file), "-o", "json", kubeconfig=False,
    )  # fmt: skip
    assert code == 0, err
    assert '"matchers": {"pod": "cart-*"}' in out
    assert [s.matchers for s in await cluster.store.silences(now=time.time())] == [{"pod": "cart-*"}]


async def _refused(cluster: Cluster, *extra: str, token: Path | None = None) -> str:
    code, _out, err = await cluster.silence(
        "--context", "fake", "--match", "namespace=shop", "--for", "1h",
        "--token-file", str(token or cluster.token_file), *extra,
    )  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (code, err)
    assert await cluster.store.silences(now=time.time()) == []
    return err


async def test_a_wrong_write_token_is_the_consoles_refusal(cluster: Cluster, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("w" * 32)
    err = await _refused(cluster, token=wrong)
    assert "refused the write token" in err and "HTTP 401" in err


async def test_no_console_running_says_so(cluster: Cluster) -> None:
    cluster.api.endpoints.clear()  # no ready endpoint: 503 from the API server itself
    err = await _refused(cluster)
    assert "no ready endpoint" in err and "--ui-port" in err and 'no endpoints available for service' in err
    cluster.api.endpoints[(NS, SVC)] = {"ui": f"http://127.0.0.1:{free_port()}"}  # endpoint, nobody home
    err = await _refused(cluster)
    assert "no ready endpoint" in err and "error trying to reach service" in err


async def test_rbac_and_missing_service_name_what_to_fix(cluster: Cluster) -> None:
    err = await _refused(cluster, "--service", f"{NS}/nope:ui")
    assert f"no service {NS}/nope" in err
    cluster.api.deny("create", "services/proxy")
    err = await _refused(cluster)
    assert "alice cannot create services/proxy" in err and "podsleuth-silencer" in err and f'"{NS}"' in err


async def test_kube_credentials_refused_is_not_the_consoles_401(cluster: Cluster) -> None:
    cluster.api.token = "someone-elses-token-0123456789"
    err = await _refused(cluster)
    assert "unauthorized" in err and "write token" not in err


async def test_a_read_only_console_says_how_to_make_it_writable(cluster: Cluster) -> None:
    port = free_port()
    runner = await _console(cluster.store, port, None, [])
    try:
        cluster.api.endpoints[(NS, SVC)] = {"ui": f"http://127.0.0.1:{port}"}
        err = await _refused(cluster)
        assert "read-only" in err and "--ui-token-file" in err
    finally:
        await runner.cleanup()


async def test_bad_invocations_are_one_line_usage_errors(cluster: Cluster) -> None:
    code, _out, err = await cluster.silence("--context", "fake", "--console", cluster.console_url,
                                            "--match", "namespace=a", "--for", "1h")  # fmt: skip
    assert code == 2 and "--console and --context" in err and len(err.strip().splitlines()) == 1
    code, _out, err = await cluster.silence("--context", "nosuch", "--match", "namespace=a", "--for", "1h",
                                            "--token-file", str(cluster.token_file))  # fmt: skip
    assert code == 2 and "context 'nosuch' not found" in err and len(err.strip().splitlines()) == 1
    code, _out, err = await cluster.silence(
        "--service", "podsleuth-watcher", "--match", "namespace=a", "--for", "1h",
        "--token-file", str(cluster.token_file),
    )  # fmt: skip
    assert code == 2 and "NAMESPACE/NAME:PORT" in err
    assert cluster.seen == []


async def test_the_fake_proxy_forwards_like_kube_apiserver(cluster: Cluster) -> None:
    """Method, path remainder, query and body go through; Authorization does not; the upstream's
    status and body come back; a named port must be named."""
    got: list[tuple[str, str, str, bytes, dict[str, str]]] = []

    async def echo(request: web.Request) -> web.Response:
        got.append((request.method, request.path, request.query_string, await request.read(),
                    dict(request.headers)))  # fmt: skip
        return web.json_response({"echo": True}, status=418)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    cluster.api.add_service("shop", "echo", ports={"http": 80}, upstream={"http": f"http://127.0.0.1:{port}"})
    base = f"{cluster.api.url}/api/v1/namespaces/shop/services"
    auth = {"Authorization": f"Bearer {KUBE_TOKEN}", "X-Extra": "kept"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            async with http.put(f"{base}/echo:http/proxy/a/b?x=1&y=2", data=b"payload", headers=auth) as r:
                assert r.status == 418 and await r.json() == {"echo": True}
            async with http.get(f"{base}/echo/proxy/", headers=auth) as r:
                assert r.status == 503 and "no endpoints available" in (await r.json())["message"]
            async with http.get(f"{base}/echo:http/proxy/", headers={"X-Extra": "no kube token"}) as r:
                assert r.status == 401
    finally:
        await runner.cleanup()
    assert len(got) == 1
    method, path, query, body, headers = got[0]
    assert (method, path, query, body) == ("PUT", "/a/b", "x=1&y=2", b"payload")
    assert headers["X-Extra"] == "kept" and "Authorization" not in headers and "X-Forwarded-For" in headers


def test_the_documented_silencer_role_grants_exactly_what_the_cli_requests() -> None:
    """The Role in docs/alerting.md must name the resource, verb and name (port included, as
    RBAC matches the URL's name) of the request the CLI makes with the default --service, and
    the one Secret it reads when no --token-file is given."""
    import re

    import yaml

    from podsleuth.cli.console_client import DEFAULT_SERVICE, parse_service

    text = (Path(__file__).parents[2] / "docs" / "alerting.md").read_text(encoding="utf-8")
    section = text.split("### Silences from a laptop", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    role, binding = yaml.safe_load_all(block[1])
    ns, name, port = parse_service(DEFAULT_SERVICE)
    assert role["kind"] == "Role" and role["metadata"] == {"name": "podsleuth-silencer", "namespace": ns}
    from podsleuth.deploy.common import UI_TOKEN_SECRET

    assert role["rules"] == [{"apiGroups": [""], "resources": ["services/proxy"],
                              "resourceNames": [f"{name}:{port}"], "verbs": ["create"]},
                             {"apiGroups": [""], "resources": ["secrets"],
                              "resourceNames": [UI_TOKEN_SECRET], "verbs": ["get"]}]  # fmt: skip
    assert binding["roleRef"]["name"] == "podsleuth-silencer" and binding["metadata"]["namespace"] == ns


def _secret(cluster: Cluster, data: dict[str, str]) -> None:
    from podsleuth.lab.fake_apiserver.store import Kind

    secrets = Kind("v1", "secrets", "Secret", True)
    if secrets.key not in cluster.api.store.by_key:
        cluster.api.register(secrets)
    cluster.api.put("secrets", {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": data,
                                "metadata": {"name": "podsleuth-ui-token", "namespace": NS}})  # fmt: skip


async def test_without_token_file_the_token_comes_from_the_watchers_secret(cluster: Cluster) -> None:
    """`podsleuth manifests` mounts the Secret podsleuth-ui-token into the watcher; a user who may
    read it needs no token file. The token goes to the console only, never to the output."""
    import base64

    _secret(cluster, {"token": base64.b64encode(WRITE_TOKEN.encode()).decode()})
    code, out, err = await cluster.silence("--context", "fake", "--match", "namespace=shop", "--for", "1h")
    assert code == 0, err
    assert [s.matchers for s in await cluster.store.silences(now=time.time())] == [{"namespace": "shop"}]
    assert WRITE_TOKEN not in out + err
    secret_path = f"/api/v1/namespaces/{NS}/secrets/podsleuth-ui-token"
    assert any(p == secret_path for _m, p, _q in cluster.api.requests)
    assert [h["X-Podsleuth-Token"] for h in cluster.seen if h.get("X-Podsleuth-Token")] == [WRITE_TOKEN]


async def test_without_token_file_each_way_the_secret_fails_is_one_line(cluster: Cluster) -> None:
    async def refused() -> str:
        code, _out, err = await cluster.silence("--context", "fake", "--match", "namespace=a", "--for", "1h")
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (code, err)
        return err

    err = await refused()  # no such Secret
    assert "no write token yet" in err
    assert "kubectl -n podsleuth create secret generic podsleuth-ui-token" in err
    _secret(cluster, {"other": "eA=="})
    assert "has no 'token' key" in await refused()
    _secret(cluster, {"token": "c2hvcnQ="})  # "short"
    assert "shorter than 16" in await refused()
    cluster.api.deny("get", "secrets")
    err = await refused()
    assert "may not read the Secret podsleuth/podsleuth-ui-token" in err and "--token-file" in err
    assert cluster.seen == [] and await cluster.store.silences(now=time.time()) == []
