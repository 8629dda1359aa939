"""Options shared by every command: the configuration file and ``--json``."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlmodel import Session

    from extranet_intake.intake.config import Config


def org_number(value: str | None) -> str | None:
    """The one place a command turns an enterprise number as typed into its ten digits (or refuses it)."""
    if value is None:  # typer calls back without the option too: the validator is not imported for nothing
        return None
    from extranet_intake.parsers.validate import (
        enterprise_number,  # imported when a command takes a number, not at start-up
    )

    return enterprise_number(value)


__all__ = [
    "ConfigOpt",
    "JsonOpt",
    "OrgArg",
    "OrgOpt",
    "RootConfigOpt",
    "config_from",
    "org_number",
    "root_config",
    "staff_signature",
]


def staff_signature(session: Session, by: str) -> tuple[str, dict[str, str]]:
    """``--by`` must name an active staff account (a decision is signed by a person the desk knows);
    the operating-system user who typed it is recorded beside it."""
    import getpass

    from extranet_intake.provisioning.staff import find_active

    account = find_active(session, by)
    try:
        os_user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        os_user = "unknown"
    return account.name, {"os_user": os_user, "signed_via": "cli"}


_CONFIG_HELP = "TOML configuration file (default: $EXTRANET_INTAKE_CONFIG, else embedded defaults under ./var)"

# No envvar here: load_config reads $EXTRANET_INTAKE_CONFIG itself, after a --config given before the
# subcommand (which must beat the environment, as a flag given after it does).
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help=_CONFIG_HELP)]
#: the same option given before the subcommand (``extranet-intake --config F audit log``)
RootConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help=_CONFIG_HELP)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
OrgOpt = Annotated[
    str | None,
    typer.Option("--org", callback=org_number, help="Only this enterprise number (0812.345.603, BE0812345603 …)."),
]
OrgArg = Annotated[str, typer.Argument(callback=org_number, help="Enterprise number (0812.345.603, BE0812345603 …).")]


def config_from(path: Path | None) -> Config:
    """The configuration of this command: its own ``--config``, else the one before the subcommand, else the
    environment variable, else the embedded defaults."""
    from extranet_intake.intake.config import load_config  # not at import: `--help` needs no configuration

    return load_config(path if path is not None else root_config.get())


#: the ``--config`` given before the subcommand, set by the main callback for this invocation
root_config: ContextVar[Path | None] = ContextVar("root_config", default=None)
