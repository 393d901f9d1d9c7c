"""TokenReview auth of the node agent, against the real agent app and the fake API server.

The agent asks the API server about any bearer token that is not its file token: allowed
ServiceAccount -> 200, another authenticated user -> 403, unknown -> 401, API server down or
refusing -> 503 (never 401, never a crash). Answers are cached by a hash of the token, and no
token ever reaches the logs. The watcher side sends its ServiceAccount token when it has no
token file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from podsleuth.config import NodeAgentSettings
from podsleuth.diagnose import node_agent
from podsleuth.lab.fake_apiserver import FakeApiServer
from podsleuth.node.check import CheckOptions
from podsleuth.node.server import AGENT, ServerConfig, make_app
from podsleuth.node.tokenreview import TokenReviewConfig, in_cluster_api_server

FILE_TOKEN = "file-token-0123456789"
AGENT_API_TOKEN = "agent-sa-token-for-the-apiserver"  # what the agent presents to the API server
WATCHER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.watcher-sa-token.c2lnbmF0dXJl"
OTHER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.some-other-pod-token.c2lnbmF0dXJl"
UNKNOWN_TOKEN = "eyJhbGciOiJSUzI1NiJ9.forged-or-expired.c2lnbmF0dXJl"
WATCHER_USER = "system:serviceaccount:podsleuth:podsleuth-watcher"
OTHER_USER = "system:serviceaccount:default:default"
UID = "0b7e6a3c-1f2d-4c5e-9a8b-7c6d5e4f3a21"
SECRETS = (FILE_TOKEN, AGENT_API_TOKEN, WATCHER_TOKEN, OTHER_TOKEN, UNKNOWN_TOKEN)

Client = TestClient  # type: ignore[type-arg]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reviews(api: FakeApiServer) -> int:
    return sum(1 for m, p, _ in api.requests if m == "POST" and p.endswith("/tokenreviews"))


@pytest.fixture
async def api() -> AsyncIterator[FakeApiServer]:
    async with FakeApiServer(token=AGENT_API_TOKEN, bookmark_interval=None) as server:
        server.add_token_review(WATCHER_TOKEN, WATCHER_USER)
        server.add_token_review(OTHER_TOKEN, OTHER_USER)
        yield server


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    kubelet = tmp_path / "kubelet"
    (kubelet / "pods" / UID / "volumes" / "kubernetes.io~empty-dir" / "cache").mkdir(parents=True)
    (tmp_path / "kern.log").write_text("")
    (tmp_path / "file-token").write_text(FILE_TOKEN + "\n")
    (tmp_path / "agent-api-token").write_text(AGENT_API_TOKEN + "\n")
    return {"kubelet": str(kubelet), "kern": str(tmp_path / "kern.log"),
            "token": str(tmp_path / "file-token"), "api_token": str(tmp_path / "agent-api-token")}


AgentFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def agent(files: dict[str, str]) -> AgentFactory:
    """Start the real agent app; ``server`` is the API server URL it asks."""

    class _Agent:
        def __init__(self, server: str, *, token_file: bool = True, timeout: float = 5.0,
                     api_token_file: str | None = files["api_token"]) -> None:
            review = TokenReviewConfig(allowed_users=frozenset({WATCHER_USER}), api_server=server,
                                       api_token_file=api_token_file, api_ca_file=None, timeout=timeout)
            opts = CheckOptions(kubelet_dirs=(files["kubelet"],), mount_pid="self",
                                kernel_log=files["kern"], probe_timeout=2.0)
            self.app = make_app(ServerConfig(options=opts, token_file=files["token"] if token_file else None,
                                             token_review=review))
            self.client: Client | None = None

        async def __aenter__(self) -> Client:
            self.client = TestClient(TestServer(self.app))
            await self.client.start_server()
            return self.client

        async def __aexit__(self, *exc: Any) -> None:
            assert self.client is not None
            await self.client.close()

    return _Agent


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def test_allowed_forbidden_unauthenticated(api: FakeApiServer, agent: AgentFactory,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with agent(api.url) as client:
        r = await client.get("/v1/findings", headers=bearer(WATCHER_TOKEN))
        assert r.status == 200, await r.text()
        assert "findings" in await r.json()
        r = await client.get("/v1/kernel-events", headers=bearer(OTHER_TOKEN))
        assert r.status == 403, await r.text()
        r = await client.get("/v1/findings", headers=bearer(UNKNOWN_TOKEN))
        assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        # the file token still works, without asking the API server
        before = reviews(api)
        assert (await client.get("/v1/kernel-events", headers=bearer(FILE_TOKEN))).status == 200
        # no or a non-bearer credential: 401 at once, no review either
        assert (await client.get("/v1/findings")).status == 401
        basic = {"Authorization": f"Basic {WATCHER_TOKEN}"}
        assert (await client.get("/v1/findings", headers=basic)).status == 401
        assert reviews(api) == before
        metrics = await (await client.get("/metrics")).text()
        assert 'podsleuth_node_auth_total{method="tokenreview",result="allowed"} 1.0' in metrics
        assert 'podsleuth_node_auth_total{method="tokenreview",result="forbidden"} 1.0' in metrics
        assert 'podsleuth_node_auth_total{method="file",result="ok"} 1.0' in metrics
    assert "not an --allow-user" in caplog.text and OTHER_USER in caplog.text
    assert_no_secret(caplog.text)


async def test_the_review_is_the_real_wire_shape(agent: AgentFactory) -> None:
    """What a real kube-apiserver gets: the agent's own token, the v1 TokenReview body."""
    seen: list[tuple[str, str, str | None, Any]] = []

    async def tokenreviews(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((request.method, request.path, request.headers.get("Authorization"), body))
        return web.json_response({**body, "status": {"authenticated": True,
                                                     "user": {"username": WATCHER_USER}}}, status=201)

    app = web.Application()
    app.router.add_post("/apis/authentication.k8s.io/v1/tokenreviews", tokenreviews)
    async with TestServer(app) as fake, agent(str(fake.make_url("")).rstrip("/")) as client:
        assert (await client.get("/v1/findings", headers=bearer(WATCHER_TOKEN))).status == 200
    assert seen == [("POST", "/apis/authentication.k8s.io/v1/tokenreviews", f"Bearer {AGENT_API_TOKEN}",
                     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                      "spec": {"token": WATCHER_TOKEN}})]


