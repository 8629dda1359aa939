"""Commands of the staff area: ``staff add|list|disable|reset|totp`` (accounts of the desk's users)."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, config_from
from extranet_intake.intake.database import open_engine
from extranet_intake.provisioning.staff import (
    Role,
    add_staff,
    disable_staff,
    enrol_totp,
    list_staff,
    reset_staff_password,
)

__all__ = ["register"]

staff_app = typer.Typer(help="Staff accounts of the desk: reviewers, auditors, admins.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Login name (lower-case letters, digits, . _ -).")]


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.add_typer(staff_app, name="staff")


def _actor() -> str:
    """Who changes staff accounts from the command line: the operating-system user, as ``os:NAME``
    (a staff name cannot contain ``:``, so the audit log never mistakes one for the other)."""
    try:
        return f"os:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment or the password database
        return "os:unknown"


def _show_once(label: str, secret: str) -> None:
    # The person's own initial password (not an extranet credential): shown once on this terminal,
    # never stored in plain text, never logged.
    typer.echo(f"{label}: {secret}")
    typer.echo("It is shown only this once.", err=True)


@staff_app.command("add")
def staff_add(
    name: NameArg,
    role: Annotated[Role, typer.Option("--role", help="reviewer, auditor or admin.")],
    display_name: Annotated[str, typer.Option("--display-name", help="Name shown on pages.")] = "",
    language: Annotated[str, typer.Option("--language", help="nl or fr.")] = "nl",
    email: Annotated[str, typer.Option("--email", help="Matches an OpenID Connect sign-in.")] = "",
    config: ConfigOpt = None,
) -> None:
    """Create a staff account; its initial password is printed once."""
    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            account, password = add_staff(
                session,
                name,
                role=role,
                display_name=display_name,
                language=language,
                email=email or None,
                actor=_actor(),
            )
            created = f"staff {account.name} ({account.role}) created"
            session.commit()
    finally:
        engine.dispose()
    typer.echo(created)
    _show_once("initial password", password)


@staff_app.command("list")
def staff_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every staff account (never a password or a TOTP secret)."""
    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            rows = [
                {
                    "name": a.name,
                    "display_name": a.display_name,
                    "role": str(a.role),
                    "language": a.language,
                    "active": a.active,
                    "totp": bool(a.totp_secret),
                    "oidc": bool(a.oidc_subject),
                    "email": a.email,
                    "created_at": a.created_at.isoformat(),
                }
                for a in list_staff(session)
            ]
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "display name", "role", "lang", "active", "totp", "oidc")
    for r in rows:
        table.add_row(
            str(r["name"]),
            str(r["display_name"]),
            str(r["role"]),
            str(r["language"]),
            "yes" if r["active"] else "no",
            "yes" if r["totp"] else "",
            "yes" if r["oidc"] else "",
        )
    Console().print(table)


@staff_app.command("disable")
def staff_disable(name: NameArg, config: ConfigOpt = None) -> None:
    """Disable an account; its sessions end at once."""
    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            disable_staff(session, name, actor=_actor())
            session.commit()
    finally:
        engine.dispose()
    typer.echo(f"staff {name} disabled")


@staff_app.command("reset")
def staff_reset(name: NameArg, config: ConfigOpt = None) -> None:
    """A new password for an account (printed once); its sessions end."""
    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            password = reset_staff_password(session, name, actor=_actor())
            session.commit()
    finally:
        engine.dispose()
    _show_once("new password", password)


@staff_app.command("totp")
def staff_totp(name: NameArg, config: ConfigOpt = None) -> None:
    """Enrol (or re-enrol) a TOTP authenticator; prints the otpauth:// URI once."""
    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            uri = enrol_totp(session, name, actor=_actor())
            session.commit()
    finally:
        engine.dispose()
    _show_once("otpauth URI (add it to the authenticator app)", uri)
