"""Texts of the knowledge base in a second language, kept beside the English in the same entry.

A translation that names other facts than the English one would render ``?`` or drop what the
English says, and one with a missing remediation step would silently tell less; so the loader
checks every translated text against its English twin: same placeholders, same number of items.
How a translation is written: ``docs/i18n.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PLACEHOLDER = re.compile(r"\{(\w+)(?:\|((?:[^{}]|\{\w+\})*))?\}")


def placeholders(template: str) -> set[str]:
    """The fact names a template reads, fallbacks' ``{other}`` facts included."""
    names: set[str] = set()
    for m in _PLACEHOLDER.finditer(template):
        names.add(m.group(1))
        if m.group(2):
            names |= placeholders(m.group(2))
    return names


def same_placeholders(english: str, translated: str, *, where: str) -> None:
    """Raise ValueError when the translation reads other facts than the English text."""
    en, tr = placeholders(english), placeholders(translated)
    if en != tr:
        missing = ", ".join(sorted(en - tr)) or "-"
        extra = ", ".join(sorted(tr - en)) or "-"
        raise ValueError(f"{where}: translation placeholders differ (missing: {missing}; extra: {extra})")


def same_items(english: Sequence[str], translated: Sequence[str], *, where: str) -> None:
    """Raise ValueError unless the lists pair up one to one with the same placeholders."""
    if len(english) != len(translated):
        raise ValueError(f"{where}: {len(translated)} translated items for {len(english)} English ones")
    for i, (en, tr) in enumerate(zip(english, translated, strict=True)):
        same_placeholders(en, tr, where=f"{where}[{i}]")