async def test_answers_are_cached_and_shared(api: FakeApiServer, agent: AgentFactory) -> None:
    async with agent(api.url) as client:
        for _ in range(3):
            assert (await client.get("/v1/kernel-events", headers=bearer(WATCHER_TOKEN))).status == 200
        assert reviews(api) == 1
        metrics = await (await client.get("/metrics")).text()
        assert "podsleuth_node_token_review_calls_total 1.0" in metrics
        for _ in range(3):
            assert (await client.get("/v1/kernel-events", headers=bearer(UNKNOWN_TOKEN))).status == 401
        assert reviews(api) == 2  # negative answers are cached too
        # a burst with a new token makes one review, not one per request
        api.add_token_review("eyJ.burst.token", WATCHER_USER)
        rs = await asyncio.gather(*(client.get("/v1/kernel-events", headers=bearer("eyJ.burst.token"))
                                    for _ in range(5)))
        assert [r.status for r in rs] == [200] * 5
        assert reviews(api) == 3
        # after the TTL the API server is asked again: a deleted ServiceAccount stops working
        reviewer = client.server.app[AGENT].reviewer
        assert reviewer is not None
        api.remove_token_review(WATCHER_TOKEN)
        now = reviewer.clock()
        reviewer.clock = lambda: now + 61.0
        assert (await client.get("/v1/kernel-events", headers=bearer(WATCHER_TOKEN))).status == 401
        assert reviews(api) == 4
        # the cache holds hashes, not tokens
        assert all(isinstance(k, bytes) and len(k) == 32 for k in reviewer.cached_keys)
        assert not any(WATCHER_TOKEN.encode() in k for k in reviewer.cached_keys)


