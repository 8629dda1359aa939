"""One datetime column type everywhere: aware datetimes in, UTC stored, aware UTC read back, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

import extranet_intake.intake.store_tables
import extranet_intake.mailer.outbox
import extranet_intake.provisioning.models
import extranet_intake.provisioning.staff  # noqa: F401
from extranet_intake.intake.store_tables import Document
from extranet_intake.mailer.outbox import OutboxMessage

BRUSSELS_SUMMER = timezone(timedelta(hours=2))


def test_every_datetime_column_is_the_utc_type() -> None:
    columns = [
        c
        for t in SQLModel.metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, sa.DateTime) or isinstance(getattr(c.type, "impl", None), sa.DateTime)
    ]
    assert len(columns) > 30  # the models are loaded: outbox, audit, documents, accounts, staff …
    assert [f"{c.table.name}.{c.name}" for c in columns if not isinstance(c.type, UTCDateTime)] == []


def test_a_value_read_back_is_aware_utc(engine: sa.Engine) -> None:
    """Through the ORM table's columns (Core) and through aggregates of them, never naive."""
    written = datetime(2026, 12, 1, 9, 30, tzinfo=BRUSSELS_SUMMER)  # 07:30 UTC
    doc = Document.__table__  # type: ignore[attr-defined]
    box = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.begin() as c:
        c.execute(
            sa.insert(doc).values(
                sha256="a" * 64,
                size=1,
                kind="pdf",
                media_type="application/pdf",
                first_seen_at=written,
                parse_state="pending",
            )
        )
        c.execute(
            sa.insert(box).values(
                idempotency_key="k",
                purpose="org_notice",
                ref="0644695949",
                event="access_opened",
                recipient="x@acme.be",
                language="nl",
                params={},
                status="queued",
                attempts=0,
                next_attempt_at=written,
                created_at=written,
                updated_at=written,
            )
        )
    with engine.connect() as c:
        read = [
            c.execute(sa.select(doc.c.first_seen_at)).scalar_one(),
            c.execute(sa.select(box.c.next_attempt_at)).scalar_one(),
            c.execute(sa.select(sa.func.min(box.c.created_at))).scalar_one(),
        ]
    for value in read:
        assert value.tzinfo is not None
        assert value.utcoffset() == timedelta(0)
        assert value == written
        assert value.hour == 7


def test_a_naive_value_is_refused_not_guessed(engine: sa.Engine) -> None:
    doc = Document.__table__  # type: ignore[attr-defined]
    with pytest.raises(sa.exc.StatementError), engine.begin() as c:
        c.execute(
            sa.insert(doc).values(
                sha256="b" * 64,
                size=1,
                kind="pdf",
                media_type="application/pdf",
                first_seen_at=datetime(2026, 12, 1, 9, 30),
                parse_state="pending",
            )
        )
