"""Commands of the review area: ``review list|show ID|approve ID|reject ID``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, OrgOpt, config_from, staff_signature
from extranet_intake.intake.database import open_engine
from extranet_intake.provisioning.review_list import ReviewStatus, read_reviews
from extranet_intake.reasons import CATALOGUE, describe, organisation_codes, reason_text, titles

# `review list` reads on the bare driver and imports no SQLAlchemy (docs/operations.md, "Start-up time"):
# SQLAlchemy, SQLModel, the ORM models and the decision machinery are imported by the commands that show
# or decide an item.
if TYPE_CHECKING:
    from extranet_intake.provisioning.approvals import ApprovalResult
    from extranet_intake.provisioning.service import Decision

__all__ = ["register"]

review_app = typer.Typer(help="Forms waiting for a person: approve (with corrections) or reject.", no_args_is_help=True)

IdArg = Annotated[int, typer.Argument(help="Review item number (see `review list`).")]
ByOpt = Annotated[
    str,
    typer.Option(
        "--by",
        help="Your staff account's name (see `staff list`): every decision "
        "is audited with it and with your operating-system user.",
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why: a note kept in the audit log.")]
CodeOpt = Annotated[
    str,
    typer.Option(
        "--reason",
        help="A reason code of the catalogue the organisation may be "
        "shown (see `review reasons`); the Master User reads its words.",
    ),
]
NoteNlOpt = Annotated[str, typer.Option("--note-nl", help="Optional note to the organisation, in Dutch.")]
NoteFrOpt = Annotated[
    str,
    typer.Option(
        "--note-fr",
        help="Optional note to the organisation, in French (a note must be given in the organisation's language).",
    ),
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Correct a field: field=value (repeatable; contracts=A,B).")
]
AllOpt = Annotated[bool, typer.Option("--all", help="Decided items too.")]


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.add_typer(review_app, name="review")


def _now() -> datetime:
    return datetime.now(UTC)


def _texts(codes: list[str]) -> list[dict[str, str]]:
    """``--json`` keeps the codes and adds their words (English: the language of the command line)."""
    return [{"code": c, **describe(c).as_dict()} for c in codes]


def _decided(decision: Decision, as_json: bool, item_id: int) -> None:
    reasons = list(decision.plan.reasons)
    data = {
        "item": item_id,
        "outcome": str(decision.outcome),
        "reasons": reasons,
        "reason_texts": _texts(reasons),
        "mails": [{"kind": str(m.kind), "event": str(m.event), "ref": m.ref} for m in decision.mails],
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(f"review {item_id}: {decision.outcome}" + (f" ({titles(reasons)})" if reasons else ""))


@review_app.command("list")
def review_list(
    config: ConfigOpt = None, as_json: JsonOpt = False, show_all: AllOpt = False, org: OrgOpt = None
) -> None:
    """The open review items, oldest first."""
    from extranet_intake.intake.readonly_db import reading  # the bare driver: no SQLAlchemy to import

    with reading(config_from(config).database_url) as db:
        items = read_reviews(db, status=None if show_all else ReviewStatus.OPEN, org=org)
    if as_json:
        typer.echo(json.dumps([_with_texts(i.as_dict()) for i in items], indent=2, ensure_ascii=False))
        return
    from rich.console import Console  # the tables' library: not for --json
    from rich.table import Table

    table = Table("id", "status", "form", "organisation", "reasons", "received")
    for i in items:
        table.add_row(
            str(i.id),
            i.status,
            i.form_id,
            i.enterprise_number or "?",
            titles(i.reasons),
            i.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    Console().print(table)


@review_app.command("show")
def review_show(item_id: IdArg, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """One item with its (prefilled) values, errors and warnings."""
    from rich.console import Console
    from rich.table import Table
    from sqlmodel import Session

    from extranet_intake.parsers.result import SignatureVerdict
    from extranet_intake.provisioning.review import show_review

    engine = open_engine(config_from(config).database_url)
    try:
        with Session(engine) as session:
            item = show_review(session, item_id)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(_with_texts(item.as_dict()), indent=2, ensure_ascii=False))
        return
    console = Console()
    console.print(
        f"[bold]review {item.id}[/] {item.form_id} for {item.enterprise_number or '?'} — {item.status}; "
        f"reasons: {titles(item.reasons)}; via {item.channel} from {item.sender or '-'}",
        markup=True,
    )
    for code in item.reasons:
        console.print(f"  {describe(code).title}: {describe(code).text}", markup=False)
    table = Table("field", "value")
    for name, value in item.fields.items():
        table.add_row(name, ", ".join(value) if isinstance(value, list) else str(value))
    console.print(table)
    for verdict in item.signatures:
        console.print(
            f"  {SignatureVerdict.from_dict(verdict).summary()}", highlight=False, markup=False, soft_wrap=True
        )
    for issue in [*item.errors, *item.warnings]:
        words = describe(str(issue.get("code") or ""))
        console.print(f"  {words.title}: {issue.get('field') or ''} {issue.get('message') or ''}", markup=False)
    if item.decision_reason:
        console.print(f"decision: {reason_text(item.decision_reason)}", markup=False)


@review_app.command("approve")
def review_approve(
    item_id: IdArg,
    by: ByOpt,
    reason: ReasonOpt = "",
    set_: SetOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve an item (corrected values are validated again); it takes effect once enough distinct people
    have approved it (`[review] approvals_required`; a correction resets earlier approvals)."""
    from sqlmodel import Session

    from extranet_intake.intake.decisions import approve  # the mailer's machinery: only for a decision, not a listing
    from extranet_intake.provisioning.engines import writer
    from extranet_intake.provisioning.review import parse_corrections, show_review

    cfg = config_from(config)
    engine = open_engine(cfg.database_url)
    try:
        with Session(writer(engine)) as session:
            by, signed = staff_signature(session, by)
            form_id = show_review(session, item_id).form_id
            # the desk's very operation: decided, its mails queued (sent by the next run / `send`), committed
            result = approve(
                session,
                item_id,
                by=by,
                reason=reason,
                corrections=parse_corrections(set_ or []),
                clock=_now,
                required=cfg.review.required_for(form_id),
                signed=signed,
            )
    finally:
        engine.dispose()
    if result.decision is not None:
        _decided(result.decision, as_json, item_id)
    else:
        _pending(result, as_json)


