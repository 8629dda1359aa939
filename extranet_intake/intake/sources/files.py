"""Reading one file of a folder source (drop folder, Maildir) without being tricked by it.

Whoever may write to such a folder may also put a link there, to a file the service can read but
must never take in, a named pipe that blocks a reader forever, or swap either in between the
listing and the read. So a file is opened once, without following a link and without blocking,
and read through that descriptor only if it is still the regular file that was listed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["Refused", "read_listed"]


class Refused(Exception):
    """Never read: the name leads to no regular file of its own (a link, a pipe), or to one over the cap."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _check(st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise Refused("file-symlink", "a link, not a file: not followed")
    if not stat.S_ISREG(st.st_mode):
        raise Refused("file-not-regular", "not a regular file (a pipe, a device, a folder): not read")


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns)


def read_listed(path: Path, seen: os.stat_result, *, max_bytes: int, too_large: str = "file-too-large") -> bytes | None:
    """The bytes of ``path`` if it is still the regular file listed as ``seen`` (its ``lstat``: same
    file, size and mtime, before and after the read); ``None`` if it changed meanwhile (still being
    written, or replaced: try again later). Raises ``Refused`` for a link or a pipe, listed or
    swapped in, and for a file over ``max_bytes`` (code ``too_large``); ``OSError``
    (``FileNotFoundError`` …) as ``open`` does."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused("file-symlink", "a link, not a file: not followed") from None
        raise
    with open(fd, "rb", closefd=True) as f:
        before = os.fstat(fd)
        _check(before)
        if not _same(before, seen):
            return None
        if before.st_size > max_bytes:
            raise Refused(too_large, f"over the size cap ({before.st_size} > {max_bytes} bytes)")
        data = f.read(seen.st_size + 1)  # one byte more tells a file still growing
        after = os.fstat(fd)
    return data if len(data) == seen.st_size and _same(after, seen) else None
