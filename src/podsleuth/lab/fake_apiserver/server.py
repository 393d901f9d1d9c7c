"""``FakeApiServer``: an in-process kube-apiserver for tests, the demo and ``lab seed-incident``.

It serves the real wire protocol (see ``http``) from an in-memory ``Store`` and lets a test
change the world (``put``/``delete``/``compact``) and break it (``drop_watches``, ``stall_watches``,
``inject_error``, ``inject_line``, ``fail_requests`` (HTTP 5xx answers), ``slow_requests``
(delayed answers), ``stop``/``start`` on the same port, RBAC ``deny``, a bearer
``token`` that must match, ``disable_group``). ``add_token_review`` registers the tokens its
TokenReview endpoint vouches for. ``add_service`` makes a Service and the upstream its service
proxy forwards to (``proxy``).
"""

from __future__ import annotations

import asyncio
import copy
import ssl
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from podsleuth.lab.fake_apiserver import events, http, watches
from podsleuth.lab.fake_apiserver.store import DEFAULT_KINDS, Kind, Store

StreamingLists = Literal["on", "reject", "ignore"]
"""on: sendInitialEvents works; reject: 422 like a 1.27+ server with the gate off;
ignore: the parameter is ignored like a pre-1.27 server (plain watch with initial ADDED events)."""
GoneForm = Literal["expired", "gone", "http"]
"""How a too-old watch resourceVersion is answered: ERROR 410 Expired (current servers),
ERROR 410 Gone (old servers), or a plain HTTP 410 response."""

_EVENT_MIRRORS = {
    "events": ("events.k8s.io/events", events.core_to_v1),
    "events.k8s.io/events": ("events", events.v1_to_core),
}


def write_kubeconfig(path: Path, server: str, *, token: str | None = None, context: str = "fake") -> Path:
    """A kubeconfig for any API server URL (this fake, or a stub in a test or benchmark)."""
    import yaml

    user: dict[str, Any] = {"token": token} if token else {}
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": user}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path


