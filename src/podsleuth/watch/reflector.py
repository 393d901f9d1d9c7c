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
from typing import Any, Generic, TypeVar, cast

import msgspec

from podsleuth import errors
from podsleuth.config import WatchSettings
from podsleuth.kube.client import (
    DEFAULT_MAX_LINE,
    DEFAULT_MAX_LIST,
    KubeClient,
    OversizeLine,
    ResponseTooLarge,
    StreamTimeout,
)
from podsleuth.kube.errors import Status as KubeStatus
from podsleuth.kube.errors import stream_error
from podsleuth.watch import listing
from podsleuth.watch.backoff import Backoff, Sleep
from podsleuth.watch.changes import Change, Key, Synced, reconcile
from podsleuth.watch.interning import Interner
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


class _Expired(Exception):
    """The resourceVersion we resume from is too old: re-list."""


class _NotStreaming(Exception):
    """The server does not do streaming lists (it ignored sendInitialEvents)."""


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
    ) -> None:
        self.client, self.resource, self.namespace = client, resource, namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.page_size, self.read_timeout, self.watch_timeout = page_size, read_timeout, watch_timeout
        self.streaming_list, self.max_line, self.pause_gc = streaming_list, max_line, pause_gc
        self.max_list = max_list
        """The initial events of a streaming list together at most (bytes as read): by default
        the client's cap on a paginated list, so neither list form can grow memory past it."""
        self.observer: WatchObserver = observer or NullObserver()
        self.backoff = Backoff(cap=backoff_max, sleep=sleep, jitter=jitter)
        self.cache: dict[Key, T] = {}
        self.resource_version: str | None = None
        """Where the next watch resumes; None = list first."""
        self.synced = False
        self._decoders: Decoders[Any] = Decoders(resource.wire, resource.name)
        self._interner = Interner()

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
        sharing (watched pods share in ``_watch``, more cheaply, from their cached version)."""
        if self.resource.convert is not None:
            return self.resource.convert
        if listing and self.resource.wire is Pod:
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
        params: dict[str, str | int] = {"watch": "true", "allowWatchBookmarks": "true",
                                        "timeoutSeconds": int(self.watch_timeout), **self._selectors()}
        if initial:
            params.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan")
            fresh: dict[Key, T] | None = {}
        else:
            params["resourceVersion"] = self.resource_version or ""
            fresh = None
        resource, decoders, observer, name = self.resource, self._decoders, self.observer, self.resource.name
        decode, convert, ident, cache = decoders.event.decode, self.converter(), resource.ident, self.cache
        share = resource.wire is Pod
        share_new = cast("Callable[[T], T]", self._interner.pod)
        share_from = cast("Callable[[T, T], T]", self._interner.carry)
        batches = self.client.stream_batches(resource.path(self.namespace), params,
                                             read_timeout=self.read_timeout, max_line=self.max_line)
        initial_bytes = 0
        async for batch in batches:
            out: list[Change[T] | Synced] = []
            if fresh is not None:
                initial_bytes += sum(x.size if isinstance(x, OversizeLine) else len(x) for x in batch)
            try:
                for line in batch:
                    if isinstance(line, OversizeLine):
                        self._bad("oversize", f"{line.size} bytes")
                        continue
                    try:
                        event = decode(line)
                        kind, wire_obj = event.type, event.object
                    except msgspec.ValidationError:
                        status = decoders.error_status(line)
                        lenient = None if status is not None else decoders.lenient_event(line)
                        if lenient is None or lenient[0] == "ERROR":
                            self._on_error(status, line)  # an ERROR event, or no watch event at all
                            continue
                        kind, wire_obj = lenient
                        if isinstance(wire_obj, Skipped) and kind != "BOOKMARK":
                            self._skipped(wire_obj)
                            gone = wire_obj.key if kind == "DELETED" and fresh is None else None
                            if gone is not None and gone in cache:  # its deletion is still news
                                old_obj = cache.pop(gone)
                                out.append(Change("deleted", old_obj, old_obj))
                            continue
                    except msgspec.DecodeError:
                        self._bad("malformed", bytes(line[:80]).decode("utf-8", "replace"))
                        continue
                    if kind == "BOOKMARK":
                        meta = decoders.bookmark(line)
                        if meta is None or not meta.resource_version:
                            continue
                        self.resource_version = meta.resource_version
                        if fresh is not None:
                            if (meta.annotations or {}).get(INITIAL_EVENTS_END) != "true":
                                raise _NotStreaming("a bookmark came before the initial-events-end bookmark")
                            out.extend(self._replace(fresh))
                            cache, fresh = self.cache, None
                            out.append(self._mark_synced())
                        continue
                    if kind == "ERROR":
                        self._on_error(decoders.error_status(line), line)
                        continue
                    obj = wire_obj if convert is None else convert(wire_obj)
                    ns, obj_name, uid, rv = ident(obj)
                    key = (ns, obj_name)
                    observer.on_event(name)
                    if fresh is not None:
                        if kind != "ADDED":
                            raise _NotStreaming(f"a {kind} event came before the initial-events-end bookmark")
                        fresh[key] = share_new(obj) if share else obj
                        continue
                    self.resource_version = rv
                    if kind == "DELETED":
                        out.append(Change("deleted", cache.pop(key, None), obj))
                    elif kind == "ADDED" or kind == "MODIFIED":
                        old = cache.get(key)
                        if share:
                            obj = share_new(obj) if old is None else share_from(old, obj)
                        cache[key] = obj
                        if old is None:
                            out.append(Change("added", None, obj))
                        else:
                            _, _, old_uid, old_rv = ident(old)
                            if old_uid != uid:
                                out.append(Change("deleted", old, old))
                                out.append(Change("added", None, obj))
                            elif old_rv != rv:
                                out.append(Change("modified", old, obj))
                    else:
                        self._bad("wrong-shape", f"unknown event type {kind!r}")
            except Exception:
                if out:
                    yield out  # what came before the error in this read, then the error
                raise
            if out:
                yield out
            if fresh is not None and initial_bytes > self.max_list:
                self._list_too_large(initial_bytes)
        if fresh is not None:
            raise errors.ApiServerError("the watch ended before the initial events were complete")

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