async def test_cache_is_bounded(api: FakeApiServer, agent: AgentFactory) -> None:
    async with agent(api.url) as client:
        reviewer = client.server.app[AGENT].reviewer
        assert reviewer is not None
        reviewer.config = dataclasses.replace(reviewer.config, cache_size=4)
        for i in range(10):
            assert (await client.get("/v1/kernel-events", headers=bearer(f"eyJ.junk.{i}"))).status == 401
        assert len(reviewer.cached_keys) == 4


async def test_api_server_down_is_503_not_401(api: FakeApiServer, agent: AgentFactory,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with agent(api.url, timeout=1.0) as client:
        await api.stop()  # connection refused
        r = await client.get("/v1/findings", headers=bearer(WATCHER_TOKEN))
        assert r.status == 503, await r.text()
        assert "API server" in (await r.json())["error"]
        # the file token does not depend on the API server
        assert (await client.get("/v1/kernel-events", headers=bearer(FILE_TOKEN))).status == 200
        # unavailability is not cached: back up, the same token works at once
        await api.start()
        assert (await client.get("/v1/kernel-events", headers=bearer(WATCHER_TOKEN))).status == 200
    assert "cannot verify a bearer token" in caplog.text
    assert_no_secret(caplog.text)


async def test_silent_api_server_times_out_as_503(agent: AgentFactory) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # read nothing, answer nothing

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with agent(f"http://127.0.0.1:{port}", timeout=0.5) as client:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            r = await client.get("/v1/findings", headers=bearer(WATCHER_TOKEN))
            assert r.status == 503
            assert loop.time() - t0 < 3.0
    finally:
        for w in accepted:
            w.close()
        server.close()
        await server.wait_closed()


async def test_api_server_refusing_the_agent_is_503(api: FakeApiServer, agent: AgentFactory,
                                                    files: dict[str, str], tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = tmp_path / "wrong-api-token"
    wrong.write_text("not-the-agent-token")
    async with agent(api.url, api_token_file=str(wrong)) as client:  # API server: 401 to the agent
        assert (await client.get("/v1/findings", headers=bearer(WATCHER_TOKEN))).status == 503
    api.deny("create", "authentication.k8s.io/tokenreviews")  # RBAC edited away: 403 to the agent
    async with agent(api.url) as client:
        assert (await client.get("/v1/findings", headers=bearer(WATCHER_TOKEN))).status == 503
    async with agent(api.url, api_token_file=str(tmp_path / "missing")) as client:
        assert (await client.get("/v1/findings", headers=bearer(WATCHER_TOKEN))).status == 503
    assert "HTTP 401" in caplog.text and "HTTP 403" in caplog.text
    assert_no_secret(caplog.text)


async def test_fake_api_server_token_reviews(api: FakeApiServer) -> None:
    import aiohttp

    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": WATCHER_TOKEN}}
    url = api.url + "/apis/authentication.k8s.io/v1/tokenreviews"
    async with aiohttp.ClientSession() as s:
        async with s.post(url, json=body) as r:  # the reviewer itself must be authenticated
            assert r.status == 401
        async with s.post(url, json=body, headers=bearer(AGENT_API_TOKEN)) as r:
            assert r.status == 201
            out = await r.json()
        assert out["status"]["authenticated"] is True
        assert out["status"]["user"]["username"] == WATCHER_USER
        assert "system:serviceaccounts:podsleuth" in out["status"]["user"]["groups"]
        body["spec"]["token"] = UNKNOWN_TOKEN
        async with s.post(url, json=body, headers=bearer(AGENT_API_TOKEN)) as r:
            assert r.status == 201 and (await r.json())["status"]["authenticated"] is False
        async with s.get(url, headers=bearer(AGENT_API_TOKEN)) as r:
            assert r.status == 405


# ---- the watcher side ------------------------------------------------------------------------


async def test_watcher_sends_its_service_account_token_without_a_token_file(
        api: FakeApiServer, agent: AgentFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sa = tmp_path / "sa-token"
    sa.write_text(WATCHER_TOKEN + "\n")
    async with agent(api.url, token_file=False) as client:  # TokenReview only
        base = str(client.make_url("")).rstrip("/")
        settings = NodeAgentSettings(discovery="static", urls={"node-1": base}, timeout=5.0)
        report = await node_agent.ask(None, settings, node="node-1", pod_uid=UID, kubelet_dir=None,
                                      since=3600, sa_token_file=str(sa))
        assert report.source == base
        assert reviews(api) == 1  # two calls, one review
        # rotated on disk: read per call
        sa.write_text(OTHER_TOKEN)
        with pytest.raises(node_agent.AgentUnavailable, match="403"):
            await node_agent.ask_http(base, settings, pod_uid=None, since=60, sa_token_file=str(sa))
        # outside a pod (no SA token file): no header, a 401
        with pytest.raises(node_agent.AgentUnavailable, match="401"):
            await node_agent.ask_http(base, settings, pod_uid=None, since=60,
                                      sa_token_file=str(tmp_path / "absent"))
    assert_no_secret(caplog.text)


async def test_watcher_token_file_wins_over_the_service_account_token(
        api: FakeApiServer, agent: AgentFactory, files: dict[str, str], tmp_path: Path) -> None:
    sa = tmp_path / "sa-token"
    sa.write_text(OTHER_TOKEN)  # would be 403
    async with agent(api.url) as client:
        base = str(client.make_url("")).rstrip("/")
        settings = NodeAgentSettings(discovery="static", urls={"n": base}, token_file=files["token"])
        report = await node_agent.ask_http(base, settings, pod_uid=UID, since=60, sa_token_file=str(sa))
        assert report.source == base
        assert reviews(api) == 0  # the file token matched: the SA token was never sent


# ---- the command line ------------------------------------------------------------------------


def test_serve_option_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from podsleuth.cli import cli

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    tok = tmp_path / "t"
    tok.write_text("x")

    def run(*args: str) -> tuple[int, str]:
        r = CliRunner().invoke(cli, ["node", "serve", *args])
        return r.exit_code, r.output

    code, out = run()
    assert code == 2 and "--token-file or --token-review" in out
    code, out = run("--token-review", "--api-server", "http://127.0.0.1:1", "--api-token-file", str(tok))
    assert code == 2 and "--allow-user" in out
    code, out = run("--token-file", str(tok), "--allow-user", WATCHER_USER)
    assert code == 2 and "only makes sense with --token-review" in out
    code, out = run("--token-review", "--allow-user", WATCHER_USER)
    assert code == 2 and "KUBERNETES_SERVICE_HOST" in out
    code, out = run("--token-review", "--allow-user", WATCHER_USER, "--api-server", "http://127.0.0.1:1",
                    "--api-token-file", str(tmp_path / "nope"))
    assert code == 2 and "--api-token-file" in out
    code, out = run("--token-review", "--allow-user", WATCHER_USER, "--api-server", "https://10.0.0.1:443",
                    "--api-token-file", str(tok), "--api-ca-file", str(tmp_path / "nope"))
    assert code == 2 and "--api-ca-file" in out
    assert "Traceback" not in out


def test_in_cluster_api_server_url() -> None:
    assert in_cluster_api_server({}) is None
    assert in_cluster_api_server({"KUBERNETES_SERVICE_HOST": "10.96.0.1",
                                  "KUBERNETES_SERVICE_PORT": "443"}) == "https://10.96.0.1:443"
    assert in_cluster_api_server({"KUBERNETES_SERVICE_HOST": "fd00::1",
                                  "KUBERNETES_SERVICE_PORT": "443"}) == "https://[fd00::1]:443"
