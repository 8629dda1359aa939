"""The application's database: every table module, Alembic migrations to head, engines and sessions.

Migrations run only in the ``init`` and ``migrate`` commands (``migrate()``); every other command opens the database
with ``open_engine``, which checks in one SELECT that the schema is at this program's head and
refuses otherwise. Alembic is imported only to migrate: it costs most of a command's start-up.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from extranet_intake.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import Engine

__all__ = [
    "MIGRATIONS",
    "TABLE_MODULES",
    "alembic_config",
    "check_schema",
    "head_revision",
    "judge_revision",
    "load_all_models",
    "migrate",
    "missing_database",
    "open_engine",
    "schema_revision",
    "upgrade",
]

MIGRATIONS = Path(__file__).parent / "migrations"

#: every module that defines tables; the ones of areas still being written may be missing
TABLE_MODULES = (
    "extranet_intake.provisioning.models",
    "extranet_intake.auditchain.chain",
    "extranet_intake.mailer.outbox",
    "extranet_intake.intake.store_tables",
    "extranet_intake.provisioning.staff",
    "extranet_intake.provisioning.access_review",
)

_REVISION = re.compile(r"^revision(?:\s*:\s*[\w\[\], |]+)?\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:\s*:\s*[\w\[\], |]+)?\s*=\s*(.+)$", re.M)


def load_all_models() -> None:
    """Register every table of the application on ``SQLModel.metadata``."""
    from extranet_intake.provisioning.engines import load_models

    load_models(TABLE_MODULES)


@cache
def migration_chain() -> tuple[str, ...]:
    """The revisions of intake/migrations/versions, oldest first, read from the scripts' text (no Alembic).

    A test checks this against Alembic's own reading of the same scripts.
    """
    parents: dict[str, tuple[str, ...]] = {}
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        text = script.read_text(encoding="utf-8")
        found, down = _REVISION.search(text), _DOWN.search(text)
        if found is None or down is None:
            continue
        parents[found.group(1)] = tuple(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    children = {p for ps in parents.values() for p in ps}
    heads = [r for r in parents if r not in children]
    if len(heads) != 1:
        raise StoreError("database-migration-heads", f"the migration scripts have {len(heads)} heads: {heads}")
    chain: list[str] = []
    todo = [heads[0]]
    while todo:  # walk back from the head; a merge revision lists its parents in order
        rev = todo.pop()
        if rev in chain:
            continue
        chain.append(rev)
        todo.extend(parents.get(rev, ()))
    return tuple(reversed(chain))


def head_revision() -> str:
    """The revision a database must be at for this program."""
    return migration_chain()[-1]


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # '%' is ConfigParser interpolation syntax; a password in the URL may contain it
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Run the Alembic migrations of the whole application to ``revision`` (idempotent)."""
    from alembic import command

    from extranet_intake.provisioning.engines import as_database_error

    try:
        command.upgrade(alembic_config(url), revision)
    except Exception as exc:
        down = as_database_error(exc, url=url)
        if down is not None:  # unreachable or locked: the coded line a person acts on, not "migration failed"
            raise down from exc
        raise StoreError("database-migration-failed", f"database migration failed: {exc}", url=_safe(url)) from exc


def migrate(url: str) -> None:
    """Create the database if it is an SQLite file that does not exist yet (owner+group only), then migrate it."""
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        # created here, before SQLite does, so that it is never world-readable (personal data, password
        # hashes); SQLite gives its -wal and -shm files the database file's mode
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o640))
    upgrade(url)


def missing_database(path: Path) -> ConfigError:
    """The refusal for an SQLite database file that does not exist (yet)."""
    message = f"no database at {path}: run `extranet-intake init` first"
    return ConfigError("database-missing", message, key="database.url")


def open_engine(url: str) -> Engine:
    """An engine on ``url`` whose schema is at this program's head (checked, never migrated here)."""
    from extranet_intake.provisioning.engines import make_engine

    path = _sqlite_file(url)
    if path is not None and not path.exists():
        raise missing_database(path)
    engine = make_engine(url)
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def schema_revision(engine: Engine) -> str | None:
    """The revision recorded in the database (None: never migrated)."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:
            conn.rollback()
            if "alembic_version" in inspect(conn).get_table_names():
                raise
            return None


def check_schema(engine: Engine) -> None:
    """Refuse (exit 2) a database whose schema is not at this program's head."""
    judge_revision(schema_revision(engine), engine.url.render_as_string(hide_password=True))


def judge_revision(found: str | None, url: str) -> None:
    """Refuse (exit 2) the schema revision ``found`` in the database at ``url`` unless it is this program's head."""
    chain = migration_chain()
    if found == chain[-1]:
        return
    if found is None or found in chain:
        raise ConfigError(
            "database-schema-outdated",
            f"the database schema is at {found or 'nothing'}, this program needs {chain[-1]}: "
            "run `extranet-intake migrate`",
            url=url,
        )
    raise ConfigError(
        "database-schema-newer",
        f"the database schema is at {found}, which this program does not know (its head is "
        f"{chain[-1]}): run the newer program, or restore a matching backup",
        url=url,
    )


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return Path(parsed.database)
    return None


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
