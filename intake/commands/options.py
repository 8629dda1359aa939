"""Options shared by every command: the configuration file and ``--json``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from intake.config import Config, load_config
from parsers.validate import enterprise_number


def org_number(value: str | None) -> str | None:
    """The one place a command turns an enterprise number as typed into its ten digits (or refuses it)."""
    return None if value is None else enterprise_number(value)


__all__ = ["ConfigOpt", "JsonOpt", "OrgArg", "OrgOpt", "config_from", "org_number"]

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML configuration file (default: $EXTRANET_INTAKE_CONFIG, "
                 "else embedded defaults under ./var)", envvar="EXTRANET_INTAKE_CONFIG"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
OrgOpt = Annotated[str | None, typer.Option("--org", callback=org_number,
                                            help="Only this enterprise number (0812.345.603, BE0812345603 …).")]
OrgArg = Annotated[str, typer.Argument(callback=org_number,
                                       help="Enterprise number (0812.345.603, BE0812345603 …).")]


def config_from(path: Path | None) -> Config:
    return load_config(path)
