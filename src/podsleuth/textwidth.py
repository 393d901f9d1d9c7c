"""Text that fits a terminal: widths counted in columns, not characters.

A Chinese character takes two columns (East Asian Width W or F), so a zh line padded or cut by
``len`` overflows the terminal and a table's columns drift. Every width decision of the text
views goes through here: ``display_width`` counts columns, ``pad`` fills to a column,
``clip`` cuts the end, ``shorten_middle`` cuts the middle (the start names the object, the end
of an error text carries the errno that matters), ``wrap`` folds a paragraph (at spaces, and
between Chinese characters, which have none). Combining marks take no column. A foundation
module: the CLI's views and the diagnosis report both use it.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal (ASCII fast path: one per character)."""
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` columns (unchanged if already wider)."""
    return text + " " * max(0, width - display_width(text))


def _head(text: str, columns: int) -> str:
    """The longest start of ``text`` within ``columns``."""
    used = 0
    for i, ch in enumerate(text):
        used += char_width(ch)
        if used > columns:
            return text[:i]
    return text


def _tail(text: str, columns: int) -> str:
    """The longest end of ``text`` within ``columns``."""
    used = 0
    for i in range(len(text) - 1, -1, -1):
        used += char_width(text[i])
        if used > columns:
            return text[i + 1 :]
    return text


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, its end replaced by ``…`` when cut."""
    if display_width(text) <= width:
        return text
    return _head(text, max(0, width - 1)) + ELLIPSIS


def shorten_middle(text: str, width: int) -> str:
    """``text`` (whitespace runs folded) in at most ``width`` columns, cut in the middle: start
    and end both stay."""
    text = " ".join(text.split())
    if display_width(text) <= width:
        return text
    if width < 10:
        return _head(text, width)
    tail = (width - 1) // 2
    return _head(text, width - 1 - tail) + ELLIPSIS + _tail(text, tail)


NO_LINE_START = frozenset("，。、；：！？）」』”’》〉")
"""Chinese punctuation a line never starts with (it stays on the line before, a column over)."""


def _is_wide(ch: str) -> bool:
    return char_width(ch) == 2


NO_LINE_END = frozenset("（「『“‘《〈")
"""Chinese opening punctuation a line never ends with (it goes to the next line with its word)."""


def _pieces(text: str) -> list[str]:
    """Units a line may break between: words (with their trailing space) and single wide
    characters (Chinese text breaks between any two characters), never inside a Latin word,
    a path or a command, nor after an opening bracket."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ch in NO_LINE_END:
            if word:
                out.append(word)
            word = ch
        elif _is_wide(ch):
            if word and word[-1] in NO_LINE_END:
                word += ch
                continue
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        elif ch == " ":
            out.append(word + " ")
            word = ""
        else:
            word += ch
    if word:
        out.append(word)
    return out


def wrap(text: str, width: int, *, indent: str = "", subsequent: str | None = None) -> list[str]:
    """``text`` folded into lines of at most ``width`` columns (a piece longer than a line, e.g.
    a path, gets a line of its own and may overflow), each starting with ``indent`` (then
    ``subsequent``); whitespace runs folded."""
    subsequent = indent if subsequent is None else subsequent
    lines: list[str] = []
    line, prefix = "", indent
    for piece in _pieces(" ".join(text.split())):
        fits = display_width(prefix + line + piece.rstrip()) <= width
        if line and not fits and piece[0] not in NO_LINE_START:
            lines.append(prefix + line.rstrip())
            line, prefix = "", subsequent
            piece = piece.lstrip()
        line += piece
    if line.strip() or not lines:
        lines.append(prefix + line.rstrip())
    return lines
