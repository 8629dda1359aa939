"""Commands of the mail area: ``send`` drains the outbox; ``users reissue`` queues new credentials."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from extranet_intake.errors import MailerError
from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, config_from
from extranet_intake.intake.commands.views import users_app

__all__ = ["register"]


def send(config: ConfigOpt = None, as_json: JsonOpt = False) -> int:
    """Send every due mail of the outbox (SMTP, or .eml files in the embedded default)."""
    from extranet_intake.intake.database import open_engine
    from extranet_intake.intake.pipeline import make_transport, send_outbox

    cfg = config_from(config)
    report = send_outbox(cfg, engine=open_engine(cfg.database_url), transport=make_transport(cfg))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        table = Table("sent", "retrying", "failed", "refused")
        table.add_row(*(str(len(x)) for x in (report.sent, report.retrying, report.failed, report.refused)))
        Console().print(table)
    for row_id, state, code in report.undelivered():  # stderr in both modes: a cron mail shows the cause
        typer.echo(f"outbox {row_id} {state}: [{code}] {report.errors.get(row_id, '')}", err=True)
    # a due mail that did not leave (retrying included: the server may be down) is a failure
    return 0 if not report.undelivered() else 1


def reissue(
    login: Annotated[str, typer.Argument(help="The account's login.")],
    by: Annotated[
        str, typer.Option("--by", help="Your staff account's name (see `staff list`): recorded in the audit log.")
    ],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Queue new credentials for LOGIN, to the address on its own fiche; the old password dies at sending."""
    from extranet_intake.intake.commands.options import staff_signature
    from extranet_intake.intake.database import open_engine
    from extranet_intake.intake.wiring import make_outbox
    from extranet_intake.mailer.outbox import utc_now
    from extranet_intake.provisioning.engines import writer

    cfg = config_from(config)
    with Session(writer(open_engine(cfg.database_url))) as session:
        by, _ = staff_signature(session, by)  # a staff account the desk knows, active
        row = make_outbox(clock=utc_now).reissue(session, login=login, by=by)
        session.commit()
        out = {"outbox_id": row.id, "login": login, "status": row.status, "by": by}
    if row.status != "queued":
        raise MailerError("reissue-not-queued", "the re-issue was not queued", **out)
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(
            f"queued new credentials for {login} (outbox {out['outbox_id']}); "
            "run `extranet-intake send` to deliver them"
        )
    return 0


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.command("send")(send)
    # `users` is the views' group (list, show); re-issuing credentials is one more of its commands
    users_app.command("reissue")(reissue)
