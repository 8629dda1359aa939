"""One run at a time per deployment: a PostgreSQL advisory lock, or an exclusive lock on a file (SQLite).

On PostgreSQL the lock lives in the database, so two hosts of an active/passive pair that both run
the timer never run at once; on SQLite (one host by nature) a file lock next to the data does.
Both are released by the server or the kernel when the process dies: no stale lock ever blocks
tomorrow's run.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from extranet_intake.errors import IntakeError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["RUN_LOCK_KEY", "RunLocked", "run_lock"]

#: the advisory lock's key: one fixed 64-bit number, the same in every version and on every host
RUN_LOCK_KEY = 0x2F0B_7E4D_61C3_95A1

#: how often a waiting run asks PostgreSQL again (``--wait``)
_POLL_SECONDS = 0.5


class RunLocked(IntakeError):
    """Another run holds the lock (exit 1: nothing was done, a person should know)."""


@contextmanager
def run_lock(path: Path, *, wait: bool, database_url: str = "") -> Iterator[None]:
    """Hold the run lock for the block: in the database on PostgreSQL, else on ``path``."""
    from sqlalchemy.engine import make_url

    if database_url and make_url(database_url).get_backend_name() == "postgresql":
        with _advisory_lock(database_url, wait=wait):
            yield
        return
    with _file_lock(path, wait=wait):
        yield


@contextmanager
def _file_lock(path: Path, *, wait: bool) -> Iterator[None]:
    # flock, not a PID file: the lock dies with the process, so a crashed or SIGKILLed run never
    # leaves a stale lock that blocks tomorrow's cron.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise RunLocked(
                "run-locked", f"another run is in progress (pid {holder}); use --wait to queue", lock=path
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@contextmanager
def _advisory_lock(database_url: str, *, wait: bool) -> Iterator[None]:
    # A session-level advisory lock on a connection of its own, held (idle, outside any transaction)
    # for the whole run: the run's own transactions come and go on other connections. If this host
    # dies or loses the network, PostgreSQL ends the session and frees the lock.
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from extranet_intake.provisioning.engines import make_engine

    me = f"extranet-intake run {socket.gethostname()} pid {os.getpid()}"[:63]
    engine = make_engine(
        database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"application_name": me}
    )
    try:
        with engine.connect() as conn:
            while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": RUN_LOCK_KEY}).scalar():
                if not wait:
                    raise RunLocked(
                        "run-locked",
                        f"another run is in progress ({_holder(conn)}); use --wait to queue",
                        lock="postgresql advisory lock",
                    )
                # polled, not pg_advisory_lock(): a blocked backend would hold no timeout of ours
                time.sleep(_POLL_SECONDS)
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": RUN_LOCK_KEY})
    finally:
        engine.dispose()


def _holder(conn: Connection) -> str:
    """Who holds the lock, as its session names itself (host and pid), for the message."""
    import sqlalchemy as sa

    key = RUN_LOCK_KEY & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute(
        sa.text(
            "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = :hi AND l.objid::bigint = :lo "
            # advisory locks live per database: another deployment on the same server is not this one's holder
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
        ),
        {"hi": key >> 32, "lo": key & 0xFFFF_FFFF},
    ).first()
    if row is None:
        return "holder unknown"
    return f"{row[0] or 'a session'} from {row[1] or 'local socket'}"
