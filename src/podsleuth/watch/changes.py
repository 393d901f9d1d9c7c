"""What a reflector yields: typed changes of its cache, and a marker once a (re-)list is complete.

A re-list reconciles instead of replaying: objects gone during the gap become ``deleted``,
objects whose resourceVersion moved become ``modified``, unchanged ones yield nothing, so a
reconnect never makes the detector see the same pod twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, Literal, TypeVar

import msgspec

from podsleuth.watch.resources import Ident

T = TypeVar("T")

ChangeKind = Literal["added", "modified", "deleted"]
Key = tuple[str, str]
"""(namespace, name); namespace is "" for cluster-scoped objects."""


class Change(msgspec.Struct, Generic[T], frozen=True, gc=False):
    """``old`` is None for added; ``new`` is the last known state for deleted."""

    kind: ChangeKind
    old: T | None
    new: T | None


class Synced(msgspec.Struct, frozen=True, gc=False):
    """The cache now reflects a complete list (initial or re-list) of ``resource``."""

    resource: str
    count: int


def reconcile(
    cache: dict[Key, T], fresh: dict[Key, T], ident: Callable[[T], Ident]
) -> Iterator[Change[T]]:
    """Changes that turn ``cache`` into ``fresh``; uid-aware (same name, new uid = delete + add)."""
    for key, old in cache.items():
        if key not in fresh:
            yield Change("deleted", old, old)
    for key, new in fresh.items():
        old_or_none = cache.get(key)
        if old_or_none is None:
            yield Change("added", None, new)
            continue
        _, _, old_uid, old_rv = ident(old_or_none)
        _, _, new_uid, new_rv = ident(new)
        if old_uid != new_uid:
            yield Change("deleted", old_or_none, old_or_none)
            yield Change("added", None, new)
        elif old_rv != new_rv:
            yield Change("modified", old_or_none, new)
