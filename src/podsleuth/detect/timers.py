"""A keyed heap of deadlines: time-based rules fire on time, not on the next update.

Each key (a pod to re-evaluate, an incident to resolve, ...) has at most one live deadline;
rescheduling or cancelling leaves the old heap entry behind and it is skipped when popped
(lazy deletion), which keeps every operation O(log n) without searching the heap.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable
from datetime import datetime


class Timers:
    """Deadlines keyed by any hashable; the caller's event loop sleeps until ``next_deadline``."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Hashable]] = []
        self._live: dict[Hashable, tuple[datetime, int]] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._live)

    @property
    def entries(self) -> int:
        """Heap entries held, cancelled ones included: what rescheduling costs in memory."""
        return len(self._heap)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._live

    def schedule(self, key: Hashable, when: datetime) -> None:
        """Set (or move) the key's deadline; an unchanged deadline costs no heap push."""
        live = self._live.get(key)
        if live is not None and live[0] == when:
            return
        seq = next(self._seq)
        self._live[key] = (when, seq)
        heapq.heappush(self._heap, (when, seq, key))
        if len(self._heap) > 64 and len(self._heap) > 4 * len(self._live):
            self._compact()

    def cancel(self, key: Hashable) -> None:
        self._live.pop(key, None)

    def deadline(self, key: Hashable) -> datetime | None:
        live = self._live.get(key)
        return live[0] if live is not None else None

    def next_deadline(self) -> datetime | None:
        heap = self._heap
        while heap:
            when, seq, key = heap[0]
            live = self._live.get(key)
            if live is not None and live[1] == seq:
                return when
            heapq.heappop(heap)
        return None

    def pop_due(self, now: datetime) -> list[Hashable]:
        """Remove and return the keys whose deadline is at or before ``now``, earliest first."""
        due: list[Hashable] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _when, seq, key = heapq.heappop(heap)
            live = self._live.get(key)
            if live is not None and live[1] == seq:
                del self._live[key]
                due.append(key)
        return due

    def _compact(self) -> None:
        self._heap = [(when, seq, key) for key, (when, seq) in self._live.items()]
        heapq.heapify(self._heap)
