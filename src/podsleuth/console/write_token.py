"""The console's write token, read from a file that may appear, change or vanish while the
console runs.

In the cluster the file is a key of an optional Secret mounted into the watcher's pod
(``podsleuth manifests``): the pod starts before anyone has created the Secret, and kubelet
swaps the file in place when the Secret is created or rotated (within about a minute). So the
file is looked at again at most every ``REREAD_EVERY`` seconds, on a write request, and the
console is writable exactly while the file holds a token: no restart to turn writes on, and
removing the Secret turns them off again. A small file on the pod's own tmpfs is read in the
event loop; it is never a network mount.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MIN_TOKEN = 16
REREAD_EVERY = 10.0


@dataclass(kw_only=True)
class TokenFile:
    """A write token kept in ``path``; ``current()`` is the token now, or None (read-only)."""

    path: Path
    reread_every: float = REREAD_EVERY
    clock: Callable[[], float] = field(default=time.monotonic)
    _token: str | None = field(default=None, init=False, repr=False)
    _read_at: float = field(default=-math.inf, init=False, repr=False)

    def current(self) -> str | None:
        now = self.clock()
        if now - self._read_at >= self.reread_every:
            self._read_at = now
            self._token = self._read()
        return self._token

    def _read(self) -> str | None:
        """The token, or None while the file is missing, unreadable or too short to be one (a
        half-written Secret must not become a guessable token)."""
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return token if len(token) >= MIN_TOKEN else None
