"""Commands of the views area: ``orgs list|show`` and ``users list|show``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, OrgArg, OrgOpt, config_from
from extranet_intake.intake.database import open_engine
from extranet_intake.provisioning.views import list_orgs, list_users, show_org, show_user

__all__ = ["register"]

orgs_app = typer.Typer(
    help="Organisation dossiers: received, approved, rejected, missing, accounts.", no_args_is_help=True
)
users_app = typer.Typer(help="Accounts of the new Extranet.", no_args_is_help=True)

LoginArg = Annotated[str, typer.Argument(help="Login.")]


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(users_app, name="users")


def _with_session(config: Path | None, read: Any) -> Any:
    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            return read(session)
    finally:
        engine.dispose()


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@orgs_app.command("list")
def orgs_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every dossier with its status and what it still lacks."""
    orgs = _with_session(config, list_orgs)
    if as_json:
        _echo_json([o.as_dict() for o in orgs])
        return
    table = Table("enterprise number", "name", "status", "Master User", "active accounts", "in review", "missing")
    for o in orgs:
        table.add_row(
            o.enterprise_number,
            o.name,
            o.status,
            o.master_user,
            str(o.active_accounts),
            str(o.in_review),
            ", ".join(o.missing),
        )
    Console().print(table)


@orgs_app.command("show")
def orgs_show(enterprise_number: OrgArg, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """One dossier: forms received/approved/rejected, what is missing, the Master User, the accounts."""
    dossier = _with_session(config, lambda s: show_org(s, enterprise_number))
    if as_json:
        _echo_json(dossier.as_dict())
        return
    s = dossier.summary
    console = Console()
    console.print(
        f"[bold]{s.name or '?'}[/] ({s.enterprise_number}) — {s.status}"
        + (f"; missing: {', '.join(s.missing)}" if s.missing else "")
    )
    console.print(f"notifications: {dossier.notification_email or '-'}   Master User: {s.master_user or '-'}")
    forms = Table("received", "form", "action", "status", "reason", "approved by", "login", title="forms")
    for f in dossier.forms:
        forms.add_row(
            f["received_at"].strftime("%Y-%m-%d %H:%M"),
            f["form_id"],
            f["action"] or "",
            f["status"],
            f["reason_text"],
            f["approved_by"] or "",
            f["login"] or "",
        )
    console.print(forms)
    accounts = Table("login", "name", "status", "profile", "scope", "contracts", "end date", title="accounts")
    for a in dossier.accounts:
        accounts.add_row(
            a.login,
            a.name,
            a.status,
            a.profile,
            a.scope,
            ", ".join(a.contracts),
            a.access_end_date.isoformat() if a.access_end_date else "",
        )
    console.print(accounts)
    if dossier.legacy_accounts:
        legacy = Table("login", "name", "revoked", title="old Extranet accounts")
        for la in dossier.legacy_accounts:
            legacy.add_row(la["login"], la["name"], la["revoked_at"].isoformat() if la["revoked_at"] else "")
        console.print(legacy)


@users_app.command("list")
def users_list(org: OrgOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Accounts (of one organisation with --org)."""
    users = _with_session(config, lambda s: list_users(s, org=org))
    if as_json:
        _echo_json([u.as_dict() for u in users])
        return
    table = Table("login", "organisation", "name", "status", "profile", "scope", "contracts", "end date")
    for u in users:
        table.add_row(
            u.login,
            u.enterprise_number,
            u.name,
            u.status,
            u.profile,
            u.scope,
            ", ".join(u.contracts),
            u.access_end_date.isoformat() if u.access_end_date else "",
        )
    Console().print(table)


@users_app.command("show")
def users_show(login: LoginArg, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """One account (and its temporary password's life — never the password)."""
    user = _with_session(config, lambda s: show_user(s, login))
    if as_json:
        _echo_json(user.as_dict())
        return
    table = Table("field", "value")
    for key, value in user.as_dict().items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    Console().print(table)
