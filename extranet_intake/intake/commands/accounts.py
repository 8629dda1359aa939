"""``users reinstate``: a suspended account made active again, by a signed staff decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlmodel import Session

from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, config_from, staff_signature
from extranet_intake.intake.commands.views import users_app

__all__ = ["register"]


def reinstate(
    login: Annotated[str, typer.Argument(help="The suspended account's login.")],
    by: Annotated[
        str, typer.Option("--by", help="Your staff account's name (see `staff list`): the decision is signed with it.")
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (e.g. the Master User confirmed by phone): kept in the audit log.")
    ],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a suspended account (access review not answered in time) active again; audited with who and why."""
    from extranet_intake.intake.database import open_engine
    from extranet_intake.provisioning.access_review import reinstate_account
    from extranet_intake.provisioning.engines import writer

    engine = open_engine(config_from(config).database_url)
    try:
        with Session(writer(engine)) as session:
            signer, signed = staff_signature(session, by)
            account = reinstate_account(session, login, by=signer, reason=reason, now=datetime.now(UTC), signed=signed)
            out = {"login": account.login, "status": str(account.status), "by": signer}
            session.commit()
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(f"account {login} is active again (signed by {signer})")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application (``users`` is the views' group)."""
    users_app.command("reinstate")(reinstate)
