"""TokenReview authentication: let the agent accept Kubernetes ServiceAccount tokens.

A shared token in a Secret has to be created by hand and rotated by hand; every pod already has
a ServiceAccount token the API server can vouch for. So a bearer token that is not the file token
is sent to the API server as a ``TokenReview`` (the agent's own ServiceAccount may ``create``
them, nothing else) and accepted when the server says it is authenticated *and* the user is on
the agent's allow-list (the watcher's ServiceAccount): any pod in the cluster has a valid token,
so authentication alone must not be enough.

Why the details are the way they are:

* the node package stands alone (it runs in the DaemonSet with nothing else of podsleuth
  loaded), so this talks to the API server with aiohttp directly, not through ``podsleuth.kube``;
* every call has a timeout and an unreachable or failing API server is ``ReviewUnavailable``
  (the request gets 503): that is not the caller's fault, and a 401 would make the watcher
  report a bad token it does not have;
* answers are cached per token (authenticated ones longer than rejected ones), so the watcher's
  two calls per diagnosis and bursts of them cost one review a minute, and concurrent requests
  with the same new token share one review; a bound on concurrent reviews keeps a flood of random
  tokens from turning into a flood of API calls;
* the cache is keyed by a keyed hash of the token (a per-process random key): the token itself
  is never kept, logged or put in an exception, and the API server's answer (which echoes the
  token in ``spec``) is never logged either;
* the agent's own credentials are read per review: projected ServiceAccount tokens are rotated
  by the kubelet on disk;
* aiohttp is imported when the first review is made, not with this module: ``node check``'s
  command line imports the defaults from here and must start fast on a node.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import logging
import os
import secrets
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podsleuth.errors import ReviewUnavailable

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SA_TOKEN_FILE = f"{SA_DIR}/token"
SA_CA_FILE = f"{SA_DIR}/ca.crt"
REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
MAX_TOKEN_BYTES = 16 * 1024  # a ServiceAccount JWT is ~1 KiB; anything huge is not one


def in_cluster_api_server(env: Mapping[str, str] | None = None) -> str | None:
    """The API server URL the way client-go's in-cluster config builds it, or None outside one."""
    env = os.environ if env is None else env
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"https://{host}:{port}"


class Verdict(enum.Enum):
    ALLOWED = "allowed"  # authenticated, user on the allow-list
    FORBIDDEN = "forbidden"  # authenticated, but not as a user we serve (403)
    UNAUTHENTICATED = "unauthenticated"  # the API server does not know the token (401)




@dataclass(frozen=True, slots=True)
class TokenReviewConfig:
    allowed_users: frozenset[str]
    api_server: str
    api_token_file: str | None = SA_TOKEN_FILE
    api_ca_file: str | None = SA_CA_FILE  # used for https only; None = the system trust store
    timeout: float = 5.0
    positive_ttl: float = 60.0
    negative_ttl: float = 10.0
    cache_size: int = 1024
    max_concurrent: int = 8


@dataclass(slots=True)
class _Answer:
    authenticated: bool
    username: str | None
    expires: float


