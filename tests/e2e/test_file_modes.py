"""Files holding personal data are created owner-only or owner+group, whatever the umask (issue 14.14)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extranet_intake.intake.pipeline import RunReport
from extranet_intake.provisioning.export import ExportFormat, export_entries

ROOT = Path(__file__).resolve().parents[2]


def _loose(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IRWXO)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual login umask: what the files would get without care
    try:
        yield
    finally:
        os.umask(old)


def test_library_writers_set_modes_themselves(tmp_path: Path, open_umask: None) -> None:
    from extranet_intake.intake.database import migrate

    report = RunReport(started_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    report.finished_at = report.started_at
    path = report.write(tmp_path / "reports")
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 in (0, 0o040)
    for fmt in ExportFormat:
        out = tmp_path / f"audit.{fmt.value}"
        export_entries([], fmt=fmt, out=out)
        assert stat.S_IMODE(out.stat().st_mode) & 0o037 == 0, fmt
    db = tmp_path / "db" / "extranet_intake.intake.database"
    migrate(f"sqlite:///{db}")
    assert stat.S_IMODE(db.stat().st_mode) & 0o037 == 0
    assert not _loose(db.parent)


def test_the_command_line_creates_nothing_world_readable(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[run]\ndata_dir = "var"\n\n[sources.drop]\nstable_seconds = 0\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}

    def cli(*args: str) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "extranet_intake.intake.cli", *args, "--config", str(config)],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=180,
            preexec_fn=lambda: os.umask(0o022),
            check=False,
        )
        assert proc.returncode == 0, proc.stderr

    cli("init")
    cli("run")
    cli("audit", "export", "--format", "csv", "--out", str(tmp_path / "var" / "audit.csv"))
    cli("audit", "export", "--format", "xlsx", "--out", str(tmp_path / "var" / "audit.xlsx"))
    created = [tmp_path / "var", *(tmp_path / "var").rglob("*")]
    assert any(p.name == "extranet-intake.db" for p in created)
    assert any(p.parent.name == "reports" for p in created)
    assert [str(p.relative_to(tmp_path)) for p in created if _loose(p)] == []
