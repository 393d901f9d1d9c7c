"""``node serve``: the node checks over a read-only, authenticated HTTP API for the watcher.

Why it is shaped like this:

* every probe runs in :mod:`podsleuth.node.probe`'s killable workers, so a request can never
  hang on a dead mount; scans run in a thread and at most ``max_concurrent`` at a time — when
  all slots are busy the answer is an immediate 503, so a burst cannot pile up probes;
* ``/v1/probe`` only touches paths under the kubelet dirs: the path must be normalised
  (no ``..``), lie under a kubelet dir, and either be a kernel-resolved mount point from the
  mount table or resolve (``realpath``, in a child with a timeout) to a place still under it;
* the bearer token is compared with ``hmac.compare_digest``; the file is re-read when it
  changes so a rotated Secret takes effect without a restart. Any other token can be vouched
  for by the API server (``--token-review``, :mod:`podsleuth.node.tokenreview`): 401 when it
  does not know the token, 403 when it does but the user is not allowed, 503 when it cannot be
  asked (so the client sees "try again", not "your token is wrong");
* slow or idle clients cannot hold the agent down (:mod:`podsleuth.node.connlimits`: header
  timeout, connection cap that evicts the oldest header-less connection, size limits, no
  keep-alive, no request bodies, rate-limited error logs); ``/v1/probe`` answers are cached for
  ``cache_ttl`` and concurrent probes of one path share one run, so a burst costs one slot;
* metrics go to the server's own ``CollectorRegistry``; nothing global is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from podsleuth import jsontext
from podsleuth.durations import parse_duration
from podsleuth.errors import ResourceError, ReviewUnavailable
from podsleuth.node import check, connlimits, layout, mountinfo, probe
from podsleuth.node.tokenreview import TokenReviewConfig, TokenReviewer, Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    options: check.CheckOptions
    host: str = "0.0.0.0"
    port: int = 9808
    token_file: str | None = None
    token_review: TokenReviewConfig | None = None  # both None = no auth (--insecure-no-auth)
    max_concurrent: int = 2
    cache_ttl: float = 2.0
    limits: connlimits.Limits = dataclasses.field(default_factory=connlimits.Limits)


class _Token:
    def __init__(self, path: str) -> None:
        self.path = path
        self.mtime = -1.0
        self.value = b""

    def get(self) -> bytes:
        try:
            mtime = os.stat(self.path).st_mtime
            if mtime != self.mtime:
                with open(self.path, "rb") as f:
                    self.value, self.mtime = f.read().strip(), mtime
        except OSError as e:
            log.error("cannot read token file %s: %s", self.path, e.strerror)
            return b""
        return self.value


class Agent:
    """State of one server: config, probe slots, the last scan, metrics."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.kdirs = [d.rstrip("/") or "/" for d in config.options.kubelet_dirs]
        self.real_kdirs = [os.path.realpath(d) for d in self.kdirs]
        self.slots = asyncio.Semaphore(config.max_concurrent)
        self.token = _Token(config.token_file) if config.token_file else None
        self.reviewer = TokenReviewer(config.token_review) if config.token_review else None
        self._forbidden_logged: dict[str, float] = {}
        self.cached: tuple[float, check.NodeReport] | None = None
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("podsleuth_node_requests", "HTTP requests", ["endpoint", "code"],
                                registry=self.registry)
        self.busy = Counter("podsleuth_node_busy_rejections", "requests answered 503: all probe slots busy",
                            registry=self.registry)
        self.scan_seconds = Histogram("podsleuth_node_scan_seconds", "duration of a node scan",
                                      registry=self.registry)
        self.findings = Gauge("podsleuth_node_findings", "findings of the last scan", ["kind", "severity"],
                              registry=self.registry)
        self.hung = Gauge("podsleuth_node_hung_mounts", "mounts whose probe timed out in the last scan",
                          registry=self.registry)
        self.auth = Counter("podsleuth_node_auth", "authentication decisions on protected endpoints",
                            ["method", "result"], registry=self.registry)
        self.review_calls = Counter("podsleuth_node_token_review_calls",
                                    "TokenReviews sent to the API server (cache misses)",
                                    registry=self.registry)
        if self.reviewer is not None:
            self.reviewer.on_call = self.review_calls.inc
        self.connections = Gauge("podsleuth_node_connections", "open HTTP connections",
                                 registry=self.registry)
        self.dropped = Counter("podsleuth_node_connections_dropped",
                               "connections closed by the agent's limits", ["reason"], registry=self.registry)
        self.probe_cache_hits = Counter("podsleuth_node_probe_cache_hits",
                                        "/v1/probe answers served from the cache or a shared in-flight probe",
                                        registry=self.registry)
        self.guard = connlimits.ConnectionGuard(config.limits, on_drop=lambda r: self.dropped.labels(r).inc())
        self.connections.set_function(lambda: self.guard.open)
        self.probe_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self.probe_inflight: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def authenticate(self, request: web.Request) -> web.Response | None:
        """None when the request may proceed, else the 401/403/503 answer to send."""
        if self.token is None and self.reviewer is None:
            return None
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            self.auth.labels("none", "unauthenticated").inc()
            return _unauthorized()
        if self.token is not None:
            expected = self.token.get()
            if expected and hmac.compare_digest(given.encode(), expected):
                self.auth.labels("file", "ok").inc()
                return None
        if self.reviewer is None:
            self.auth.labels("file", "unauthenticated").inc()
            return _unauthorized()
        try:
            verdict, user = await self.reviewer.review(given)
        except ReviewUnavailable as e:
            self.auth.labels("tokenreview", "unavailable").inc()
            log.warning("cannot verify a bearer token: %s", e)
            return web.json_response({"error": "cannot verify the token now: API server unavailable"},
                                     status=503, headers={"Retry-After": "5"})
        self.auth.labels("tokenreview", verdict.value).inc()
        if verdict is Verdict.ALLOWED:
            return None
        if verdict is Verdict.FORBIDDEN:
            assert user is not None
            now = time.monotonic()
            if now - self._forbidden_logged.get(user, -3600.0) > 60.0:  # once a minute per user
                if len(self._forbidden_logged) > 256:
                    self._forbidden_logged.clear()
                self._forbidden_logged[user] = now
                log.warning("rejected a request authenticated as %s: not an --allow-user", user)
            return web.json_response({"error": "forbidden"}, status=403)
        return _unauthorized()

    async def scan(self) -> check.NodeReport:
        now = time.monotonic()
        if self.cached and now - self.cached[0] < self.config.cache_ttl:
            return self.cached[1]
        opts = dataclasses.replace(self.config.options, since=None)
        report = await asyncio.to_thread(check.check_node, opts)
        self.scan_seconds.observe(time.monotonic() - now)
        self.findings.clear()
        for f in report.findings:
            self.findings.labels(f.kind, f.severity).inc()
        self.hung.set(report.summary.get("hung", 0))
        self.cached = (time.monotonic(), report)
        return report


