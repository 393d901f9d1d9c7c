"""Fast search for many literal strings at once with the stdlib ``re`` engine.

CPython's ``re`` tries the branches of an alternation one after the other at every position,
so ``a|b|c|...`` over a hundred keywords costs a hundred comparisons per character. Shaped as a
trie, the alternation rejects most positions after a single character comparison, which is
what makes the keyword prefilter and the errno scan cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of ``words`` literally; greedy, so the longest word starting at a
    position is the one reported. Linear: at most the longest word's length per position."""
    trie: dict[str, Any] = {}
    for w in words:
        if not w:
            raise ValueError("empty literal")
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            return f"(?:{body})?" if len(alts) == 1 else body + "?"
        return body

    return emit(trie)
