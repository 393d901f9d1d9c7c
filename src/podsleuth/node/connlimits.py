"""Connection limits of the node agent: it must keep answering the watcher while anyone on the
node network opens connections and sends nothing, or one byte every few seconds.

aiohttp has no header read timeout and no connection cap, so a few hundred slow clients held
every file descriptor and the agent stopped answering (issue 11). The rules here:

* every connection must deliver its request headers within ``header_timeout`` of opening, or
  it is closed; responses close the connection (no keep-alive), so there is no idle connection
  after a request and no second, slow request on the same connection;
* request bodies are never read (every endpoint is a GET): a request announcing one is refused
  with 413, and the lingering read of a leftover body on close is bounded;
* at most ``max_connections`` are open (and fewer than the fd limit allows); when full, the
  oldest connection still waiting for its headers is closed to make room, so a flood of slow
  clients cannot lock out a client that sends its request at once;
* request line, header sizes and count are bounded (431/400 from aiohttp's parser);
* errors of the accept loop (EMFILE) and of aiohttp are logged at most once per 10 s per kind,
  one line each with a count, never a traceback per connection.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web_protocol

log = logging.getLogger(__name__)

FD_RESERVE = 64
"""File descriptors kept for probes, token and mountinfo reads, kernel log and the listener."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 256
    header_timeout: float = 5.0
    max_line_size: int = 4096
    max_field_size: int = 8190
    max_headers: int = 32
    lingering_time: float = 1.0

    def handler_kwargs(self) -> dict[str, Any]:
        return {
            "keepalive_timeout": self.header_timeout,
            "max_line_size": self.max_line_size,
            "max_field_size": self.max_field_size,
            "max_headers": self.max_headers,
            "lingering_time": self.lingering_time,
            "access_log": None,
        }


def _soft_fd_limit() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def listen_backlog(wanted: int) -> int:
    """The listen backlog, which is also how many connections asyncio accepts in one go before
    any of them can be closed again (its accept loop takes up to ``backlog`` per wake-up)."""
    soft = _soft_fd_limit()
    return max(8, min(128, wanted // 4, (soft or 1 << 20) // 8))


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered so that open connections, plus the accept batches of connections
    about to be evicted (up to three wake-ups pass before an aborted socket's fd is closed), can
    never exhaust the fd limit: EMFILE makes asyncio stop accepting for a whole second."""
    soft = _soft_fd_limit()
    if soft is None:
        return wanted
    return max(8, min(wanted, soft - FD_RESERVE - 4 * listen_backlog(wanted)))


class ConnectionGuard:
    """Tracks open connections: which still wait for headers (oldest first) and which are served."""

    def __init__(self, limits: Limits, *, on_drop: Any = None) -> None:
        self.limits = limits
        self.cap = connection_cap(limits.max_connections)
        self.waiting: dict[web_protocol.RequestHandler, asyncio.TimerHandle] = {}
        self.serving: set[web_protocol.RequestHandler] = set()
        self.on_drop = on_drop or (lambda reason: None)

    @property
    def open(self) -> int:
        return len(self.waiting) + len(self.serving)

    def opened(self, handler: web_protocol.RequestHandler, loop: asyncio.AbstractEventLoop) -> None:
        if self.open >= self.cap:
            if self.waiting:
                oldest = next(iter(self.waiting))
                self._close(oldest, "evicted")
            else:  # every connection is being served: this one has to wait for a retry
                self.on_drop("full")
                if handler.transport is not None:
                    handler.transport.abort()
                return
        deadline = self.limits.header_timeout
        self.waiting[handler] = loop.call_later(deadline, self._close, handler, "header_timeout")

    def request_started(self, handler: object) -> None:
        timer = self.waiting.pop(handler, None)  # type: ignore[call-overload]
        if timer is not None:
            timer.cancel()
            self.serving.add(handler)  # type: ignore[arg-type]

    def closed(self, handler: web_protocol.RequestHandler) -> None:
        timer = self.waiting.pop(handler, None)
        if timer is not None:
            timer.cancel()
        self.serving.discard(handler)

    def _close(self, handler: web_protocol.RequestHandler, reason: str) -> None:
        self.on_drop(reason)
        timer = self.waiting.pop(handler, None)
        if timer is not None:
            timer.cancel()
        if handler.transport is not None:
            handler.transport.abort()


class GuardedHandler(web_protocol.RequestHandler):
    """aiohttp's request handler, reporting its connection's life to a :class:`ConnectionGuard`."""

    def __init__(self, manager: Any, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._guard.opened(self, self._loop)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.closed(self)
        super().connection_lost(exc)


class RateLimitedLog(logging.Filter):
    """At most one record per (logger, message template) per ``period``; the traceback dropped
    and replaced by the exception's one line, the number of suppressed repeats added."""

    def __init__(self, period: float = 10.0) -> None:
        super().__init__()
        self.period = period
        self.last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg)[:200])
        now = time.monotonic()
        at, suppressed = self.last.get(key, (-1e9, 0))
        if now - at < self.period:
            self.last[key] = (at, suppressed + 1)
            return False
        if len(self.last) > 1000:
            self.last.clear()
        self.last[key] = (now, 0)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args, record.exc_info, record.exc_text = None, None, None
        if suppressed:
            record.msg = f"{record.getMessage()} ({suppressed} more like this in the last {self.period:g}s)"
            record.args = None
        return True


def loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """For the accept loop's EMFILE and friends: one line (rate-limited by the filter on ``log``)."""
    error = context.get("exception")
    text = str(context.get("message", "event loop error"))
    if error is not None:
        text += f": {type(error).__name__}: {error}"
    log.error(text)


def install_log_limits(period: float = 10.0) -> RateLimitedLog:
    """Rate-limit the loggers a connection flood can make noisy (ours, aiohttp's, asyncio's)."""
    limiter = RateLimitedLog(period)
    for name in (__name__, "aiohttp.server", "aiohttp.web", "asyncio"):
        logging.getLogger(name).addFilter(limiter)
    return limiter