def _since(request: web.Request) -> float | None:
    raw = request.query.get("since")
    if raw is None:
        return None
    try:
        return parse_duration(raw)
    except ValueError as e:
        raise web.HTTPBadRequest(text=f"{e}\n") from e


def _unauthorized() -> web.Response:
    return web.json_response({"error": "unauthorized"}, status=401,
                             headers={"WWW-Authenticate": 'Bearer realm="podsleuth-node"'})


def _json(data: Any, status: int = 200) -> web.Response:
    # jsontext: the one escaping of non-UTF-8 paths, shared with ``node check -o json``
    return web.json_response(data, status=status, dumps=jsontext.dumps)


AGENT: web.AppKey[Agent] = web.AppKey("agent", Agent)


@web.middleware
async def _guard(request: web.Request, handler: Any) -> web.StreamResponse:
    agent = request.app[AGENT]
    agent.guard.request_started(request.protocol)  # headers complete: the header deadline is met
    endpoint = request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
    resp = await _answer(agent, request, handler, endpoint)
    resp.force_close()  # one request per connection: nothing idles after it
    return resp


async def _answer(agent: Agent, request: web.Request, handler: Any, endpoint: str) -> web.StreamResponse:
    if request.content_length or request.headers.get("Transfer-Encoding"):
        agent.requests.labels(endpoint, "413").inc()
        return web.Response(status=413, text="request bodies are not accepted\n")
    open_paths = ("/healthz", "/metrics")
    if request.path not in open_paths:
        denied = await agent.authenticate(request)
        if denied is not None:
            agent.requests.labels(endpoint, str(denied.status)).inc()
            return denied
    try:
        resp: web.StreamResponse = await handler(request)
    except web.HTTPException as e:
        agent.requests.labels(endpoint, str(e.status)).inc()
        return web.Response(status=e.status, text=e.text, headers={
            k: v for k, v in e.headers.items() if k.lower() not in ("content-type", "content-length")})
    agent.requests.labels(endpoint, str(resp.status)).inc()
    return resp


