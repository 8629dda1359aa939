"""Commands of the access review area: ``review-access start`` and ``review-access status``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, OrgOpt, config_from

__all__ = ["register"]

access_review_app = typer.Typer(
    help="The yearly access review by each Master User: start a campaign, see where each organisation stands.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.add_typer(access_review_app, name="review-access")


def _now() -> datetime:
    return datetime.now(UTC)


@access_review_app.command("start")
def review_start(
    due: Annotated[
        str | None, typer.Option("--due", help="Due date (YYYY-MM-DD); default: [access_review] due_days from today.")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who starts the campaign (audited).")] = "team",
    send: Annotated[
        bool, typer.Option("--send/--no-send", help="Send the mails now (default) or leave them to the daily run.")
    ] = True,
    config: ConfigOpt = None,
    org: OrgOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send each open organisation's Master User the list of its active accounts, to confirm by the due date."""
    from extranet_intake.errors import ConfigError
    from extranet_intake.intake.access_review import start_review
    from extranet_intake.intake.database import open_engine
    from extranet_intake.intake.pipeline import make_transport, send_outbox
    from extranet_intake.provisioning.engines import writer

    try:
        due_date = date.fromisoformat(due) if due else None
    except ValueError:
        raise ConfigError("review-due-date-invalid", "--due must be a date YYYY-MM-DD", due=due) from None
    cfg = config_from(config)
    engine = open_engine(cfg.database_url)
    try:
        with Session(writer(engine)) as session:  # reads then writes: BEGIN IMMEDIATE on SQLite
            result: dict[str, Any] = start_review(
                session, cfg=cfg, clock=_now, actor=by.strip() or "team", due=due_date, org=org
            )
            session.commit()
        if send:
            result["mail"] = send_outbox(cfg, engine=engine, transport=make_transport(cfg), clock=_now).as_dict()
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"access review {result['campaign']}: {len(result['sent'])} organisation(s) asked, due "
        f"{result['due_date']}; {len(result['skipped'])} left out"
    )
    for s in result["skipped"]:
        typer.echo(f"  {s['org']}: {s['reason']}")


@access_review_app.command("status")
def review_status_command(
    campaign: Annotated[int | None, typer.Option("--campaign", help="Only this campaign.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Each campaign and each organisation's state: sent, reminded, confirmed, changes announced, overdue."""
    from extranet_intake.intake.access_review import status
    from extranet_intake.intake.database import open_engine

    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            result = status(session, campaign=campaign)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    console = Console()
    for c in result["campaigns"]:
        counts = ", ".join(f"{k} {v}" for k, v in c["counts"].items() if v)
        console.print(
            f"[bold]access review {c['campaign']}[/] started {c['started_at'][:10]} by {c['started_by']}, "
            f"due {c['due_date']}: {counts or 'no organisation'}"
        )
        table = Table("organisation", "name", "state", "code", "recipient", "accounts", "reminded", "answered")
        for o in c["organisations"]:
            table.add_row(
                o["org"],
                o["name"],
                o["state"],
                o["code"],
                o["recipient"],
                str(o["accounts"]),
                ", ".join(f"{d} d" for d in o["reminded"]),
                (o["answered_at"] or "")[:16],
            )
        console.print(table)
    if result["overdue"]:
        console.print(
            f"[bold red]{len(result['overdue'])} organisation(s) overdue[/]: "
            + ", ".join(o["org"] for o in result["overdue"])
        )
