"""The shape every fact extractor shares."""

from __future__ import annotations

from collections.abc import Callable

Facts = dict[str, object]
#: ``(text, lowered) -> facts found``; ``lowered`` is ``text.lower()``, computed once per message.
Extractor = Callable[[str, str], Facts]
