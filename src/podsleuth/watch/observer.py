"""Metrics hooks of the watcher: a tiny Protocol, so the watch layer never imports prometheus.

Restart reasons: ``expired`` (410), ``stream-end``, ``read-timeout``, ``connection``,
``forbidden``, ``error``. Bad-line reasons: ``malformed``, ``wrong-shape``, ``oversize``.
Skipped-object reasons (an object of a list page or a watch event that cannot be decoded even
leniently, see ``lenient``): ``invalid``, ``not-an-object``, ``no-name``, ``malformed``.
"""

from __future__ import annotations

from typing import Protocol


class WatchObserver(Protocol):
    def on_events(self, resource: str, count: int) -> None:
        """``count`` watch events decoded (called once per network read, not per event)."""
        ...

    def on_restart(self, resource: str, reason: str) -> None: ...

    def on_synced(self, resource: str) -> None: ...

    def on_bad_line(self, resource: str, reason: str) -> None: ...

    def on_object_skipped(self, resource: str, reason: str) -> None: ...


class NullObserver:
    """The default: observes nothing."""

    def on_events(self, resource: str, count: int) -> None:
        pass

    def on_restart(self, resource: str, reason: str) -> None:
        pass

    def on_synced(self, resource: str) -> None:
        pass

    def on_bad_line(self, resource: str, reason: str) -> None:
        pass

    def on_object_skipped(self, resource: str, reason: str) -> None:
        pass
