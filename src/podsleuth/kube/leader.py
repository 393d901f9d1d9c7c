"""Lease-based leader election (coordination.k8s.io/v1), modelled on client-go's.

Every candidate runs ``LeaderElector.run``. The lease is taken when it is missing (created), free
(empty ``holderIdentity``, e.g. released on shutdown) or expired: its ``renewTime`` plus
``leaseDurationSeconds`` is past, or it has not changed for ``leaseDurationSeconds`` since this
candidate first saw it (so a skewed clock on the holder's node does not keep it forever). Writes
are optimistic: a PUT carries the resourceVersion that was read, and a 409 means somebody else
wrote first. A taken lease gets ``acquireTime`` and ``leaseTransitions + 1``.

The leader renews every ``retry_period``; each attempt is bounded by the time left until
``renew_deadline`` after the last successful renewal, so a hung API call cannot keep a leader
that is no longer one. Past the deadline (or on seeing another holder) it steps down at once:
``is_leader`` turns false at the deadline even if the loop has not run yet, and
``on_stopped_leading`` is called. ``renew_deadline < lease_duration`` leaves a margin in which
the old leader has stopped before anybody else can take the lease. ``release()`` (on SIGTERM)
empties the holder and sets a 1 s duration, so a standby takes over at its next retry.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NamedTuple, Protocol

import msgspec

from podsleuth import errors

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Callback = Callable[[], None]


class LeaseApi(Protocol):
    """What the elector needs of ``KubeClient``."""

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> bytes: ...

    async def post(self, path: str, body: bytes | Mapping[str, Any]) -> bytes: ...

    async def put(self, path: str, body: bytes | Mapping[str, Any]) -> bytes: ...


class LeaseRecord(NamedTuple):
    """The spec of a Lease as read, plus its resourceVersion."""

    holder: str
    duration: float
    acquire_time: float | None
    renew_time: float | None
    transitions: int
    resource_version: str


class Outcome(Enum):
    LEADING = "leading"
    """We hold the lease (acquired or renewed)."""
    HELD = "held"
    """Somebody else holds a valid lease, or created it first."""
    FAILED = "failed"
    """No answer, an error or a lost write race: try again."""


def format_time(t: float) -> str:
    """A metav1.MicroTime: RFC 3339 with microseconds, UTC."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse_lease(obj: Mapping[str, Any], *, default_duration: float) -> LeaseRecord:
    spec = obj.get("spec") or {}
    duration = spec.get("leaseDurationSeconds")
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration=float(duration) if isinstance(duration, int | float) and duration > 0 else default_duration,
        acquire_time=parse_time(spec.get("acquireTime")),
        renew_time=parse_time(spec.get("renewTime")),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=str((obj.get("metadata") or {}).get("resourceVersion") or ""),
    )