class FakeApiServer:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        user: str = "system:serviceaccount:podsleuth:podsleuth",
        window: int = 10_000,
        streaming_lists: StreamingLists = "on",
        gone_form: GoneForm = "expired",
        bookmark_interval: float | None = 60.0,
        default_watch_timeout: float = 1800.0,
        kinds: tuple[Kind, ...] = DEFAULT_KINDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.ssl_context = ssl_context  # serve HTTPS (client-certificate tests: CERT_REQUIRED)
        self.token, self.user = token, user
        self.authorization: str | None = None  # an exact Authorization value to require (basic auth)
        self.streaming_lists: StreamingLists = streaming_lists
        self.gone_form: GoneForm = gone_form
        self.bookmark_interval = bookmark_interval
        self.default_watch_timeout = default_watch_timeout
        self.store = Store(kinds=kinds, window=window)
        self.watches: set[watches.WatchConn] = set()
        self.denied: set[tuple[str, str]] = set()
        self.denied_cluster_wide: set[tuple[str, str]] = set()
        """Denied only outside a namespace (cluster-scoped kinds, all-namespace lists): what an
        identity bound by Roles alone gets."""
        self.disabled_groups: set[str] = set()
        self.logs: dict[tuple[str, str, str, bool], str] = {}
        self.token_reviews: dict[str, str] = {}  # token -> username
        self.token_review_users: dict[str, tuple[str, tuple[str, ...]]] = {}  # username -> uid, groups
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.endpoints: dict[tuple[str, str], dict[str, str]] = {}  # (ns, service) -> port name -> URL
        self.failing = 0  # the next N resource requests are answered with fail_code
        self.fail_code = 500
        self.retry_after = 1  # the Retry-After of a 429 fault, seconds (kube-apiserver's is 1)
        self.delay = 0.0  # seconds every request waits before it is answered
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start serving; after a ``stop`` it comes back on the same port."""
        app = web.Application()

        async def route(request: web.Request) -> web.StreamResponse:
            return await http.handle(self, request)

        app.router.add_route("*", "/{tail:.*}", route)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.host, self.port, reuse_address=True, ssl_context=self.ssl_context
        )
        await site.start()
        self.port = self._runner.addresses[0][1]
        if self.bookmark_interval:
            self._ticker = asyncio.create_task(self._tick(self.bookmark_interval))

    async def stop(self) -> None:
        """Go down hard: open watches are dropped, new connections refused."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        self.drop_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeApiServer:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _tick(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.bookmark()

    def kubeconfig_path(self, directory: Path, *, context: str = "fake", token: str | None = None) -> Path:
        """Write a kubeconfig pointing at this server; returns its path."""
        return write_kubeconfig(
            Path(directory) / "kubeconfig", self.url, token=token or self.token, context=context
        )

    # ---- the world -----------------------------------------------------------------------

    def put(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace (bumps resourceVersion: ADDED or MODIFIED); Events show in both groups."""
        stored = self.store.put(kind, copy.deepcopy(obj))
        mirror = _EVENT_MIRRORS.get(kind)
        if mirror is not None and mirror[0] in self.store.by_key:
            self.store.put(mirror[0], mirror[1](stored))
        return stored

    def delete(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        mirror = _EVENT_MIRRORS.get(kind)
        if mirror is not None and mirror[0] in self.store.by_key:
            self.store.delete(mirror[0], namespace, name)
        return self.store.delete(kind, namespace, name)

    def compact(self) -> None:
        self.store.compact()

    def register(self, kind: Kind) -> None:
        self.store.register(kind)

    def deny(self, verb: str, kind: str = "*", *, cluster_wide_only: bool = False) -> None:
        """RBAC: answer 403 to ``verb`` (get/list/watch/create/update) on ``kind`` (``*`` = any;
        ``services/proxy`` for the service proxy, where a POST is ``create``);
        ``cluster_wide_only``: only to requests outside a namespace (what Roles alone allow)."""
        (self.denied_cluster_wide if cluster_wide_only else self.denied).add((verb, kind))

    def allow(self, verb: str, kind: str = "*") -> None:
        self.denied.discard((verb, kind))
        self.denied_cluster_wide.discard((verb, kind))

    def disable_group(self, group: str) -> None:
        """Stop serving an API group (404), e.g. ``events.k8s.io`` to test the core/v1 fallback."""
        self.disabled_groups.add(group)

    def add_token_review(
        self, token: str, username: str, *, uid: str = "", groups: tuple[str, ...] = ()
    ) -> None:
        """Make ``POST .../tokenreviews`` answer ``authenticated: true`` as ``username`` for
        ``token`` (every other token: ``authenticated: false``). A ServiceAccount user gets the
        groups the real server adds unless ``groups`` is given."""
        if not groups and username.startswith("system:serviceaccount:"):
            ns = username.split(":")[2]
            groups = ("system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated")
        self.token_reviews[token] = username
        self.token_review_users[username] = (uid, groups)

    def remove_token_review(self, token: str) -> None:
        """The token stops authenticating (deleted ServiceAccount, expired token)."""
        self.token_reviews.pop(token, None)

    def add_service(
        self, namespace: str, name: str, *, ports: dict[str, int], upstream: dict[str, str] | None = None
    ) -> None:
        """A Service with these named ports, and its ready endpoints for the service proxy
        (``upstream``: port name -> the URL of a server the test runs; None or a missing
        port: no endpoints, 503 like kube-apiserver). See ``proxy``."""
        from podsleuth.lab.fake_apiserver.proxy import SERVICES

        if SERVICES.key not in self.store.by_key:
            self.register(SERVICES)
        listed = [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports.items()]
        spec = {"type": "ClusterIP", "ports": listed}
        self.put("services", {"apiVersion": "v1", "kind": "Service",
                              "metadata": {"name": name, "namespace": namespace}, "spec": spec})  # fmt: skip
        self.endpoints[(namespace, name)] = dict(upstream or {})

    def set_log(
        self, namespace: str, pod: str, text: str, *, container: str = "", previous: bool = False
    ) -> None:
        self.logs[(namespace, pod, container, previous)] = text

    # ---- faults --------------------------------------------------------------------------

    def drop_watches(self) -> None:
        for conn in list(self.watches):
            conn.drop()

    def stall_watches(self) -> None:
        """Keep watch connections open and send nothing more (a silent dead stream)."""
        for conn in self.watches:
            conn.flowing.clear()

    def resume_watches(self) -> None:
        for conn in self.watches:
            conn.flowing.set()

    def end_watches(self) -> None:
        """End open watches normally, as the server-side timeout would."""
        for conn in self.watches:
            conn.queue.put_nowait(watches.Close(abort=False))

    def inject_error(
        self, *, code: int = 410, reason: str = "Expired", message: str | None = None, retry_after: int = 0
    ) -> None:
        """Send an ERROR Status event into every open watch, then end them (``retry_after``:
        the Status's ``details.retryAfterSeconds``, as a 429 or 5xx Status may carry)."""
        text = message or f"too old resource version: {self.store.floor} ({self.store.rv})"
        for conn in self.watches:
            conn.queue.put_nowait(watches.status_line(code, reason, text, retry_after=retry_after))
            conn.queue.put_nowait(watches.Close(abort=False))

    def inject_line(self, raw: bytes) -> None:
        """Push a raw line (garbage, wrong shape, huge) into every open watch."""
        for conn in self.watches:
            conn.queue.put_nowait(raw if raw.endswith(b"\n") else raw + b"\n")

    def fail_requests(self, n: int, *, code: int = 500, retry_after: int = 1) -> None:
        """Answer the next ``n`` resource requests (list, get, watch, create, replace) with an
        HTTP ``code`` Status (500 InternalError, 503 ServiceUnavailable), or for 429 the plain
        text and ``Retry-After`` header of the API server's max-in-flight and priority-and-
        fairness filters, as an overloaded or restarting kube-apiserver does."""
        self.failing, self.fail_code, self.retry_after = n, code, retry_after

    def slow_requests(self, seconds: float) -> None:
        """Delay every request's answer by ``seconds`` (0 = back to normal): a slow server."""
        self.delay = seconds

    def bookmark(self) -> None:
        """Send a BOOKMARK at the current resourceVersion to watches that allow them."""
        for conn in self.watches:
            if conn.bookmarks:
                conn.queue.put_nowait(watches.bookmark_line(conn.kind, self.store.rv))

    def watch_count(self, kind: str | None = None) -> int:
        return sum(1 for c in self.watches if kind is None or c.kind.key == kind)

    async def wait_for_watches(self, n: int = 1, *, kind: str | None = None, within: float = 5.0) -> None:
        """Until ``n`` watches are open (a fault injected before that would hit nothing)."""
        async with asyncio.timeout(within):
            while self.watch_count(kind) < n:  # noqa: ASYNC110 - polling a count, for tests
                await asyncio.sleep(0.005)
