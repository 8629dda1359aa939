"""Commands of the review area: ``review list|show ID|approve ID|reject ID``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from intake.commands.options import ConfigOpt, JsonOpt, OrgOpt, config_from
from intake.db import open_engine
from parsers.result import SignatureVerdict
from provisioning.db import writer
from provisioning.models import ReviewStatus
from provisioning.review import approve, list_reviews, parse_corrections, reject, show_review

if TYPE_CHECKING:
    from provisioning.service import Decision

__all__ = ["register"]

review_app = typer.Typer(help="Forms waiting for a person: approve (with corrections) or reject.",
                         no_args_is_help=True)

IdArg = Annotated[int, typer.Argument(help="Review item number (see `review list`).")]
ByOpt = Annotated[str, typer.Option("--by", help="Your name: every decision is audited with it.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (shown to the Master User on rejection).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Correct a field: field=value (repeatable; "
                                                  "contracts=A,B).")]
AllOpt = Annotated[bool, typer.Option("--all", help="Decided items too.")]


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.add_typer(review_app, name="review")


def _now() -> datetime:
    return datetime.now(UTC)


def _decided(decision: Decision, as_json: bool, item_id: int) -> None:
    reasons = list(decision.plan.reasons)
    data = {"item": item_id, "outcome": str(decision.outcome), "reasons": reasons,
            "mails": [{"kind": str(m.kind), "event": str(m.event), "ref": m.ref} for m in decision.mails]}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(f"review {item_id}: {decision.outcome}" + (f" ({', '.join(reasons)})" if reasons else ""))


@review_app.command("list")
def review_list(config: ConfigOpt = None, as_json: JsonOpt = False, show_all: AllOpt = False,
                org: OrgOpt = None) -> None:
    """The open review items, oldest first."""
    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            items = list_reviews(session, status=None if show_all else ReviewStatus.OPEN, org=org)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([i.as_dict() for i in items], indent=2))
        return
    table = Table("id", "status", "form", "organisation", "reasons", "received")
    for i in items:
        table.add_row(str(i.id), i.status, i.form_id, i.enterprise_number or "?", ", ".join(i.reasons),
                      i.created_at.strftime("%Y-%m-%d %H:%M"))
    Console().print(table)


@review_app.command("show")
def review_show(item_id: IdArg, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """One item with its (prefilled) values, errors and warnings."""
    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            item = show_review(session, item_id)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(item.as_dict(), indent=2))
        return
    console = Console()
    console.print(f"[bold]review {item.id}[/] {item.form_id} for {item.enterprise_number or '?'} — {item.status}; "
                  f"reasons: {', '.join(item.reasons)}; via {item.channel} from {item.sender or '-'}")
    table = Table("field", "value")
    for name, value in item.fields.items():
        table.add_row(name, ", ".join(value) if isinstance(value, list) else str(value))
    console.print(table)
    for verdict in item.signatures:
        console.print(f"  {SignatureVerdict.from_dict(verdict).summary()}", highlight=False, markup=False,
                      soft_wrap=True)
    for issue in [*item.errors, *item.warnings]:
        console.print(f"  {issue.get('code')}: {issue.get('field') or ''} {issue.get('message') or ''}")


@review_app.command("approve")
def review_approve(item_id: IdArg, by: ByOpt, reason: ReasonOpt = "", set_: SetOpt = None,
                   config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Approve an item (corrected values are validated again); it then takes effect."""
    from intake.wiring import enqueue_mails  # the mailer's machinery: only for a decision, not a listing

    engine = open_engine(config_from(config).database_url)
    try:
        with Session(writer(engine)) as session:
            decision = approve(session, item_id, by=by, reason=reason, corrections=parse_corrections(set_ or []),
                               clock=_now)
            # the mails the decision asks for are queued in its transaction (sent by the next run / `send`)
            enqueue_mails(session, decision.mails, clock=_now, actor=by)
            session.commit()
    finally:
        engine.dispose()
    _decided(decision, as_json, item_id)


@review_app.command("reject")
def review_reject(item_id: IdArg, by: ByOpt, reason: ReasonOpt = "", config: ConfigOpt = None,
                  as_json: JsonOpt = False) -> None:
    """Reject an item: it never provisions; the Master User is told the reason."""
    from intake.wiring import enqueue_mails

    engine = open_engine(config_from(config).database_url)
    try:
        with Session(writer(engine)) as session:
            decision = reject(session, item_id, by=by, reason=reason, clock=_now)
            enqueue_mails(session, decision.mails, clock=_now, actor=by)
            session.commit()
    finally:
        engine.dispose()
    _decided(decision, as_json, item_id)
