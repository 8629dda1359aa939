"""Options shared by every command: the configuration file and ``--json``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from intake.config import Config, load_config

__all__ = ["ConfigOpt", "JsonOpt", "config_from"]

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML configuration file (default: $EXTRANET_INTAKE_CONFIG, "
                 "else embedded defaults under ./var)", envvar="EXTRANET_INTAKE_CONFIG"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def config_from(path: Path | None) -> Config:
    return load_config(path)
