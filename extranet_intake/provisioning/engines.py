"""Database engines (SQLite in WAL mode, PostgreSQL through psycopg 3) and the schema of the provisioning tables."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from extranet_intake.auditchain.prepared import Prepared
from extranet_intake.errors import DatabaseError, driver_failure
from extranet_intake.provisioning.connection_limits import PG_CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_MS

__all__ = ["as_database_error", "create_schema", "is_sqlite", "load_models", "make_engine", "writer"]

#: modules whose import registers tables on ``SQLModel.metadata`` (the audit module lands separately)
_PROVISIONING_MODELS = ("extranet_intake.provisioning.models", "extranet_intake.auditchain.chain")

#: execution option naming how an SQLite transaction begins (see :func:`writer`)
_BEGIN_OPTION = "intake_sqlite_begin"
_BEGIN = Prepared(text("BEGIN"))
_BEGIN_IMMEDIATE = Prepared(text("BEGIN IMMEDIATE"))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``: SQLite gets WAL, foreign keys, a busy timeout and explicit BEGIN.

    The SQLite busy timeout is 30 s unless the URL says otherwise (``sqlite:///f.db?timeout=5``,
    seconds): a command meeting the daily run's write waits for it rather than failing.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we ship; a bare postgresql:// URL would pick psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            # libpq waits forever on a host that drops packets; a cron job must not hang on it
            kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        return create_engine(parsed, pool_pre_ping=True, **kwargs)

    busy_ms = SQLITE_BUSY_TIMEOUT_MS
    if "timeout" in parsed.query:
        busy_ms = int(float(str(parsed.query["timeout"])) * 1000)
        parsed = parsed.difference_update_query(["timeout"])
    engine = create_engine(parsed, connect_args={"timeout": busy_ms / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours (below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        # FULL: a commit is on disk before it returns. Things happen outside the database after a
        # commit (a message moved off the IMAP server, credentials mailed); under NORMAL a power loss
        # could roll that commit back while its effect stays done.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A plain (deferred) BEGIN emitted by us, not pysqlite, so that SAVEPOINTs and DDL behave.
        # Writers start their transaction with a write (provisioning.state.lock_dossier, the audit
        # head UPDATE), which waits on busy_timeout for the write lock and reads a fresh snapshot.
        # BEGIN IMMEDIATE everywhere would also lock out a second, read-only connection of the same
        # process while a session is open, which deadlocks until the busy timeout. So IMMEDIATE is
        # opt-in per engine view (:func:`writer`), for sessions that read and then write.
        immediate = conn.get_execution_options().get(_BEGIN_OPTION) == "IMMEDIATE"
        # on the driver's cursor: every transaction begins here, and exec_driver_sql costs more than BEGIN
        (_BEGIN_IMMEDIATE if immediate else _BEGIN).execute(conn)

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) whose SQLite transactions begin IMMEDIATE; PostgreSQL ignores it.

    For a command's session that reads before it writes (a review decision, the mail sender's
    claim): under a deferred BEGIN its read snapshot goes stale when another process commits, and
    the later write then fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT) — the busy
    timeout never applies. BEGIN IMMEDIATE takes the write lock first, waiting on the busy timeout.
    Such a session must be the only open one of its process on that database (see ``_on_begin``).
    """
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})


def as_database_error(exc: BaseException, *, url: str = "") -> DatabaseError | None:
    """The coded error for a database that cannot be reached or stays locked; None for anything else.

    Only the first line of the driver's message is kept, and the URL without its password.
    """
    if isinstance(exc, DatabaseError):
        return exc
    if not isinstance(exc, SQLAlchemyError):
        return None
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return driver_failure(
        type(orig).__name__ if orig is not None else type(exc).__name__,
        str(orig if orig is not None else exc),
        url=make_url(url).render_as_string(hide_password=True) if url else "",
        lost=bool(getattr(exc, "connection_invalidated", False)),
    )


def load_models(modules: tuple[str, ...] = _PROVISIONING_MODELS) -> None:
    """Import the table modules so that their tables are on ``SQLModel.metadata``."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A module of another area that has not landed yet; anything else is a real error.
            if exc.name != name:
                raise


def create_schema(engine: Engine) -> None:
    """Create every table registered on ``SQLModel.metadata`` that does not exist yet."""
    from sqlmodel import SQLModel  # not at import: opening an engine needs no ORM (docs/operations.md)

    load_models()
    SQLModel.metadata.create_all(engine)
