"""The watch stage: list -> watch -> re-list on 410, reconnect with backoff, slim structs.

Entry points: ``Reflector`` (iterate it for ``Change``/``Synced``), the resources ``PODS``,
``NODES``, ``EVENTS`` (events.k8s.io/v1 with a core/v1 fallback), and the ``WatchObserver``
Protocol for metrics.
"""

from podsleuth.watch.changes import Change, Key, Synced
from podsleuth.watch.observer import NullObserver, WatchObserver
from podsleuth.watch.reflector import Reflector
from podsleuth.watch.resources import CORE_EVENTS, EVENTS, NODES, PODS, Resource

__all__ = ["CORE_EVENTS", "EVENTS", "NODES", "PODS", "Change", "Key", "NullObserver", "Reflector",
           "Resource", "Synced", "WatchObserver"]
