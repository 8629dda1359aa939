"""The migrated schema equals the SQLModel metadata, on SQLite and PostgreSQL; the fixtures work."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, select

from extranet_intake.intake.database import load_all_models, upgrade
from extranet_intake.provisioning.engines import make_engine
from extranet_intake.provisioning.models import Contract


def test_migrations_match_metadata(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url)  # idempotent
    load_all_models()
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            existing = set(sa.inspect(conn).get_table_names())
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
        # Every model has its migration and every migration its model: a new table without a
        # migration shows here as add_table, a forgotten module in TABLE_MODULES as remove_table.
        assert diff == []
        assert {"account", "organisation", "audit_entry", "review_item"} <= existing
    finally:
        engine.dispose()


def test_engine_fixture_starts_empty_and_writes(engine: sa.Engine) -> None:
    from datetime import UTC, datetime

    with Session(engine) as session:
        assert session.exec(select(Contract)).all() == []
        session.add(Contract(contract_number="C1", enterprise_number="0644695949", imported_at=datetime.now(UTC)))
        session.commit()
        assert len(session.exec(select(Contract)).all()) == 1


def test_engine_fixture_is_clean_again(engine: sa.Engine) -> None:
    with Session(engine) as session:
        assert session.exec(select(Contract)).all() == []


def test_sqlite_pragmas(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/p.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: a commit survives power loss
    engine.dispose()
