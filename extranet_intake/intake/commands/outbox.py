"""The ``outbox list`` command: the mails of the outbox and where each stands (never a password)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session

from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, config_from
from extranet_intake.mailer.outbox import OutboxStatus, utc_now

__all__ = ["register"]

outbox_app = typer.Typer(help="The outgoing mails: queued, sending, sent, failed, refused.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
def outbox_list(
    state: Annotated[
        list[OutboxStatus] | None, typer.Option("--state", help="Only mails in this state (repeatable).")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The mails, newest first: purpose, recipient, attempts, next try, last error."""
    from extranet_intake.intake.database import open_engine
    from extranet_intake.intake.monitor import OutboxOrder, outbox_listing

    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            now = utc_now()
            rows = [
                r.as_dict(now=now) for r in outbox_listing(session.connection(), states=state, order=OutboxOrder.NEWEST)
            ]
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("id", "state", "purpose", "event", "ref", "recipient", "attempts", "age", "next try", "last error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["state"],
            r["purpose"],
            r["event"],
            r["ref"],
            r["recipient"],
            str(r["attempts"]),
            _age(r["age_seconds"]),
            r["next_attempt_at"] or "",
            escape(r["last_error"] or ""),
        )
    Console().print(table)


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