class LeaderElector:
    def __init__(
        self,
        api: LeaseApi,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        clock: Clock = time.time,
        on_started_leading: Callback | None = None,
        on_stopped_leading: Callback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not identity:
            raise errors.UsageError("leader election: the identity must not be empty")
        if not 0 < retry_period < renew_deadline < lease_duration:
            raise errors.UsageError(
                "leader election: need 0 < retry period < renew deadline < lease duration, got "
                f"{retry_period:g}s, {renew_deadline:g}s, {lease_duration:g}s"
            )
        self.api = api
        self.namespace, self.name, self.identity = namespace, name, identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.clock = clock
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.rng = rng or random.Random()
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
        self.collection = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self._leading = False
        self._renewed_at = -math.inf
        self._observed: LeaseRecord | None = None
        self._observed_at = -math.inf
        self._failing = False
        self._generation = 0

    # --- state ---
    @property
    def is_leader(self) -> bool:
        """True while we hold the lease and the last renewal is within the renew deadline."""
        return self._leading and self.clock() < self._renewed_at + self.renew_deadline

    @property
    def generation(self) -> int:
        """The Lease's ``leaseTransitions`` as we last wrote it: it grows with every change of
        holder, so (identity, generation) names one term of leadership (the store's fence)."""
        return self._generation

    @property
    def holder(self) -> str | None:
        """The holder last seen on the lease (``""`` = free), ``None`` before the first read."""
        return None if self._observed is None else self._observed.holder

    def _set_leading(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        callback = self.on_started_leading if leading else self.on_stopped_leading
        if leading:
            log.warning("leader election: %s became the leader (lease %s/%s)", self.identity, self.namespace,
                     self.name)
        else:
            log.warning("leader election: %s stopped leading (lease %s/%s)", self.identity, self.namespace,
                        self.name)
        if callback is not None:
            callback()

    def _expired(self, record: LeaseRecord, now: float) -> bool:
        if not record.holder:
            return True
        if record.renew_time is not None and record.renew_time + record.duration <= now:
            return True
        return self._observed_at + record.duration <= now

    # --- one step ---
    def _spec(self, record: LeaseRecord | None, now: float) -> dict[str, Any]:
        mine = record is not None and record.holder == self.identity and record.acquire_time is not None
        transitions = 0 if record is None else record.transitions + (0 if mine else 1)
        acquired = record.acquire_time if mine and record is not None and record.acquire_time else now
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, math.ceil(self.lease_duration)),
            "acquireTime": format_time(acquired),
            "renewTime": format_time(now),
            "leaseTransitions": transitions,
        }

    async def try_acquire_or_renew(self) -> Outcome:
        """One read and at most one write; raises ApiError for anything but a lost race."""
        now = self.clock()
        try:
            raw = await self.api.get(self.path)
        except errors.ApiNotFound:
            spec = self._spec(None, now)
            body: dict[str, Any] = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": spec,
            }
            try:
                await self.api.post(self.collection, body)
            except errors.ApiError as e:
                if e.status == 409:  # AlreadyExists: another candidate created it first
                    return Outcome.HELD
                raise
            self._renewed_at, self._generation = now, int(spec["leaseTransitions"])
            return Outcome.LEADING
        obj: dict[str, Any] = msgspec.json.decode(raw)
        record = parse_lease(obj, default_duration=self.lease_duration)
        if self._observed is None or record != self._observed:
            self._observed, self._observed_at = record, now
        if record.holder != self.identity and not self._expired(record, now):
            return Outcome.HELD
        update: dict[str, Any] = copy.deepcopy(obj)
        spec = self._spec(record, now)
        update["spec"] = {**(obj.get("spec") or {}), **spec}
        update.setdefault("metadata", {})["resourceVersion"] = record.resource_version
        try:
            await self.api.put(self.path, update)
        except errors.ApiConflict:
            return Outcome.FAILED
        self._renewed_at, self._generation = now, int(spec["leaseTransitions"])
        return Outcome.LEADING

    async def _attempt(self, *, within: float) -> Outcome:
        try:
            async with asyncio.timeout(max(0.001, within)):
                outcome = await self.try_acquire_or_renew()
        except TimeoutError:
            self._report(f"no answer within {within:.1f}s")
            return Outcome.FAILED
        except errors.ApiError as e:
            self._report(str(e))
            return Outcome.FAILED
        self._failing = False
        return outcome

    def _report(self, problem: str) -> None:
        level = logging.DEBUG if self._failing else logging.WARNING
        log.log(level, "leader election: lease %s/%s: %s", self.namespace, self.name, problem)
        self._failing = True

    # --- the loop ---
    async def run(self) -> None:
        """Acquire, renew, step down, acquire again ... until cancelled (then no callback runs:
        call ``release`` after cancelling)."""
        while True:
            await self._acquire()
            self._set_leading(True)
            await self._renew()
            self._set_leading(False)

    async def _acquire(self) -> None:
        """Try every retry period (with a little jitter) until we hold the lease."""
        while True:
            if await self._attempt(within=self.renew_deadline) is Outcome.LEADING:
                return
            await asyncio.sleep(self.retry_period * (1 + 0.2 * self.rng.random()))

    async def _renew(self) -> None:
        """Renew every retry period; return when leadership is lost."""
        while True:
            await asyncio.sleep(self.retry_period)
            while True:
                remaining = self._renewed_at + self.renew_deadline - self.clock()
                if remaining <= 0:
                    log.warning("leader election: could not renew lease %s/%s within %gs",
                                self.namespace, self.name, self.renew_deadline)
                    return
                outcome = await self._attempt(within=remaining)
                if outcome is Outcome.LEADING:
                    break
                if outcome is Outcome.HELD:
                    log.warning("leader election: lease %s/%s is now held by %s", self.namespace, self.name,
                                self.holder)
                    return
                left = self._renewed_at + self.renew_deadline - self.clock()
                await asyncio.sleep(max(0.0, min(self.retry_period / 2, left)))

    async def release(self, *, within: float = 5.0) -> bool:
        """Give the lease up (holder emptied, 1 s duration) if we hold it; stop leading first.

        Cancel ``run`` before calling this, or it would take the lease again.
        """
        was_leading = self._leading
        self._set_leading(False)
        if not was_leading:
            return False
        try:
            async with asyncio.timeout(within):
                obj: dict[str, Any] = msgspec.json.decode(await self.api.get(self.path))
                record = parse_lease(obj, default_duration=self.lease_duration)
                if record.holder != self.identity:
                    return False
                now = self.clock()
                obj["spec"] = {
                    **(obj.get("spec") or {}),
                    "holderIdentity": "",
                    "leaseDurationSeconds": 1,
                    "acquireTime": format_time(now),
                    "renewTime": format_time(now),
                    "leaseTransitions": record.transitions,
                }
                obj.setdefault("metadata", {})["resourceVersion"] = record.resource_version
                await self.api.put(self.path, obj)
        except (errors.ApiError, TimeoutError) as e:
            log.warning("leader election: could not release lease %s/%s: %s", self.namespace, self.name,
                        e or e.__class__.__name__)
            return False
        log.info("leader election: %s released lease %s/%s", self.identity, self.namespace, self.name)
        return True
