"""Crash points for the failover tests: die by SIGKILL at a named step of publishing.

``PODSLEUTH_FAILPOINT=name`` (or ``name@N``: at its N-th hit; several comma-separated) makes the
process kill itself with SIGKILL when it reaches that step, so a test can crash a real
``podsleuth watch`` exactly between two writes that no outside timing could separate reliably
(tests/ha/test_failover_kill_points.py). Unset - always, outside those tests - ``hit`` is one
dictionary lookup. The points:

* ``publish.before-store``: the change was printed, nothing of it is stored yet;
* ``submit.after-store``: the incident and its queue rows are stored, no delivery row exists;
* ``deliver.after-send``: the sink answered, the store does not know yet.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "PODSLEUTH_FAILPOINT"
POINTS = ("publish.before-store", "submit.after-store", "deliver.after-send")


def _parse(spec: str) -> dict[str, int]:
    armed: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, nth = part.partition("@")
        if name in POINTS:
            armed[name] = int(nth) if nth.isdigit() and int(nth) > 0 else 1
    return armed


_armed = _parse(os.environ.get(ENV, ""))


def hit(name: str) -> None:
    """Count a pass through ``name``; SIGKILL this process on the armed pass."""
    left = _armed.get(name)
    if left is None:
        return
    if left > 1:
        _armed[name] = left - 1
        return
    sys.stderr.write(f"podsleuth: failpoint {name}: SIGKILL\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
