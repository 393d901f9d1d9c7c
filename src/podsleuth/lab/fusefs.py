"""A tiny in-memory FUSE filesystem, so tests and the lab can break real FUSE mounts.

The node agent's interesting failures (daemon killed -> ENOTCONN, daemon restarted over the old
mount, a daemon that never answers) only exist with a real FUSE daemon behind a real mount; this
module is that daemon.  ``fusepy`` (a test extra) is imported lazily so importing the package never
needs it.

Run as ``python -m podsleuth.lab.fusefs MOUNTPOINT [--hang-getattr] [-o opt,opt]``: it stays in
the foreground until killed or unmounted.  The hidden ``--memory-hog-file NAME`` makes a write to
``/NAME`` start allocating memory without bound, so ``podsleuth lab seed-incident`` can get the
daemon OOM-killed by the kernel inside a memory cgroup quickly (writing a big file through FUSE
would take minutes: every 4 KiB write copies the whole in-memory file).  The hidden
``--control-file NAME`` makes ``remove PATH`` / ``recreate PATH`` written to ``/NAME`` change the
tree *behind the kernel's back* (no FUSE request tells the kernel), the way a server-side change
or a daemon that rebuilt its state looks to the kernel: its cached dentries are stale.
"""

from __future__ import annotations

import argparse
import errno
import stat
import sys
import threading
import time
from typing import Any


def _hog_forever() -> None:
    """Touch every page (a bytes literal, not calloc) so the cgroup is charged at once."""
    chunks: list[bytes] = []
    while True:
        chunks.append(b"\x01" * (4 << 20))


def _make_ops(hang_getattr: bool, hog_file: str | None = None, control_file: str | None = None) -> Any:
    import fuse  # lazy: fusepy is a test/lab extra

    class MemoryFS(fuse.Operations):  # type: ignore[misc]
        """Files and directories in a dict; enough for stat, ls, read and write."""

        def __init__(self) -> None:
            now = time.time()
            self.lock = threading.Lock()
            self.nodes: dict[str, dict[str, Any]] = {
                "/": {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2, "st_ctime": now, "st_mtime": now,
                      "st_atime": now},
            }
            self.data: dict[str, bytes] = {}
            self.hang = hang_getattr
            self.hog = "/" + hog_file if hog_file else None
            self.control = "/" + control_file if control_file else None
            self.stash: dict[str, dict[str, dict[str, Any]]] = {}

        def _command(self, text: str) -> None:
            """``remove PATH``: PATH and everything below vanish; ``recreate PATH``: they come back
            with new ctimes (a new directory with the old contents)."""
            verb, _, path = text.strip().partition(" ")
            with self.lock:
                if verb == "remove":
                    gone = {p: n for p, n in self.nodes.items() if p == path or p.startswith(path + "/")}
                    for p in gone:
                        del self.nodes[p]
                    self.stash[path] = gone
                elif verb == "recreate":
                    now = time.time()
                    for p, n in self.stash.pop(path, {}).items():
                        self.nodes[p] = {**n, "st_ctime": now, "st_mtime": now}

        def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
            if self.hang:
                threading.Event().wait()  # never answers: the kernel request stays pending
            with self.lock:
                if path not in self.nodes:
                    raise fuse.FuseOSError(errno.ENOENT)
                return dict(self.nodes[path])

        def readdir(self, path: str, fh: Any) -> list[str]:
            prefix = path.rstrip("/") + "/"
            with self.lock:
                names = [p[len(prefix):] for p in self.nodes if p != path and p.startswith(prefix)]
            return [".", "..", *[n for n in names if "/" not in n]]

        def mkdir(self, path: str, mode: int) -> None:
            now = time.time()
            with self.lock:
                self.nodes[path] = {"st_mode": stat.S_IFDIR | mode, "st_nlink": 2, "st_ctime": now,
                                    "st_mtime": now, "st_atime": now}

        def create(self, path: str, mode: int, fi: Any = None) -> int:
            now = time.time()
            with self.lock:
                self.nodes[path] = {"st_mode": stat.S_IFREG | mode, "st_nlink": 1, "st_size": 0,
                                    "st_ctime": now, "st_mtime": now, "st_atime": now}
                self.data[path] = b""
            return 0

        def open(self, path: str, flags: int) -> int:
            return 0

        def read(self, path: str, size: int, offset: int, fh: Any) -> bytes:
            return self.data.get(path, b"")[offset:offset + size]

        def write(self, path: str, buf: bytes, offset: int, fh: Any) -> int:
            if path == self.control:
                self._command(buf.decode("utf-8", "replace"))
                return len(buf)
            if path == self.hog:
                threading.Thread(target=_hog_forever, daemon=True).start()
                return len(buf)
            with self.lock:
                old = self.data.get(path, b"")
                new = old[:offset] + buf + old[offset + len(buf):]
                self.data[path] = new
                self.nodes[path]["st_size"] = len(new)
            return len(buf)

        def truncate(self, path: str, length: int, fh: Any = None) -> None:
            with self.lock:
                self.data[path] = self.data.get(path, b"")[:length].ljust(length, b"\0")
                self.nodes[path]["st_size"] = length

        def unlink(self, path: str) -> None:
            with self.lock:
                self.nodes.pop(path, None)
                self.data.pop(path, None)

        def rmdir(self, path: str) -> None:
            with self.lock:
                self.nodes.pop(path, None)

    return MemoryFS()


def _parse_options(opts: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group in opts:
        for item in group.split(","):
            if not item:
                continue
            key, sep, value = item.partition("=")
            out[key] = value if sep else True
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m podsleuth.lab.fusefs", description=__doc__)
    parser.add_argument("mountpoint")
    parser.add_argument("--hang-getattr", action="store_true",
                        help="never answer getattr: stat on the mount blocks (a hung mount)")
    parser.add_argument("-o", dest="options", action="append", default=[],
                        help="mount options, e.g. -o nonempty,allow_other")
    parser.add_argument("--fsname", default="podsleuth-fusefs")
    parser.add_argument("--memory-hog-file", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--control-file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import fuse  # lazy

    options = _parse_options(args.options)
    options.setdefault("fsname", args.fsname)
    ops = _make_ops(args.hang_getattr, args.memory_hog_file, args.control_file)
    fuse.FUSE(ops, args.mountpoint, foreground=True, nothreads=False, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
