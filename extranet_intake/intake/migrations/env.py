"""Alembic environment of extranet-intake: target metadata is ``SQLModel.metadata`` with every table module."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from extranet_intake.intake.database import load_all_models
from extranet_intake.provisioning.engines import make_engine

# provisioning.models and auditchain.chain, then mailer.outbox (0002_mailer) and intake.store_tables
# (0003_intake) — each imported when present, so an area still being written breaks nobody.
load_all_models()
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or ""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
