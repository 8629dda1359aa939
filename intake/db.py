"""The application's database: every table module, Alembic migrations to head, engines and sessions."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine

from errors import StoreError
from provisioning.db import load_models, make_engine

__all__ = ["MIGRATIONS", "TABLE_MODULES", "alembic_config", "load_all_models", "open_engine", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"

#: every module that defines tables; the ones of areas still being written may be missing
TABLE_MODULES = ("provisioning.models", "provisioning.audit", "mailer.outbox", "intake.store", "provisioning.staff")


def load_all_models() -> None:
    """Register every table of the application on ``SQLModel.metadata``."""
    load_models(TABLE_MODULES)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # '%' is ConfigParser interpolation syntax; a password in the URL may contain it
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Run the Alembic migrations of the whole application to ``revision`` (idempotent)."""
    try:
        command.upgrade(alembic_config(url), revision)
    except Exception as exc:
        raise StoreError("database-migration-failed", f"database migration failed: {exc}",
                         url=_safe(url)) from exc


def open_engine(url: str) -> Engine:
    """An engine on ``url`` with the schema migrated to head (an SQLite file's folder is created)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    return make_engine(url)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)

