"""One rule for text that is not valid Unicode on its way into JSON or a terminal.

Paths come from the kernel as bytes and are decoded with ``surrogateescape``; messages come from
JSON that may hold lone surrogates (``"x\\ud800"``). Written as they are, both either crash the
encoder (UnicodeEncodeError) or produce invalid UTF-8. ``node check``, ``node serve`` and
``diagnose`` all pass their output through :func:`clean`, so the same bytes look the same
everywhere:

* a byte that was not UTF-8 (a ``surrogateescape`` code point U+DC80..U+DCFF) becomes the four
  characters ``\\xNN`` (its hex value), readable and unambiguous enough to find the path;
* any other lone surrogate becomes U+FFFD, the replacement character.

The output is therefore always encodable as UTF-8.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return "\ufffd"


def clean(text: str) -> str:
    """``text`` with every lone surrogate replaced by the rule above (fast path: none)."""
    if text.isascii():
        return text
    return _SURROGATE.sub(_replace, text)


def replace_surrogates(text: str) -> str:
    """Every lone surrogate as U+FFFD: for text that came from JSON escapes (``"\\udc80"`` there
    is not a byte of a path), where the ``\\xNN`` form of :func:`clean` would be a guess."""
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


def clean_tree(obj: Any) -> Any:
    """Strings anywhere in a JSON-like tree (keys too) passed through :func:`clean`."""
    if isinstance(obj, str):
        return clean(obj)
    if isinstance(obj, dict):
        return {clean(k) if isinstance(k, str) else k: clean_tree(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean_tree(v) for v in obj]
    return obj


def dumps(obj: Any) -> str:
    """One line of JSON, valid UTF-8 whatever the strings in ``obj`` held."""
    return json.dumps(clean_tree(obj), ensure_ascii=False, default=lambda o: clean(str(o)))
