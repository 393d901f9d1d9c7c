"""The paginated list: ``limit`` + ``continue`` pages, all at the resourceVersion of the first.

A continue token can expire mid-way (410 after etcd compaction); the list then restarts from
the first page, a few times, before the reflector's backoff takes over.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypeVar

from podsleuth import errors

if TYPE_CHECKING:
    from podsleuth.watch.changes import Key
    from podsleuth.watch.reflector import Reflector

T = TypeVar("T")

log = logging.getLogger("podsleuth.watch")

RESTARTS = 3


async def paginated(reflector: Reflector[T]) -> tuple[dict[Key, T], str]:
    """All objects by (namespace, name) and the list's resourceVersion."""
    for attempt in range(RESTARTS + 1):
        try:
            return await _one_pass(reflector)
        except errors.ApiGone as e:
            if attempt == RESTARTS:
                raise
            reflector.observer.on_restart(reflector.resource.name, "expired")
            log.info("%s: continue token expired mid-list (%s); restarting the list", reflector.name, e)
    raise AssertionError("unreachable")


async def _one_pass(reflector: Reflector[T]) -> tuple[dict[Key, T], str]:
    resource = reflector.resource
    decode = reflector._decoders.page.decode
    convert, ident = resource.convert, resource.ident
    path = resource.path(reflector.namespace)
    fresh: dict[Key, T] = {}
    params: dict[str, str | int] = {"limit": reflector.page_size, **reflector._selectors()}
    rv = ""
    while True:
        page: Any = decode(await reflector.client.get(path, params))
        rv = rv or page.metadata.resource_version
        for item in page.items or ():
            obj = item if convert is None else convert(item)
            ns, name, _, _ = ident(obj)
            fresh[(ns, name)] = obj
        token = page.metadata.continue_
        if not token:
            return fresh, rv
        params["continue"] = token
