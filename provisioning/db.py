"""Database engines (SQLite in WAL mode, PostgreSQL through psycopg 3) and the schema of the provisioning tables."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

__all__ = ["create_schema", "is_sqlite", "load_models", "make_engine"]

#: modules whose import registers tables on ``SQLModel.metadata`` (the audit module lands separately)
_PROVISIONING_MODELS = ("provisioning.models", "provisioning.audit")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``: SQLite gets WAL, foreign keys, a busy timeout and explicit BEGIN."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we ship; a bare postgresql:// URL would pick psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **kwargs)

    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours (below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
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
        # process while a session is open, which deadlocks until the busy timeout.
        conn.exec_driver_sql("BEGIN")

    return engine


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
    load_models()
    SQLModel.metadata.create_all(engine)
