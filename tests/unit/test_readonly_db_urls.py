"""The bare read path reads a database URL as SQLAlchemy does (intake.readonly_db; docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy.engine import make_url

from extranet_intake.intake.readonly_db import target_of
from extranet_intake.provisioning.connection_limits import PG_CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_MS


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////srv/extranet-intake/var/extranet-intake.db",
        "sqlite:///var/extranet-intake.db",
        "sqlite+pysqlite:////srv/a%20b/x.db",
        "sqlite:////srv/x.db?timeout=2.5",
    ],
)
def test_an_sqlite_file_is_sqlalchemys_database(url: str) -> None:
    target = target_of(url)
    assert target is not None
    assert target.dialect == "sqlite"
    assert target.path == Path(str(make_url(url).database))
    timeout = make_url(url).query.get("timeout")
    assert target.busy_ms == (int(float(str(timeout)) * 1000) if timeout else SQLITE_BUSY_TIMEOUT_MS)
    assert target.shown == url  # as configured (no password to hide)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://intake:s%40cr%3At@db.example:6432/extranet?sslmode=require",
        "postgresql://intake@127.0.0.1/extranet",
        "postgres://intake:pw@[::1]:5432/extranet?connect_timeout=3",
    ],
)
def test_a_postgresql_url_keeps_its_parts_and_hides_its_password(url: str) -> None:
    target = target_of(url)
    assert target is not None
    assert target.dialect == "postgresql"
    sa_url = make_url(url)
    parts = urlsplit(target.conninfo)
    assert parts.scheme == "postgresql"
    assert (parts.username, parts.hostname, parts.port, parts.path) == (
        sa_url.username,
        sa_url.host,
        sa_url.port,
        f"/{sa_url.database}",
    )
    query = dict(parse_qsl(parts.query))
    assert query["connect_timeout"] == str(sa_url.query.get("connect_timeout", PG_CONNECT_TIMEOUT_S))
    assert all(query[k] == v for k, v in sa_url.query.items())
    # the password travels percent-encoded to libpq, never into a message
    if sa_url.password:
        assert str(sa_url.password) not in target.shown
        assert "***" in target.shown


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:////x.db?check_same_thread=false", "mysql://u@h/db", "nonsense"],
)
def test_anything_else_goes_through_sqlalchemy(url: str) -> None:
    assert target_of(url) is None
