"""One SELECT in the driver's own parameter style, on a bare DB-API connection or an SQLAlchemy one.

A listing that a read-only command runs on the bare driver (intake.readonly_db, docs/operations.md
"Start-up time") and that the desk or a decision runs inside an ORM session is written once, as SQL
text: :meth:`Reader.param` writes its placeholders (``:name`` for sqlite3, ``%(name)s`` for psycopg),
and its rows come back as the driver returns them (SQLite: datetimes and JSON as text), whichever way
the connection was opened. This module imports no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

__all__ = ["Reader", "as_utc", "reader_of"]

Rows = Sequence[Sequence[Any]]


class Reader:
    """Runs SELECTs on one connection of ``dialect`` ("sqlite" or "postgresql")."""

    def __init__(self, dialect: str, run: Callable[[str, dict[str, Any]], Rows]) -> None:
        self.dialect = dialect
        self._run = run

    def param(self, name: str) -> str:
        """The placeholder for the parameter ``name`` in this driver's style."""
        return f":{name}" if self.dialect == "sqlite" else f"%({name})s"

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> Rows:
        return self._run(sql, params or {})


def reader_of(conn: Connection | Session) -> Reader:
    """A reader on an SQLAlchemy connection, or on an ORM session's own connection and transaction
    (its pending changes flushed first, as its own queries autoflush them)."""
    if hasattr(conn, "flush"):
        session = cast("Session", conn)
        session.flush()
        connection = session.connection()
    else:
        connection = conn
    return Reader(connection.dialect.name, lambda sql, params: connection.exec_driver_sql(sql, params).fetchall())


def as_utc(value: datetime | str | None) -> datetime | None:
    """A stored time as the models' ``UTCDateTime`` column type reads it: aware, in UTC.

    SQLite hands back text (``2026-12-01 04:40:31.879676``, naive UTC); PostgreSQL an aware datetime.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)
