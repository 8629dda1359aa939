"""The database for commands that only read, on the bare DB-API drivers (sqlite3, psycopg).

A read-only command pays for what it imports before it prints a line (docs/operations.md,
"Start-up time"); SQLAlchemy alone costs 0.2–0.3 s of it. Such a command opens its database here
instead of through :func:`intake.database.open_engine`, and meets the same refusals with the same
codes: no database file (``database-missing``), a schema not at this program's head
(``database-schema-outdated``/``-newer``, one SELECT, never a migration), a database that cannot be
reached or stays locked (``database-unreachable``/``-locked``, after the same 30 s SQLite busy
timeout, or the URL's ``?timeout=``), and any other driver failure as one ``database-error`` line.

Only the URL shapes the product deploys take this path (``sqlite:///…``, ``postgresql[+psycopg]://…``);
any other driver is opened through SQLAlchemy as before, and is read the same way (raw SQL in the
driver's own parameter style, see :class:`provisioning.raw_sql.Reader`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from extranet_intake.errors import DatabaseError, IntakeError, driver_failure
from extranet_intake.intake.database import judge_revision, missing_database
from extranet_intake.provisioning.connection_limits import PG_CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_MS
from extranet_intake.provisioning.raw_sql import Reader, reader_of

__all__ = ["Target", "reading", "target_of"]

# SQLAlchemy's URL grammar (sqlalchemy.engine.url._parse_url), which the configuration's URLs follow
_URL = re.compile(
    r"""(?P<name>[\w+]+)://
    (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
    (?:(?:\[(?P<ipv6host>[^/?]+)\]|(?P<ipv4host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?$""",
    re.X,
)
_SQLITE = ("sqlite", "sqlite+pysqlite")
_POSTGRESQL = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True)
class Target:
    """Where a database URL points, for a bare driver: an SQLite file or a libpq connection URI."""

    dialect: str  #: "sqlite" or "postgresql"
    shown: str  #: the URL without its password, for messages
    path: Path | None = None  #: the SQLite file
    busy_ms: int = SQLITE_BUSY_TIMEOUT_MS
    conninfo: str = ""  #: the PostgreSQL URI for psycopg (libpq), with its connect timeout


def target_of(url: str) -> Target | None:
    """The bare driver's target for ``url``; None for a URL this module does not open (SQLAlchemy does)."""
    found = _URL.match(url.strip())
    if found is None:
        return None
    name, database, query = found["name"], found["database"], found["query"]
    shown = url if found["password"] is None else url.replace(f":{found['password']}@", ":***@", 1)
    params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    if name in _SQLITE:
        if not database or database == ":memory:" or any(k != "timeout" for k in params):
            return None
        busy_ms = int(float(params["timeout"]) * 1000) if "timeout" in params else SQLITE_BUSY_TIMEOUT_MS
        return Target("sqlite", shown, path=Path(unquote(database)), busy_ms=busy_ms)
    if name in _POSTGRESQL:
        params.setdefault("connect_timeout", str(PG_CONNECT_TIMEOUT_S))
        rest = url.strip().split("://", 1)[1].split("?", 1)[0]
        return Target("postgresql", shown, conninfo=f"postgresql://{rest}?{urlencode(params)}")
    return None


@contextmanager
def reading(url: str) -> Iterator[Reader]:
    """A read-only connection to the database at ``url`` whose schema is at this program's head."""
    target = target_of(url)
    if target is None:
        yield from _through_sqlalchemy(url)
        return
    conn = _open_sqlite(target) if target.dialect == "sqlite" else _open_postgresql(target)
    try:
        reader = Reader(target.dialect, lambda sql, params: _fetch(conn, target, sql, params))
        judge_revision(_revision(reader, target), target.shown)
        yield reader
    finally:
        conn.close()


def _open_sqlite(target: Target) -> Any:
    import sqlite3

    assert target.path is not None
    if not target.path.exists():
        raise missing_database(target.path)
    # mode=rw: an existing file only (never create one); autocommit, so each SELECT is its own snapshot
    uri = f"file:{quote(str(target.path.resolve()))}?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=target.busy_ms / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={target.busy_ms}")
    except sqlite3.Error as exc:
        raise _coded(exc, target) from exc
    return conn


def _open_postgresql(target: Target) -> Any:
    import psycopg

    try:
        return psycopg.connect(target.conninfo, autocommit=True)
    except psycopg.Error as exc:
        raise _coded(exc, target) from exc


def _fetch(conn: Any, target: Target, sql: str, params: dict[str, Any]) -> list[Any]:
    try:
        return list(conn.execute(sql, params).fetchall())
    except IntakeError:
        raise
    except Exception as exc:
        if _is_driver_error(exc):
            raise _coded(exc, target) from exc
        raise


def _revision(reader: Reader, target: Target) -> str | None:
    """The revision recorded in the database; None when it was never migrated (no version table)."""
    try:
        found = reader.rows("SELECT version_num FROM alembic_version")
    except DatabaseError as exc:
        if exc.code == "database-error" and _no_version_table(str(exc.__cause__)):
            return None
        raise
    return str(found[0][0]) if found else None


def _no_version_table(message: str) -> bool:
    text = message.lower()
    return "no such table: alembic_version" in text or ('"alembic_version" does not exist' in text)


def _is_driver_error(exc: Exception) -> bool:
    module = type(exc).__module__
    return module.startswith(("sqlite3", "psycopg"))


def _coded(exc: Exception, target: Target) -> DatabaseError:
    """The driver's failure as one coded line: unreachable, locked, or a plain ``database-error``."""
    down = driver_failure(type(exc).__name__, str(exc), url=target.shown)
    if down is not None:
        return down
    text = str(exc).strip()
    first = (text.splitlines() or [type(exc).__name__])[0][:300]
    return DatabaseError("database-error", first, url=target.shown)


def _through_sqlalchemy(url: str) -> Iterator[Reader]:
    """Any other driver: the engine (its schema checked), each SELECT in that driver's own style."""
    from extranet_intake.intake.database import open_engine

    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            yield reader_of(conn)
    finally:
        engine.dispose()
