"""One run at a time per deployment: an exclusive lock on a file, released by the kernel if we die."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from errors import IntakeError

__all__ = ["RunLocked", "run_lock"]


class RunLocked(IntakeError):
    """Another run holds the lock (exit 1: nothing was done, a person should know)."""


@contextmanager
def run_lock(path: Path, *, wait: bool) -> Iterator[None]:
    # flock, not a PID file: the lock dies with the process, so a crashed or SIGKILLed run never
    # leaves a stale lock that blocks tomorrow's cron.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise RunLocked("run-locked", f"another run is in progress (pid {holder}); use --wait to queue",
                            lock=path) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
