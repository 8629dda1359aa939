"""The ops engineer's commands: ``init``, ``migrate``, ``run``, ``status``, ``notify``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from extranet_intake.errors import DatabaseError
from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, OrgOpt, config_from
from extranet_intake.intake.lock import run_lock
from extranet_intake.intake.operations import (
    NoticeEvent,
    dry_run,
    init_deployment,
    notify_orgs,
    run_once,
    status_of,
)
from extranet_intake.intake.pipeline import RunReport
from extranet_intake.intake.progress import make_reporter
from extranet_intake.provisioning.engines import as_database_error
from extranet_intake.reasons import titles

__all__ = ["plan_table", "register", "summary_table"]


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.command("init")(init)
    app.command("migrate")(migrate_command)
    app.command("run")(run)
    app.command("status")(status)
    app.command("notify")(notify)


def init(config: ConfigOpt = None) -> None:
    """Create the database (migrated to the latest schema) and the folders of the configuration."""
    cfg = config_from(config)
    for line in init_deployment(cfg):
        typer.echo(line)


def migrate_command(config: ConfigOpt = None) -> None:
    """Migrate the database schema to this version's (after an upgrade); no other command migrates."""
    from sqlalchemy.engine import make_url

    from extranet_intake.intake.database import head_revision, migrate

    cfg = config_from(config)
    migrate(cfg.database_url)
    typer.echo(
        f"database {make_url(cfg.database_url).render_as_string(hide_password=True)} at schema {head_revision()}"
    )


def run(
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    dry: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; change nothing (database, mailbox, folders, outbox).")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for a running run instead of exiting.")] = False,
    no_send: Annotated[bool, typer.Option("--no-send", help="Queue mails but do not send them now.")] = False,
) -> None:
    """The daily job: sources → store → parse → rules → apply → outbox → send → expiry sweep."""
    cfg = config_from(config)
    console = Console(stderr=as_json)
    try:
        with run_lock(cfg.run.lock_file, wait=wait, database_url=cfg.database_url):
            if dry:
                report = dry_run(cfg, reporter=make_reporter(console))
                path = None
            else:
                report = run_once(cfg, reporter=make_reporter(console), send=not no_send)
                path = report.write(cfg.run.report_dir)
    except (DatabaseError, SQLAlchemyError) as exc:
        down = as_database_error(exc, url=cfg.database_url)
        if down is None:
            raise
        down.exit_code = 1  # docs/operations.md: a run that could not happen is a failed run (1), not a usage error
        raise down from exc
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        if dry:
            console.print(plan_table(report))
        console.print(summary_table(report))
        for failure in report.failures:
            console.print(f"[red]failure[/red] {failure.stage}: " + escape(f"[{failure.code}] {failure.message}"))
        if path is not None:
            console.print(f"report: {path}")
    raise typer.Exit(0 if report.ok else 1)


def plan_table(report: RunReport) -> Table:
    """One line per document: what the run would do with it, and why."""
    table = Table(title="The plan: what a run would do with each document")
    for column in ("source", "form", "organisation", "read", "would be", "why"):
        table.add_column(column)
    for d in report.documents:
        table.add_row(d.source, d.form_id or "-", d.org or "-", d.parse, d.outcome, titles(d.reasons))
    return table


def summary_table(report: RunReport) -> Table:
    title = "Dry run — nothing was changed" if report.dry_run else "Run summary"
    table = Table(title=title, show_header=True)
    table.add_column("stage")
    table.add_column("result")
    for src in report.sources:
        if src.source == "explode":
            table.add_row(
                "messages opened",
                f"{src.seen} opened, {src.documents} new form(s), {src.no_form} without form, {src.failed} unreadable",
            )
            continue
        table.add_row(
            src.source, f"{src.seen} seen, {src.stored} stored, {src.duplicates} duplicates, {src.failed} failed"
        )
    for people in report.people:
        table.add_row(
            "for people",
            f"{people.handed_over} mail(s) without a form or with only refused forms moved (unread) to {people.folder}",
        )
    outcomes = report.outcomes()
    table.add_row("documents", ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "none")
    if report.expiries:
        table.add_row("expiry sweep", f"{len(report.expiries)} organisation(s) with expiries or warnings")
    if report.mail is not None:
        m = report.mail
        table.add_row(
            "mail", f"{len(m.sent)} sent, {len(m.retrying)} retrying, {len(m.failed)} failed, {len(m.refused)} refused"
        )
    table.add_row("failures", str(len(report.failures)))
    return table


