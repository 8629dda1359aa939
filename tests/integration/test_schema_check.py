"""Only ``init`` and ``migrate`` migrate; every other command checks the schema in one SELECT (issue 14.16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from extranet_intake.intake.cli import main
from extranet_intake.intake.database import alembic_config, head_revision, migration_chain, schema_revision, upgrade
from extranet_intake.provisioning.engines import make_engine

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "extranet_intake.intake.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return path


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return schema_revision(engine)
    finally:
        engine.dispose()


def test_the_head_read_without_alembic_is_alembics_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == scripts.get_current_head()
    assert list(migration_chain()) == [s.revision for s in reversed(list(scripts.walk_revisions()))]


def test_a_read_only_command_refuses_an_outdated_schema_and_migrate_fixes_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, empty_db_url: str
) -> None:
    previous = migration_chain()[-2]
    upgrade(empty_db_url, previous)
    cfg = str(_config(tmp_path, empty_db_url))
    for argv in (["review", "list"], ["audit", "log"], ["status"], ["users", "list"]):
        assert main([*argv, "--config", cfg]) == 2, argv
        err = capsys.readouterr().err
        assert "database-schema-outdated" in err
        assert "extranet-intake migrate" in err
        assert len(err.strip().splitlines()) == 1
    assert _revision(empty_db_url) == previous, "a read-only command migrated"
    assert main(["migrate", "--config", cfg]) == 0
    assert head_revision() in capsys.readouterr().out
    assert _revision(empty_db_url) == head_revision()
    assert main(["review", "list", "--json", "--config", cfg]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_never_migrated_or_newer_schema_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, empty_db_url: str
) -> None:
    engine = make_engine(empty_db_url)
    engine.dispose()
    if empty_db_url.startswith("sqlite"):
        Path(empty_db_url.removeprefix("sqlite:///")).touch()
    cfg = str(_config(tmp_path, empty_db_url))
    assert main(["review", "list", "--config", cfg]) == 2
    assert "database-schema-outdated" in capsys.readouterr().err
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    finally:
        engine.dispose()
    assert main(["review", "list", "--config", cfg]) == 2
    assert "database-schema-newer" in capsys.readouterr().err


def test_a_missing_sqlite_database_is_not_created_by_a_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = str(_config(tmp_path, f"sqlite:///{tmp_path / 'none.db'}"))
    assert main(["review", "list", "--config", cfg]) == 2
    assert "database-missing" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_read_only_commands_do_not_load_alembic(tmp_path: Path, db_url: str) -> None:
    cfg = str(_config(tmp_path, db_url))
    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}
    script = (
        "import sys; from extranet_intake.intake.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "assert code == 0, code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'openpyxl', 'reportlab')))"
    )
    for argv in (["review", "list", "--json"], ["audit", "log", "--json"], ["status", "--json"]):
        proc = subprocess.run(
            [sys.executable, "-c", script, *argv, "--config", cfg],
            capture_output=True,
            text=True,
            env={**env, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().splitlines()[-1] == "[]", argv
