"""The reflector: list, then watch from the list's resourceVersion, forever; a cache of objects.

Three layers, each with one job (kopf's shape):

- ``__aiter__``: reconnect forever. Every error is logged with the resource, the reason and the
  delay, counted, and retried with jittered exponential backoff; only cancellation ends it.
- ``_cycle``: (re-)list when there is no resourceVersion to resume from, then watch one stream.
  A 410 (ERROR Status Expired/Gone in the stream, or HTTP 410) drops the resourceVersion so
  the next cycle re-lists; a normal end or a dropped connection resumes from the last
  resourceVersion seen or bookmarked.
- ``_stream``: one HTTP watch with an inactivity timeout (``KubeClient.stream_batches``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, Literal, TypeVar

import msgspec

from podsleuth import errors
from podsleuth.config import WatchSettings
from podsleuth.kube.client import (
    DEFAULT_MAX_LINE,
    DEFAULT_MAX_LIST,
    KubeClient,
    Line,
    OversizeLine,
    ResponseTooLarge,
    StreamTimeout,
)
from podsleuth.kube.errors import Status as KubeStatus
from podsleuth.kube.errors import stream_error
from podsleuth.watch import listing
from podsleuth.watch.backoff import Backoff, Sleep
from podsleuth.watch.changes import Change, Key, Synced, reconcile
from podsleuth.watch.interning import Deferred, Interner
from podsleuth.watch.lenient import Skipped
from podsleuth.watch.objects import Pod
from podsleuth.watch.observer import NullObserver, WatchObserver
from podsleuth.watch.resources import Resource
from podsleuth.watch.wire import INITIAL_EVENTS_END, Decoders

T = TypeVar("T")

log = logging.getLogger("podsleuth.watch")


HEALTHY_STREAM = 5.0
"""A watch that lasted this long, or delivered anything, was healthy: the next failure starts
the backoff afresh instead of waiting the cap after transient errors spread over days."""


LIVE_SLICE = 4
"""Lines decoded per yield. A network read can bring hundreds of events (the client reads up to
1 MiB); yielding the changes of a few at a time lets the consumer finish with them, and the
replaced versions of their pods be freed, while that memory is still in the CPU cache. Holding
a whole read's worth of old and new pods cost 7-17 % of throughput; 4-8 measured best, 1 pays
too many async hops (``docs/performance.md``)."""


class _Expired(Exception):
    """The resourceVersion we resume from is too old: re-list."""


class _NotStreaming(Exception):
    """The server does not do streaming lists (it ignored sendInitialEvents)."""


class _Stream(Generic[T]):
    """One watch stream's state. A streaming list starts ``initial`` (its objects collect in
    ``fresh`` until the initial-events-end bookmark), then goes ``live``; a resumed watch is
    live from the start."""

    __slots__ = ("fresh", "initial_bytes", "mode")

    def __init__(self, mode: Literal["initial", "live"]) -> None:
        self.mode = mode
        self.fresh: dict[Key, T] = {}
        self.initial_bytes = 0
        """Bytes read in the initial phase: bounded by ``Reflector.max_list``."""


class Reflector(Generic[T]):
    """Iterate it (``async for item in reflector``) to get ``Change``s and ``Synced`` markers."""

    def __init__(
        self,
        *,
        client: KubeClient,
        resource: Resource[Any, T],
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = 500,
        read_timeout: float = 330.0,
        watch_timeout: float = 290.0,
        backoff_max: float = 30.0,
        streaming_list: bool = False,
        max_line: int = DEFAULT_MAX_LINE,
        max_list: int = DEFAULT_MAX_LIST,
        pause_gc: bool = True,
        observer: WatchObserver | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        on_forbidden: Callable[[errors.ApiForbidden], None] | None = None,
    ) -> None:
        self.client, self.resource, self.namespace = client, resource, namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.page_size, self.read_timeout, self.watch_timeout = page_size, read_timeout, watch_timeout
        self.streaming_list, self.max_line, self.pause_gc = streaming_list, max_line, pause_gc
        self.max_list = max_list
        """The initial events of a streaming list together at most (bytes as read): by default
        the client's cap on a paginated list, so neither list form can grow memory past it."""
        self.observer: WatchObserver = observer or NullObserver()
        self.on_forbidden = on_forbidden
        """Told of each 403, which is then logged at DEBUG instead of a WARNING per retry: for a
        resource the watch can do without (nodes, to an identity bound by Roles in its
        namespaces), whose owner says so once. The retries go on at the backoff cap, so a
        permission granted later is picked up without a restart."""
        self.backoff = Backoff(cap=backoff_max, sleep=sleep, jitter=jitter)
        self.cache: dict[Key, T] = {}
        self.resource_version: str | None = None
        """Where the next watch resumes; None = list first."""
        self.synced = False
        self._decoders: Decoders[Any] = Decoders(resource.wire, resource.name)
        self._interner = Interner()
        self._unshared = Deferred(self._interner)
        """Cached pods from MODIFIED events, shared in one pass now and then (``interning``)."""

    @classmethod
    def from_settings(cls, *, client: KubeClient, resource: Resource[Any, T], settings: WatchSettings,
                      namespace: str | None = None, **kwargs: Any) -> Reflector[T]:
        """Pods get the configured label selector; nodes and events never do."""
        return cls(client=client, resource=resource, namespace=namespace,
                   label_selector=settings.label_selector if resource.name == "pods" else "",
                   page_size=settings.page_size, read_timeout=settings.read_timeout,
                   watch_timeout=settings.watch_timeout, backoff_max=settings.backoff_max, **kwargs)

    def converter(self, *, listing: bool = False) -> Callable[[Any], T] | None:
        """Wire struct -> cached object: the resource's conversion; for listed pods, string
        sharing (watched pods are shared by ``_live`` and ``_initial``)."""
        if self.resource.convert is not None:
            return self.resource.convert
        return self._share_new if listing else None

    @property
    def _convert(self) -> Callable[[Any], T] | None:
        return self.resource.convert

    @property
    def _share_new(self) -> Callable[[Any], T] | None:
        """String sharing of a pod new to the cache (None: not pods)."""
        if self.resource.wire is Pod and self.resource.convert is None:
            return self._interner.pod  # type: ignore[return-value]
        return None

    @property
    def name(self) -> str:
        return self.resource.name + (f" in {self.namespace}" if self.namespace else "")

    def _list_request(self) -> listing.ListRequest[T]:
        return listing.ListRequest(
            name=self.name,
            client=self.client,
            path=self.resource.path(self.namespace),
            params={"limit": self.page_size, **self._selectors()},
            decoders=self._decoders,
            convert=self.converter(listing=True),
            ident=self.resource.ident,
            on_skipped=self._skipped,
            on_expired=lambda: self.observer.on_restart(self.resource.name, "expired"),
            pause_gc=self.pause_gc,
        )

    def _selectors(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        return params

    # ---- layer 1: forever ------------------------------------------------------------------

    async def __aiter__(self) -> AsyncIterator[Change[T] | Synced]:
        async for batch in self.batches():
            for item in batch:
                yield item

    async def batches(self) -> AsyncIterator[list[Change[T] | Synced]]:
        """The same items as iterating the reflector, in the lists each network read brought:
        the hot path's consumer pays one async hop per read instead of one per event."""
        loop = asyncio.get_running_loop()
        while True:
            started, delivered, wait_at_least = loop.time(), False, 0.0
            try:
                async for batch in self._cycle():
                    delivered = True
                    yield batch
                if delivered or loop.time() - started >= HEALTHY_STREAM:
                    self.backoff.reset()
                    self._restart("stream-end", logging.DEBUG, "watch ended normally, resuming", 0.0)
                    continue
                # an empty stream that ended at once (a proxy answering 200 and closing): back
                # off, or the resume would be a tight request loop
                delay = self.backoff.next_delay()
                self._restart("stream-end", logging.WARNING, "the watch ended at once, empty", delay)
                await self.backoff.wait(delay)
                continue
            except (_Expired, errors.ApiGone):
                self.resource_version = None
                reason, level, why = "expired", logging.INFO, "resourceVersion too old (410), re-listing"
            except _NotStreaming as e:
                self.streaming_list = False
                self.resource_version = None
                log.warning("%s: the API server does not do streaming lists (%s); using paginated lists",
                            self.name, e or "it ignored sendInitialEvents")
                continue
            except StreamTimeout as e:
                reason, level, why = "read-timeout", logging.WARNING, str(e)
            except errors.ApiUnreachable as e:
                reason, level, why = "connection", logging.WARNING, str(e)
            except errors.ApiForbidden as e:
                reason, level, why = "forbidden", logging.WARNING, str(e)
                if self.on_forbidden is not None:
                    self.on_forbidden(e)
                    level = logging.DEBUG
            except errors.ApiThrottled as e:
                reason, level, why = "throttled", logging.WARNING, str(e)
                wait_at_least = e.retry_after or 0.0
            except errors.ApiNotFound as e:
                fallback = self.resource.fallback
                if fallback is not None and self.resource_version is None:
                    log.info("%s: %s is not served by the API server, using %s instead",
                             self.name, self.resource.api, fallback.api)
                    self.resource = fallback
                    self._decoders = Decoders(fallback.wire, fallback.name)
                    continue
                reason, level, why = "error", logging.WARNING, str(e)
            except errors.ApiError as e:
                reason, level, why = "error", logging.WARNING, str(e)
            except (msgspec.DecodeError, ValueError) as e:
                reason, level, why = "error", logging.WARNING, f"undecodable list response: {e}"
            if delivered or loop.time() - started >= HEALTHY_STREAM:
                self.backoff.reset()  # count only consecutive unproductive attempts
            first = self.backoff.failures == 0 and reason == "expired"
            delay = 0.0 if first else max(self.backoff.next_delay(), wait_at_least)
            self._restart(reason, level, why, delay)
            await self.backoff.wait(delay)

    def _restart(self, reason: str, level: int, why: str, delay: float) -> None:
        self.observer.on_restart(self.resource.name, reason)
        rv = self.resource_version
        resume = f"resuming from resourceVersion {rv}" if rv else "re-listing"
        log.log(level, "%s: watch restart (%s): %s; %s in %.1fs", self.name, reason, why, resume, delay)

    # ---- layer 2: list, then one watch -----------------------------------------------------

    async def _cycle(self) -> AsyncIterator[list[Change[T] | Synced]]:
        if self.resource_version is None:
            if self.streaming_list:
                try:
                    async for batch in self._watch(initial=True):
                        yield batch
                except errors.ApiError as e:
                    # 400/422: a server that knows the parameters but has the WatchList gate off
                    if e.status in (400, 422):
                        raise _NotStreaming(str(e)) from e
                    raise
                return
            fresh, rv = await listing.paginated(self._list_request())
            listed: list[Change[T] | Synced] = [*self._replace(fresh)]
            self.resource_version = rv
            listed.append(self._mark_synced())
            yield listed
        async for batch in self._watch(initial=False):
            yield batch

    def _replace(self, fresh: dict[Key, T]) -> list[Change[T]]:
        changes = list(reconcile(self.cache, fresh, self.resource.ident))
        self.cache = fresh
        self._unshared.clear()  # listed pods are shared as they are decoded
        return changes

    def _mark_synced(self) -> Synced:
        self.synced = True
        self.backoff.reset()
        self.observer.on_synced(self.resource.name)
        log.info("%s: synced %d objects at resourceVersion %s", self.name, len(self.cache),
                 self.resource_version)
        return Synced(self.resource.name, len(self.cache))

    # ---- layer 3: one watch stream -----------------------------------------------------------

    async def _watch(self, *, initial: bool) -> AsyncIterator[list[Change[T] | Synced]]:
        """One watch stream; ``initial``: a streaming list (its initial events, then live)."""
        stream = _Stream[T]("initial" if initial else "live")
        batches = self.client.stream_batches(self.resource.path(self.namespace), self._watch_params(initial),
                                             read_timeout=self.read_timeout, max_line=self.max_line)
        async for batch in batches:
            out: list[Change[T] | Synced] = []
            try:
                if stream.mode == "initial":
                    batch = self._initial(batch, stream, out)
                for start in range(0, len(batch), LIVE_SLICE):
                    self._live(batch[start : start + LIVE_SLICE], out)
                    if out:
                        yield out
                        out = []
            except Exception:
                if out:
                    yield out  # what came before the error in this read, then the error
                raise
            if out:
                yield out
            if self._unshared.due():
                self._unshared.share(self.cache)  # type: ignore[arg-type]
        if stream.mode == "initial":
            raise errors.ApiServerError("the watch ended before the initial events were complete")

    def _watch_params(self, initial: bool) -> dict[str, str | int]:
        params: dict[str, str | int] = {"watch": "true", "allowWatchBookmarks": "true",
                                        "timeoutSeconds": int(self.watch_timeout), **self._selectors()}
        if initial:
            params.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan")
        else:
            params["resourceVersion"] = self.resource_version or ""
        return params

    def _live(self, lines: list[Line | OversizeLine], out: list[Change[T] | Synced]) -> None:
        """The hot loop: decode each line and apply it to the cache, as typed changes in ``out``.

        Decoding and applying stay in this one function on purpose: a method call per event
        costs ~2 % of the whole watch path (``docs/performance.md``). Everything rare (bad
        lines, lenient decoding, ERROR, BOOKMARK) is a call out of the loop."""
        decode, convert, ident = self._decoders.event.decode, self._convert, self.resource.ident
        cache, share, unshared = self.cache, self._share_new, self._unshared.keys
        last_rv: str | None = None
        applied = modified = 0
        try:
            for line in lines:
                try:
                    event = decode(line)  # type: ignore[arg-type]  # an OversizeLine raises TypeError
                    kind, wire = event.type, event.object
                except (msgspec.DecodeError, TypeError) as e:
                    decoded = self._decode_slowly(line, e)
                    if decoded is None:
                        continue
                    kind, wire = decoded
                    if isinstance(wire, Skipped):  # a DELETED event of an undecodable object
                        self._forget(wire, out)
                        continue
                if kind == "MODIFIED" or kind == "ADDED":
                    obj = wire if convert is None else convert(wire)
                    ns, obj_name, uid, last_rv = ident(obj)
                    key = (ns, obj_name)
                    old = cache.get(key)
                    applied += 1
                    if old is None:
                        cache[key] = obj if share is None else share(obj)
                        out.append(Change("added", None, obj))
                        continue
                    cache[key] = obj
                    if share is not None:
                        unshared[key] = None
                        modified += 1
                    _, _, old_uid, old_rv = ident(old)
                    if old_uid != uid:
                        out.append(Change("deleted", old, old))
                        out.append(Change("added", None, obj))
                    elif old_rv != last_rv:
                        out.append(Change("modified", old, obj))
                elif kind == "DELETED":
                    obj = wire if convert is None else convert(wire)
                    ns, obj_name, _, last_rv = ident(obj)
                    applied += 1
                    out.append(Change("deleted", cache.pop((ns, obj_name), None), obj))
                elif kind == "BOOKMARK":
                    last_rv = self._bookmark(line) or last_rv
                elif kind == "ERROR":
                    self._on_error_line(line)
                else:
                    self._bad("wrong-shape", f"unknown event type {kind!r}")
        finally:  # also when an ERROR line ends the stream: what was applied before it counts
            if last_rv is not None:
                self.resource_version = last_rv
            if applied:
                self.observer.on_events(self.resource.name, applied)
            self._unshared.events += modified

    def _initial(self, lines: list[Line | OversizeLine], stream: _Stream[T],
                 out: list[Change[T] | Synced]) -> list[Line | OversizeLine]:
        """The initial events of a streaming list: ADDED events into ``stream.fresh`` until the
        initial-events-end bookmark, which replaces the cache with them (typed changes and the
        ``Synced`` marker in ``out``) and switches the stream to live. Returns the lines of
        this read after that bookmark (live events), or none."""
        stream.initial_bytes += sum(x.size if isinstance(x, OversizeLine) else len(x) for x in lines)
        decode, convert, ident = self._decoders.event.decode, self._convert, self.resource.ident
        fresh, share, added = stream.fresh, self._share_new, 0
        try:
            for i, line in enumerate(lines):
                try:
                    event = decode(line)  # type: ignore[arg-type]  # an OversizeLine raises TypeError
                    kind, wire = event.type, event.object
                except (msgspec.DecodeError, TypeError) as e:
                    decoded = self._decode_slowly(line, e)
                    if decoded is None or isinstance(decoded[1], Skipped):
                        continue  # nothing cached yet that a skipped DELETED could remove
                    kind, wire = decoded
                if kind == "BOOKMARK":
                    if self._initial_events_end(line):
                        out.extend(self._replace(fresh))
                        out.append(self._mark_synced())
                        stream.mode, stream.fresh = "live", {}
                        return lines[i + 1 :]
                    continue
                if kind == "ERROR":
                    self._on_error_line(line)
                    continue
                obj = wire if convert is None else convert(wire)
                ns, obj_name, _, _ = ident(obj)
                if kind != "ADDED":
                    raise _NotStreaming(f"a {kind} event came before the initial-events-end bookmark")
                fresh[(ns, obj_name)] = obj if share is None else share(obj)
                added += 1
        finally:
            if added:
                self.observer.on_events(self.resource.name, added)
        if stream.initial_bytes > self.max_list:
            self._list_too_large(stream.initial_bytes)
        return []

    def _decode_slowly(self, line: Line | OversizeLine, error: Exception) -> tuple[str, Any] | None:
        """A line the strict decode refused: (type, object) when it is still a watch event
        (decoded leniently; the object a ``Skipped`` for an undecodable DELETED, whose deletion
        is still news), None when it is skipped (counted and logged). An ERROR event raises."""
        if isinstance(line, OversizeLine):
            self._bad("oversize", f"{line.size} bytes")
            return None
        if not isinstance(error, msgspec.ValidationError):
            self._bad("malformed", bytes(line[:80]).decode("utf-8", "replace"))
            return None
        status = self._decoders.error_status(line)
        lenient = None if status is not None else self._decoders.lenient_event(line)
        if lenient is None or lenient[0] == "ERROR":
            self._on_error(status, line)  # an ERROR event, or no watch event at all
            return None
        kind, wire = lenient
        if isinstance(wire, Skipped) and kind != "BOOKMARK":
            self._skipped(wire)
            return (kind, wire) if kind == "DELETED" else None
        return kind, wire

    def _forget(self, skipped: Skipped, out: list[Change[T] | Synced]) -> None:
        """A deleted object that cannot be decoded: its last decodable version goes."""
        old = self.cache.pop(skipped.key, None) if skipped.key is not None else None
        if old is not None:
            out.append(Change("deleted", old, old))

    def _on_error_line(self, line: Line | OversizeLine) -> None:
        """An ERROR event that decoded strictly (so ``line`` is bytes): see ``_on_error``."""
        self._on_error(self._decoders.error_status(line), line)  # type: ignore[arg-type]

    def _bookmark(self, line: Line | OversizeLine) -> str | None:
        """The resourceVersion a live BOOKMARK moves the resume point to (None: it has none)."""
        meta = self._decoders.bookmark(line)  # type: ignore[arg-type]
        return meta.resource_version or None if meta is not None else None

    def _initial_events_end(self, line: Line | OversizeLine) -> bool:
        """A BOOKMARK in the initial-events phase: True for the initial-events-end one."""
        meta = self._decoders.bookmark(line)  # type: ignore[arg-type]
        if meta is None or not meta.resource_version:
            return False
        self.resource_version = meta.resource_version
        if (meta.annotations or {}).get(INITIAL_EVENTS_END) != "true":
            raise _NotStreaming("a bookmark came before the initial-events-end bookmark")
        return True

    def _list_too_large(self, size: int) -> None:
        """A streaming list still without its initial-events-end bookmark past the list cap: a
        broken or hostile server. Its objects are dropped (memory stays bounded by the cap plus
        one network read) and the restart, with backoff, lists again."""
        self.resource_version = None
        cap = f"{self.max_list >> 20} MiB" if self.max_list >= 1 << 20 else f"{self.max_list} bytes"
        raise ResponseTooLarge(
            f"the streaming list of {self.resource.api} from {self.client.server} exceeds {cap} "
            f"({size} bytes read) before its initial-events-end bookmark: refused (a broken or "
            "hostile API server)"
        )

    def _on_error(self, status: Any, line: bytes | memoryview) -> None:
        """An ERROR event ends the stream: 410 re-lists, anything else resumes after backoff."""
        if status is None:
            self._bad("wrong-shape", bytes(line[:80]).decode("utf-8", "replace"))
            return
        if status.code == 410 or status.reason in ("Expired", "Gone"):
            raise _Expired(status.message)
        wire = KubeStatus(kind="Status", message=status.message, reason=status.reason, code=status.code,
                          details=status.details)  # fmt: skip
        raise stream_error(wire, where=f"ERROR in the watch stream of {self.resource.api}")

    def _skipped(self, skipped: Skipped) -> None:
        """One object that cannot be decoded even leniently: it alone is lost, not its list
        or stream (the cache keeps its last decodable version)."""
        self.observer.on_object_skipped(self.resource.name, skipped.reason)
        log.warning("%s: skipped object %s that cannot be decoded (%s): %s", self.name, skipped.where,
                    skipped.reason, skipped.detail[:300])

    def _bad(self, reason: str, detail: str) -> None:
        self.observer.on_bad_line(self.resource.name, reason)
        log.warning("%s: skipped a bad watch line (%s): %s", self.name, reason, detail)
