"""The lazy command registry of intake.cli says what the command modules say (issue 14.16)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import typer

import extranet_intake.intake.commands
from extranet_intake.intake.cli import COMMANDS, full_app

ROOT = Path(__file__).resolve().parents[2]


def test_every_top_level_command_is_in_the_registry_with_its_own_help_line() -> None:
    group = typer.main.get_command(full_app())
    real = {name: cmd.get_short_help_str(limit=500) for name, cmd in group.commands.items()}  # type: ignore[attr-defined]
    listed = {name: help_line for name, (_, help_line) in COMMANDS.items()}
    assert set(real) == set(listed)
    for name, help_line in listed.items():
        assert real[name] == help_line.split("\n")[0], name


def test_every_command_module_is_registered() -> None:
    modules = {m.name for m in pkgutil.iter_modules(extranet_intake.intake.commands.__path__)} - {"options"}
    assert modules <= {m for mods, _ in COMMANDS.values() for m in mods}


def test_help_imports_no_command_module() -> None:
    script = (
        "import sys; from extranet_intake.intake.cli import main\n"
        "assert main(['--help']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('extranet_intake.intake.commands.')"
        " and m != 'extranet_intake.intake.commands.options'"
        " or m.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'alembic', 'openpyxl', 'reportlab')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
