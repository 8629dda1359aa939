"""``config check``: validate the configuration, then check the database, IMAP, SMTP and folders."""

from __future__ import annotations

import typer

from extranet_intake.errors import ConfigError
from extranet_intake.intake.commands.options import ConfigOpt, config_from

__all__ = ["register"]

config_app = typer.Typer(
    help="The configuration: check it and everything it points to, changing nothing.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.add_typer(config_app, name="config")


@config_app.command("check")
def check(config: ConfigOpt = None) -> None:
    """One line per check; exit 0 when all pass (warnings allowed), 1 when one fails, 2 for an invalid file."""
    from extranet_intake.intake.checks import CheckStatus, check_deployment

    try:
        cfg = config_from(config)
    except ConfigError as exc:
        typer.echo(f"FAIL  config    {exc}")
        raise typer.Exit(2) from None
    typer.echo(f"ok    config    {cfg.source or 'embedded defaults'} is valid")
    checks = check_deployment(cfg)
    for c in checks:
        typer.echo(c.line())
    raise typer.Exit(1 if any(c.status is CheckStatus.FAIL for c in checks) else 0)
