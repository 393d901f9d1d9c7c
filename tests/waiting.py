"""Waiting on what a test can observe, never on the wall clock.

A test that sleeps "long enough" for something to happen is slow when the machine is idle and
flaky when it is busy (two cores shared by many runs).  Tests wait instead on a condition they can
see - a count, a file, a request the fake server recorded - with a deadline that only bounds a
failure: the happy path returns as soon as the condition holds.  "Nothing more arrives" is not a
condition; tests prove it with a later marker (ordering shows that everything before it is done).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

POLL = 0.005
"""Seconds between looks: short enough to add nothing measurable, long enough not to spin a core."""


@overload
async def eventually(
    predicate: Callable[[], Awaitable[T]], *, within: float = ..., what: str = ..., every: float = ...
) -> T: ...
@overload
async def eventually(
    predicate: Callable[[], T], *, within: float = ..., what: str = ..., every: float = ...
) -> T: ...
async def eventually(
    predicate: Callable[[], Any], *, within: float = 5.0, what: str = "the condition", every: float = POLL
) -> Any:
    """The first truthy value of ``predicate`` (sync or async), looked at every ``every`` seconds
    until ``within`` have passed; then AssertionError naming ``what``. A larger ``every`` for a
    costly look (an HTTP request to a process that is still starting)."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {within}s")
        await asyncio.sleep(every)


def eventually_sync(
    predicate: Callable[[], T], *, within: float = 5.0, what: str = "the condition", every: float = POLL
) -> T:
    """``eventually`` for tests that are not async (a subprocess, a thread, a mount)."""
    deadline = time.monotonic() + within
    while not (value := predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {within}s")
        time.sleep(every)
    return value
