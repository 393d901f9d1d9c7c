"""The mount table as the kernel writes it in ``/proc/<pid>/mountinfo``.

Parsing it ourselves instead of calling ``findmnt`` keeps the agent free of a subprocess per
check and lets tests feed captured text.  The kernel escapes space, tab, newline and backslash
in paths as ``\\ooo`` octal; a root ending in ``//deleted`` means the dentry the mount was bound
from has been unlinked (fs/d_path.c), which is the founding incident's smoking gun.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from podsleuth.errors import InputError

log = logging.getLogger(__name__)

DELETED_SUFFIX = "//deleted"
_OCTAL = re.compile(r"\\([0-7]{3})")


def unescape(field: str) -> str:
    """Undo the kernel's mangle(): only ``\\ooo`` is special, other backslashes stay."""
    if "\\" not in field:
        return field
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def escape(path: str) -> str:
    """The kernel's escaping of a path, for writing fixtures and for messages."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)


@dataclass(frozen=True, slots=True)
class MountEntry:
    """One line of mountinfo; paths are unescaped, options split."""

    mount_id: int
    parent_id: int
    major: int
    minor: int
    root: str
    mount_point: str
    mount_options: tuple[str, ...]
    optional_fields: tuple[str, ...]
    fs_type: str
    source: str
    super_options: tuple[str, ...]

    @property
    def root_deleted(self) -> bool:
        return self.root.endswith(DELETED_SUFFIX)

    @property
    def dev(self) -> int:
        """The kernel-internal dev_t (major << 20 | minor): the FUSE connection id."""
        return (self.major << 20) | self.minor

    @property
    def is_fuse(self) -> bool:
        return self.fs_type in ("fuse", "fuseblk") or self.fs_type.startswith(("fuse.", "fuseblk."))

    @property
    def propagation(self) -> str:
        """shared / slave / private / unbindable, as findmnt names it."""
        kinds = [f.split(":", 1)[0] for f in self.optional_fields]
        if "unbindable" in kinds:
            return "unbindable"
        if "shared" in kinds and "master" in kinds:
            return "shared,slave"
        if "shared" in kinds:
            return "shared"
        if "master" in kinds:
            return "slave"
        return "private"

    def option(self, name: str) -> str | None:
        """A super option's value (``fd`` of a FUSE mount, ``addr`` of NFS), or None."""
        for opt in self.super_options:
            key, sep, value = opt.partition("=")
            if key == name:
                return value if sep else ""
        return None

    @property
    def source_display(self) -> str:
        """``SOURCE[root]`` the way findmnt shows bind mounts, so messages match what SREs see."""
        return self.source if self.root == "/" else f"{self.source}[{self.root}]"


def parse_line(line: str) -> MountEntry:
    """One mountinfo line; raises ValueError naming what is wrong."""
    fields = line.split(" ")
    try:
        sep = fields.index("-", 6)
    except ValueError:
        raise ValueError(f"no ' - ' separator in mountinfo line: {line[:200]!r}") from None
    if sep < 6 or len(fields) < sep + 3:
        raise ValueError(f"too few fields in mountinfo line: {line[:200]!r}")
    major, _, minor = fields[2].partition(":")
    try:
        return MountEntry(
            mount_id=int(fields[0]),
            parent_id=int(fields[1]),
            major=int(major),
            minor=int(minor),
            root=unescape(fields[3]),
            mount_point=unescape(fields[4]),
            mount_options=tuple(fields[5].split(",")),
            optional_fields=tuple(f for f in fields[6:sep] if f),
            fs_type=unescape(fields[sep + 1]),
            source=unescape(fields[sep + 2]),
            super_options=tuple(unescape(" ".join(fields[sep + 3:])).split(",")) if len(fields) > sep + 3
            else (),
        )
    except ValueError as e:
        raise ValueError(f"bad number in mountinfo line: {line[:200]!r}") from e


def parse_mountinfo(text: str | Iterable[str], *, strict: bool = False) -> list[MountEntry]:
    """All entries of a mountinfo text; a malformed line is logged and skipped unless strict."""
    lines = text.splitlines() if isinstance(text, str) else text
    out: list[MountEntry] = []
    for raw in lines:
        line = raw.rstrip("\n")
        if not line:
            continue
        try:
            out.append(parse_line(line))
        except ValueError as e:
            if strict:
                raise InputError(str(e)) from e
            log.warning("%s", e)
    return out


def read_mountinfo(proc: str = "/proc", pid: str = "1") -> list[MountEntry]:
    """The mount table of ``pid`` (``1`` = the host's under hostPID, ``self`` = ours)."""
    path = os.path.join(proc, pid, "mountinfo")
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return parse_mountinfo(f.read())


def under(path: str, roots: Iterable[str]) -> str | None:
    """The root among ``roots`` that contains ``path`` (string-wise, no filesystem access)."""
    for root in roots:
        r = root.rstrip("/") or "/"
        if path == r or path.startswith(r + "/") or r == "/":
            return root
    return None