async def _with_slot(agent: Agent, coro_fn: Any) -> Any:
    if agent.slots.locked():
        agent.busy.inc()
        raise web.HTTPServiceUnavailable(text="all probe slots busy\n", headers={"Retry-After": "1"})
    async with agent.slots:
        return await coro_fn()


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[AGENT].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def findings(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    since = _since(request)
    report = await _with_slot(agent, agent.scan)
    cutoff = time.time() - since if since is not None else None
    out = [f for f in report.findings if cutoff is None or not isinstance(f.data.get("time"), float)
           or f.data["time"] >= cutoff]
    uid = request.query.get("pod_uid")
    if uid:
        out = [f for f in out if f.pod_uid == uid]
    return _json({"node": os.uname().nodename, "summary": report.summary,
                  "findings": [f.to_dict() for f in out]})


async def pod_mounts(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    uid = request.match_info["uid"]
    if not uid or "/" in uid or uid in (".", ".."):
        raise web.HTTPBadRequest(text="bad pod uid\n")
    report = await _with_slot(agent, agent.scan)
    return _json({"pod_uid": uid, "mounts": [m.to_dict() for m in report.pod_mounts(uid)],
                  "findings": [f.to_dict() for f in report.for_pod(uid)]})


def _validate(path: str, kdirs: list[str]) -> None:
    if not path or "\0" in path or not path.startswith("/"):
        raise web.HTTPBadRequest(text="path must be absolute\n")
    if ".." in path.split("/") or os.path.normpath(path) != path:
        raise web.HTTPBadRequest(text="path must be normalised (no '..', '.', '//')\n")
    if mountinfo.under(path, kdirs) is None or path in kdirs:
        raise web.HTTPForbidden(text="path is not under a kubelet dir\n")


async def probe_one(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    path = request.query.get("path", "")
    _validate(path, agent.kdirs)
    opts = agent.config.options

    async def run() -> dict[str, Any]:
        table = await asyncio.to_thread(mountinfo.read_mountinfo, opts.proc, opts.mount_pid)
        entries = [e for e in table if e.mount_point == path]
        target, devices = path, {path: entries[-1].dev} if entries else None
        if not entries:
            resolved = await asyncio.to_thread(probe.resolve_path, path, timeout=opts.probe_timeout)
            if resolved is None:
                raise web.HTTPGatewayTimeout(text="resolving the path timed out (hung mount above it?)\n")
            if mountinfo.under(resolved, agent.real_kdirs) is None:
                raise web.HTTPForbidden(text="path resolves outside the kubelet dirs\n")
            # probe what was checked, not the request's path: a pod controls symlinks in its
            # volumes and could swap one in between the check and the probe
            target = resolved
        results = await asyncio.to_thread(
            probe.probe_paths, [target], timeout=opts.probe_timeout, workers=1, devices=devices
        )
        r = results[target]
        rec = None
        if entries:
            vp = layout.classify(path, agent.kdirs)
            rec = check.MountRecord(entries[-1], layout.enrich(path, vp) if vp else None,
                                    layers=len(entries), probe=r)
        found = check.mount_findings(rec) if rec else []
        return {"path": path, "mounted": bool(entries), "mount": rec.to_dict() if rec else None,
                "probe": {"status": r.status, "errno": r.errno_name, "error": r.error,
                          "elapsed": round(r.elapsed, 4)},
                "findings": [f.to_dict() for f in found]}

    return _json(await _cached_probe(agent, path, run))


async def _cached_probe(agent: Agent, path: str, run: Any) -> dict[str, Any]:
    """A fresh cached answer, or the result of a probe of the same path already running, or a
    new probe in a slot: a burst of identical requests costs one probe, not every slot."""
    now = time.monotonic()
    hit = agent.probe_cache.get(path)
    if hit is not None and now - hit[0] < agent.config.cache_ttl:
        agent.probe_cache_hits.inc()
        return hit[1]
    running = agent.probe_inflight.get(path)
    if running is not None:
        agent.probe_cache_hits.inc()
        return await asyncio.shield(running)
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    agent.probe_inflight[path] = future
    try:
        result: dict[str, Any] = await _with_slot(agent, run)
    except BaseException as e:
        future.set_exception(e)
        future.exception()  # retrieved: no "never retrieved" warning when nobody shared it
        raise
    else:
        future.set_result(result)
        if len(agent.probe_cache) >= 1024:
            agent.probe_cache.clear()
        agent.probe_cache[path] = (time.monotonic(), result)
        return result
    finally:
        del agent.probe_inflight[path]


async def kernel_events(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    since = _since(request)
    opts = dataclasses.replace(agent.config.options, since=since)
    events, source = await asyncio.to_thread(check.kernel_events, opts, time.time())
    return _json({"source": source, "events": [e.to_dict() for e in events]})


def make_app(config: ServerConfig) -> web.Application:
    app = web.Application(middlewares=[_guard])
    agent = app[AGENT] = Agent(config)

    async def close_reviewer(app: web.Application) -> None:
        if agent.reviewer is not None:
            await agent.reviewer.close()

    app.on_cleanup.append(close_reviewer)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/v1/findings", findings)
    app.router.add_get("/v1/pods/{uid}/mounts", pod_mounts)
    app.router.add_get("/v1/probe", probe_one)
    app.router.add_get("/v1/kernel-events", kernel_events)
    return app


def run(config: ServerConfig) -> None:
    """Serve until SIGTERM/SIGINT; a port that cannot be bound is one line (ResourceError)."""
    if config.token_file is None and config.token_review is None:
        log.warning("serving WITHOUT authentication (--insecure-no-auth)")
    if config.token_review is not None:
        log.info("accepting ServiceAccount tokens of %s (TokenReview at %s)",
                 ", ".join(sorted(config.token_review.allowed_users)), config.token_review.api_server)
    try:
        asyncio.run(serve(config))
    except OSError as e:
        raise ResourceError(f"--listen {config.host}:{config.port}: {e.strerror or e}") from None
    except OverflowError as e:
        raise ResourceError(f"--listen {config.host}:{config.port}: {e}") from None


async def serve(config: ServerConfig, *, started: asyncio.Future[int] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """The agent on its own listener, with the connection limits; ``started`` gets the port."""
    loop = asyncio.get_running_loop()
    connlimits.install_log_limits()
    loop.set_exception_handler(connlimits.loop_exception_handler)
    app = make_app(config)
    agent = app[AGENT]
    kwargs = config.limits.handler_kwargs()
    runner = web.AppRunner(app, **kwargs)
    await runner.setup()
    manager = runner.server
    assert manager is not None
    try:
        listener = await loop.create_server(
            lambda: connlimits.GuardedHandler(manager, agent.guard, loop=loop, **kwargs),
            config.host, config.port, backlog=connlimits.listen_backlog(config.limits.max_connections),
            reuse_address=True)
    except BaseException:
        await runner.cleanup()
        raise
    port = listener.sockets[0].getsockname()[1]
    log.info("node agent listening on %s:%d (at most %d connections)", config.host, port, agent.guard.cap)
    if started is not None:
        started.set_result(port)
    stop = stop or asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        listener.close()
        await runner.cleanup()
        await listener.wait_closed()


__all__ = ["Agent", "ServerConfig", "make_app", "run", "serve"]