def status(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """The last run, the review backlog and the outbox backlog."""
    cfg = config_from(config)
    data = status_of(cfg)
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        raise typer.Exit(0 if data["ok"] else 1)
    table = Table(title="extranet-intake status", show_header=False)
    table.add_column("what")
    table.add_column("value")
    last = data["last_run"]
    table.add_row(
        "last run",
        "never"
        if last is None
        else f"{last['started_at']} ({'ok' if last['ok'] else 'with failures'}, "
        f"{sum(last['outcomes'].values())} documents)",
    )
    table.add_row("review backlog", str(data["review_open"]))
    table.add_row("outbox", ", ".join(f"{n} {k}" for k, n in sorted(data["outbox"].items())) or "empty")
    for s in data["outbox_states"]:
        if s["state"] in ("queued", "sending", "failed"):
            table.add_row(
                f"  {s['state']}",
                escape(
                    f"{s['count']}, oldest {_minutes(s['oldest_age_seconds'])}, up to {s['max_attempts']} attempt(s)"
                    + (f", next try {s['next_attempt_at']}" if s["next_attempt_at"] else "")
                    + (f", last error: {s['last_error']}" if s["last_error"] else "")
                ),
            )
    table.add_row("documents not parsed yet", str(data["documents_pending"]))
    table.add_row("mails for people", str(len(data["for_people"])))
    overdue = data["access_reviews_overdue"]
    table.add_row(
        "access reviews overdue",
        "none"
        if not overdue
        else f"{len(overdue)}: "
        + ", ".join(f"{o['org']} (due {o['due_date']})" for o in overdue[:10])
        + (" …" if len(overdue) > 10 else ""),
    )
    console = Console()
    console.print(table)
    if data["for_people"]:
        mails = Table(
            "received", "sender", "subject", "reason", "folder", title="mails for people (never answered automatically)"
        )
        for m in data["for_people"]:
            mails.add_row(
                m["received_at"][:16].replace("T", " "),
                escape(m["sender"]),
                escape(m["subject"]),
                m["reason"],
                escape(m["folder"]),
            )
        console.print(mails)
    for alert in data["alerts"]:
        # on stderr too, so that a monitoring check's mail shows why it fired
        typer.echo(f"alert: [{alert['code']}] {alert['message']}", err=True)
    raise typer.Exit(0 if data["ok"] else 1)


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{int(seconds // 60)} min"


def notify(
    event: Annotated[NoticeEvent, typer.Option("--event", help="new-documents or new-feature")],
    what_nl: Annotated[
        str,
        typer.Option(
            "--what-nl", help="What is new, in Dutch, as the organisations should read it (e.g. 'pensioenfiches 2026')."
        ),
    ] = "",
    what_fr: Annotated[
        str,
        typer.Option(
            "--what-fr", help="The same in French (e.g. 'fiches de pension 2026'); both languages are required."
        ),
    ] = "",
    config: ConfigOpt = None,
    org: OrgOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Tell organisations (at their agreement's notification address) about new documents or features."""
    cfg = config_from(config)
    result = notify_orgs(cfg, event=event, what_nl=what_nl, what_fr=what_fr, org=org)
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        typer.echo(
            f"{result['queued']} notice(s) queued, {result['already']} already sent before, "
            f"{result['mail']['sent']} sent"
        )
    raise typer.Exit(0 if result["ok"] else 1)
