"""The founding engineer's decisive test: can this mount point still be bind-mounted?

A ``//deleted`` bind or a dead FUSE connection can look fine to ``stat`` and still make every
new container fail (runc re-opens the target via /proc/self/fd and bind-mounts it).  The test
runs in a child that first enters a private mount namespace, so the bind exists only there and
vanishes with the child: nothing is ever left on the node, even if the child is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import sys
import tempfile
from dataclasses import dataclass

from podsleuth.node import probe

CLONE_NEWNS = 0x00020000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2


@dataclass(frozen=True, slots=True)
class BindResult:
    path: str
    status: str  # "ok" | "error" | "hung" | "unavailable"
    errno: int | None
    error: str | None


def _child(target: str, scratch: str) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def check(rc: int, what: str) -> None:
        if rc != 0:
            e = ctypes.get_errno()
            print(json.dumps({"step": what, "errno": e}))
            raise SystemExit(0)

    check(libc.unshare(CLONE_NEWNS), "unshare")
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make-private")
    check(libc.mount(os.fsencode(target), os.fsencode(scratch), None, MS_BIND, None), "bind")
    libc.umount2(os.fsencode(scratch), MNT_DETACH)
    print(json.dumps({"step": "done", "errno": 0}))
    return 0


def bind_test(path: str, *, timeout: float = 2.0) -> BindResult:
    """Bind ``path`` onto a scratch dir in a throwaway mount namespace; report the errno."""
    if os.geteuid() != 0:
        return BindResult(path, "unavailable", None, "bind test needs root (CAP_SYS_ADMIN)")
    blocked = probe.default_prober.blocker(path)
    if blocked is not None:
        return BindResult(path, "hung", None,
                          f"an earlier {blocked.kind} of {blocked.path} (pid {blocked.pid}) is still blocked "
                          "in the kernel; not tried again until it exits")
    scratch = tempfile.mkdtemp(prefix="podsleuth-bindtest-")
    try:
        # Not subprocess.run(timeout=): after a timeout it waits without limit for the killed
        # child, which never comes back from a bind on a dead FUSE/NFS mount (D state).
        cp = probe.default_prober.run([sys.executable, "-m", "podsleuth.node.bindtest", path, scratch],
                                      timeout=timeout, path=path, kind="bind")
        if cp is None:
            return BindResult(path, "hung", None, f"bind mount did not return within {timeout:g}s")
        try:
            answer = json.loads(cp.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            return BindResult(path, "unavailable", None, cp.stderr.decode(errors="replace")[-200:])
        code = int(answer["errno"])
        if code == 0:
            return BindResult(path, "ok", None, None)
        step = answer["step"]
        msg = os.strerror(code) if step == "bind" else f"{step}: {os.strerror(code)}"
        return BindResult(path, "error" if step == "bind" else "unavailable", code, msg)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(scratch)  # never rmtree: a leaked bind would make it delete real data


def errno_name(code: int | None) -> str | None:
    return errno.errorcode.get(code) if code is not None else None


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2]))
