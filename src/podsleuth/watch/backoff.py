"""Jittered exponential backoff with injectable sleep and randomness (tests run on fake time)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[object]]


class Backoff:
    """``base * 2**n`` capped at ``cap``, times a jitter in [0.5, 1): no thundering herd of
    watchers reconnecting in lockstep after an API server restart."""

    def __init__(self, *, cap: float, base: float = 0.5, sleep: Sleep = asyncio.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self.cap, self.base = cap, base
        self.failures = 0
        self._sleep, self._jitter = sleep, jitter

    def next_delay(self) -> float:
        """The delay to wait after one more failure."""
        raw = min(self.cap, self.base * (2 ** min(self.failures, 32)))
        self.failures += 1
        return float(raw * (0.5 + 0.5 * self._jitter()))

    async def wait(self, delay: float) -> None:
        if delay > 0:
            await self._sleep(delay)

    def reset(self) -> None:
        self.failures = 0