@dataclass
class TokenReviewer:
    """Reviews bearer tokens against the API server, with a bounded TTL cache."""

    config: TokenReviewConfig
    clock: Callable[[], float] = time.monotonic
    on_call: Callable[[], None] | None = None  # each API call made (the agent counts them)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _cache: OrderedDict[bytes, _Answer] = field(default_factory=OrderedDict)
    _inflight: dict[bytes, asyncio.Task[_Answer]] = field(default_factory=dict)
    _session: aiohttp.ClientSession | None = None
    _ssl: ssl.SSLContext | None = None
    _slots: asyncio.Semaphore | None = None

    @property
    def cached_keys(self) -> tuple[bytes, ...]:
        """What the cache is keyed by: keyed digests of tokens, never the tokens themselves."""
        return tuple(self._cache)

    def _digest(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode(), hashlib.sha256).digest()

    async def review(self, token: str) -> tuple[Verdict, str | None]:
        """The verdict on ``token`` and the username it authenticated as (None if it did not).

        Raises ``ReviewUnavailable`` when the API server cannot answer; that is never cached."""
        if not token or len(token) > MAX_TOKEN_BYTES or not token.isascii() or not token.isprintable():
            return Verdict.UNAUTHENTICATED, None
        key = self._digest(token)
        answer = self._cached(key)
        if answer is None:
            task = self._inflight.get(key)
            if task is None:
                if len(self._inflight) >= self.config.cache_size:
                    # a flood of distinct tokens: refuse rather than queue without bound
                    raise ReviewUnavailable("too many token reviews in flight")
                task = asyncio.ensure_future(self._ask(token))
                self._inflight[key] = task
                task.add_done_callback(lambda t: self._settle(key, t))
            # shield: one caller giving up (client gone) must not cancel the others' review
            answer = await asyncio.shield(task)
        if not answer.authenticated:
            return Verdict.UNAUTHENTICATED, None
        if answer.username in self.config.allowed_users:
            return Verdict.ALLOWED, answer.username
        return Verdict.FORBIDDEN, answer.username

    def _cached(self, key: bytes) -> _Answer | None:
        answer = self._cache.get(key)
        if answer is None:
            return None
        if answer.expires <= self.clock():
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return answer

    def _settle(self, key: bytes, task: asyncio.Task[_Answer]) -> None:
        self._inflight.pop(key, None)
        if task.cancelled():
            return
        if task.exception() is not None:  # retrieved here too: all waiters may have gone
            return
        self._cache[key] = task.result()
        self._cache.move_to_end(key)
        while len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)

    async def _ask(self, token: str) -> _Answer:
        import aiohttp

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.max_concurrent)
        cfg = self.config
        try:
            async with asyncio.timeout(cfg.timeout):
                async with self._slots:
                    status, body = await self._post(token)
        except TimeoutError:
            raise ReviewUnavailable(
                f"TokenReview at {cfg.api_server} timed out after {cfg.timeout:g}s") from None
        except aiohttp.ClientError as e:
            # the exception names host and port, never headers or body
            raise ReviewUnavailable(
                f"TokenReview at {cfg.api_server} failed: {e.__class__.__name__}"
                + (f": {e}" if str(e) else "")) from None
        if status != 201 and status != 200:
            reason = body.get("reason") if isinstance(body, dict) else None
            raise ReviewUnavailable(f"TokenReview at {cfg.api_server} answered HTTP {status}"
                                    + (f" ({reason})" if isinstance(reason, str) else ""))
        st = body.get("status") if isinstance(body, dict) else None
        if not isinstance(st, dict):
            raise ReviewUnavailable(f"TokenReview at {cfg.api_server} answered without a status")
        user = st.get("user")
        username = user.get("username") if isinstance(user, dict) else None
        authenticated = st.get("authenticated") is True and isinstance(username, str) and bool(username)
        now = self.clock()
        if authenticated:
            log.debug("token review: authenticated as %s", username)
            return _Answer(True, username, now + cfg.positive_ttl)
        error = st.get("error")
        if isinstance(error, str) and error:
            # the server's words, but never anything that could carry the token back out
            log.debug("token review: not authenticated (%s)", error.replace(token, "***")[:200])
        else:
            log.debug("token review: not authenticated")
        return _Answer(False, None, now + cfg.negative_ttl)

    async def _post(self, token: str) -> tuple[int, Any]:
        cfg = self.config
        headers = {"Accept": "application/json"}
        own = self._own_token()
        if own:
            headers["Authorization"] = f"Bearer {own}"
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        session = self._get_session()
        if self.on_call is not None:
            self.on_call()
        url = cfg.api_server.rstrip("/") + REVIEW_PATH
        async with session.post(url, json=body, headers=headers, ssl=self._ssl_context()) as resp:
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                data = None
            return resp.status, data

    def _own_token(self) -> str | None:
        path = self.config.api_token_file
        if not path:
            return None
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip() or None
        except OSError as e:
            raise ReviewUnavailable(f"cannot read the agent's API token {path}: {e.strerror}") from None

    def _ssl_context(self) -> ssl.SSLContext | bool:
        if not self.config.api_server.startswith("https:"):
            return False
        if self._ssl is None:
            try:
                self._ssl = ssl.create_default_context(cafile=self.config.api_ca_file or None)
            except (OSError, ssl.SSLError) as e:
                raise ReviewUnavailable(
                    f"cannot load the API server CA {self.config.api_ca_file}: {e}") from None
        return self._ssl

    def _get_session(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            # no cookies, no env proxies: this is a point-to-point call to the API server
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.timeout),
                cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def close(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None


__all__ = [
    "SA_CA_FILE",
    "SA_TOKEN_FILE",
    "ReviewUnavailable",
    "TokenReviewConfig",
    "TokenReviewer",
    "Verdict",
    "in_cluster_api_server",
]
