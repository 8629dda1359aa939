"""Core statements on the driver's cursor (auditchain.prepared): SQLAlchemy's values, listeners and errors kept."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from extranet_intake.auditchain.prepared import Prepared
from extranet_intake.provisioning.models import Account, Organisation

_ORG: sa.Table = Organisation.__table__  # type: ignore[attr-defined]
_ACC: sa.Table = Account.__table__  # type: ignore[attr-defined]
_AT = datetime(2026, 11, 27, 9, 30, 1, 250, tzinfo=UTC)

_INSERT_ORG = Prepared(
    _ORG.insert(), column_keys=("enterprise_number", "status", "created_at", "name", "street", "postcode", "city")
)
_ORGS = Prepared(
    sa.select(_ORG.c.enterprise_number, _ORG.c.created_at)
    .where(
        _ORG.c.enterprise_number.in_(sa.bindparam("ens", expanding=True)),
        _ORG.c.status.in_(["pending", "open"]),  # a literal list keeps its own values
    )
    .order_by(_ORG.c.enterprise_number),
    expanding=("ens",),
)


def _org(en: str) -> dict[str, Any]:
    blank = dict.fromkeys(("name", "street", "postcode", "city"), "")
    return {"enterprise_number": en, "status": "pending", "created_at": _AT, **blank}


def test_values_go_and_come_back_as_sqlalchemy_converts_them(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _INSERT_ORG.executemany(conn, [_org("0100000070"), _org("0100079155"), _org("0100158339")])
        rows = _ORGS.execute(conn, {"ens": ["0100000070", "0100158339"]})
        one = _ORGS.execute(conn, {"ens": ["0100079155"]})
        # the same rows as SQLAlchemy's own execution reads, types included
        expected = conn.execute(_ORGS.stmt, {"ens": ["0100000070", "0100158339"]}).all()
    assert [tuple(r) for r in rows] == [tuple(r) for r in expected]
    assert [r.enterprise_number for r in rows] == ["0100000070", "0100158339"]
    assert rows[0].created_at == _AT
    assert rows[0].created_at.tzinfo is not None
    assert [r.enterprise_number for r in one] == ["0100079155"]


def test_listeners_see_each_statement_and_driver_errors_are_sqlalchemys(engine: sa.Engine) -> None:
    seen: list[tuple[str, bool]] = []

    def record(_c: Any, _cur: Any, statement: str, _params: Any, _ctx: Any, many: bool) -> None:
        seen.append((statement.split()[0], many))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.begin() as conn:
            _INSERT_ORG.execute(conn, _org("0100000070"))
            _ORGS.execute(conn, {"ens": ["0100000070"]})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert ("INSERT", False) in seen
    assert ("SELECT", False) in seen
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        _INSERT_ORG.execute(conn, _org("0100000070"))  # the primary key again


def test_an_insert_must_be_given_every_column_sqlalchemy_would_default(engine: sa.Engine) -> None:
    partial = Prepared(_ACC.insert(), column_keys=("login", "enterprise_number"))
    with engine.connect() as conn, pytest.raises(ValueError, match="every column"):
        partial.execute(conn, {"login": "EAPX", "enterprise_number": "0100000070", "access_end_date": date.today()})