def _pending(result: ApprovalResult, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "item": result.item_id,
                    "outcome": "pending",
                    "approvals": result.approvals,
                    "required": result.required,
                    "approvers": list(result.approvers),
                    "reset": result.reset,
                },
                indent=2,
            )
        )
    else:
        reset = f"; {result.reset} earlier approval(s) reset by the correction" if result.reset else ""
        typer.echo(f"review {result.item_id}: {result.summary()} (waits for another person){reset}")


@review_app.command("reject")
def review_reject(
    item_id: IdArg,
    by: ByOpt,
    reason: CodeOpt = "",
    note_nl: NoteNlOpt = "",
    note_fr: NoteFrOpt = "",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject an item: it never provisions; the Master User is told the reason in words, and the note."""
    from sqlmodel import Session

    from extranet_intake.intake.decisions import reject
    from extranet_intake.provisioning.engines import writer

    engine = open_engine(config_from(config).database_url)
    try:
        with Session(writer(engine)) as session:
            by, signed = staff_signature(session, by)
            decision = reject(
                session, item_id, by=by, reason=reason, note_nl=note_nl, note_fr=note_fr, clock=_now, signed=signed
            )
    finally:
        engine.dispose()
    _decided(decision, as_json, item_id)


@review_app.command("reasons")
def review_reasons(as_json: JsonOpt = False) -> None:
    """The reasons a rejection may give the organisation (codes for --reason), with their words."""
    codes = organisation_codes()
    if as_json:
        rows = [
            {**CATALOGUE[c].as_dict(), "nl": CATALOGUE[c].nl.as_dict(), "fr": CATALOGUE[c].fr.as_dict()} for c in codes
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("code", "title", "Dutch", "French")
    for code in codes:
        entry = CATALOGUE[code]
        table.add_row(code, entry.en.title, entry.nl.title, entry.fr.title)
    Console().print(table)


def _with_texts(data: dict[str, Any]) -> dict[str, Any]:
    data["reason_texts"] = _texts(list(data.get("reasons") or []))
    if data.get("decision_reason"):
        data["decision_reason_text"] = reason_text(str(data["decision_reason"]))
    for key in ("errors", "warnings"):
        for issue in data.get(key) or []:
            issue["text"] = describe(str(issue.get("code") or "")).text
    return data
