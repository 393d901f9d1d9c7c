"""Watch and list envelopes, decoded with msgspec in one pass into the slim structs.

The common case (ADDED/MODIFIED/DELETED of a well-formed object) costs one ``decode`` call into
``WatchEvent[Pod]``. The rare cases pay a second, tiny decode: an ERROR (its Status does not
fit the object struct) and a BOOKMARK (only its resourceVersion and annotations matter).
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from podsleuth.watch.lenient import LenientDecoder, Skipped, identify
from podsleuth.watch.objects import ListMeta, Status

W = TypeVar("W")

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class WatchEvent(msgspec.Struct, Generic[W]):
    type: str
    object: W


class ObjectList(msgspec.Struct, Generic[W]):
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)
    items: list[W] | None = None


class BookmarkMeta(msgspec.Struct, rename="camel"):
    resource_version: str = ""
    annotations: dict[str, str] | None = None


class BookmarkObject(msgspec.Struct):
    metadata: BookmarkMeta = msgspec.field(default_factory=BookmarkMeta)


class BookmarkEvent(msgspec.Struct):
    type: str = ""
    object: BookmarkObject = msgspec.field(default_factory=BookmarkObject)


class StatusEvent(msgspec.Struct):
    type: str = ""
    object: Status = msgspec.field(default_factory=Status)


class Decoders(Generic[W]):
    """One set of reusable decoders per wire type (Decoder objects are immutable)."""

    def __init__(self, wire: type[W], resource: str = "") -> None:
        self.event: msgspec.json.Decoder[WatchEvent[W]] = msgspec.json.Decoder(WatchEvent[wire])  # type: ignore[valid-type]
        self.page: msgspec.json.Decoder[ObjectList[W]] = msgspec.json.Decoder(ObjectList[wire])  # type: ignore[valid-type]
        self._bookmark = msgspec.json.Decoder(BookmarkEvent)
        self._status = msgspec.json.Decoder(StatusEvent)
        self._raw_event = msgspec.json.Decoder(WatchEvent[msgspec.Raw])
        self._raw_page = msgspec.json.Decoder(ObjectList[msgspec.Raw])
        self.item: LenientDecoder[W] = LenientDecoder(wire, resource or wire.__name__)

    def page_items(self, body: bytes) -> tuple[ListMeta, list[W | Skipped]]:
        """A list page whose strict decode failed, object by object: each item decoded
        (leniently) or the reason it was skipped. Raises DecodeError when the page itself
        (not one of its items) is broken."""
        page = self._raw_page.decode(body)
        out: list[W | Skipped] = []
        for raw in page.items or ():
            try:
                out.append(self.item.decode(raw))
            except Skipped as e:
                out.append(identify(raw, e))
        return page.metadata, out

    def lenient_event(self, line: bytes | memoryview) -> tuple[str, W | Skipped] | None:
        """A watch line whose strict decode failed: (type, object or why it was skipped); None
        when the envelope itself is not a watch event."""
        try:
            event = self._raw_event.decode(line)
        except msgspec.DecodeError:
            return None
        try:
            return event.type, self.item.decode(event.object)
        except Skipped as e:
            return event.type, identify(event.object, e)

    def bookmark(self, line: bytes | memoryview) -> BookmarkMeta | None:
        try:
            return self._bookmark.decode(line).object.metadata
        except msgspec.DecodeError:
            return None

    def error_status(self, line: bytes | memoryview) -> Status | None:
        """The Status of an ERROR event; None when the line is not one."""
        try:
            event = self._status.decode(line)
        except msgspec.DecodeError:
            return None
        return event.object if event.type == "ERROR" else None
