"""``--config`` is accepted before the subcommand as well as after it (issue 14.13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extranet_intake.intake.cli import main


def _config(tmp_path: Path, db_url: str, name: str = "extranet_intake.intake.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'[database]\nurl = "{db_url}"\n\n[run]\ndata_dir = "{name}.d"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("flag", ["--config", "-c"])
def test_config_before_the_subcommand(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    monkeypatch.delenv("EXTRANET_INTAKE_CONFIG", raising=False)
    cfg = _config(tmp_path, db_url)
    assert main([flag, str(cfg), "audit", "log", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main([flag, str(cfg), "review", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_config_after_the_subcommand_still_works_and_wins(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXTRANET_INTAKE_CONFIG", raising=False)
    good = _config(tmp_path, db_url)
    assert main(["audit", "log", "--json", "--config", str(good)]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # the subcommand's own --config is the more specific one
    assert main(["--config", str(tmp_path / "missing.toml"), "audit", "log", "--config", str(good)]) == 0
    capsys.readouterr()


def test_config_before_the_subcommand_beats_the_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXTRANET_INTAKE_CONFIG", str(tmp_path / "missing.toml"))
    cfg = _config(tmp_path, db_url)
    assert main(["--config", str(cfg), "audit", "log", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["audit", "log", "--json"]) == 2
    assert "config-not-found" in capsys.readouterr().err


def test_a_missing_file_before_the_subcommand_is_a_coded_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXTRANET_INTAKE_CONFIG", raising=False)
    assert main(["--config", str(tmp_path / "missing.toml"), "status"]) == 2
    assert "config-not-found" in capsys.readouterr().err
