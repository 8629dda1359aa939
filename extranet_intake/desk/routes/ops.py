"""The operations page (role admin): last runs with their failures, the outbox's unsent mails, the mails waiting for
a person (questions, mails whose forms were all refused), staff accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from extranet_intake.desk.pages import render
from extranet_intake.desk.security import Staff, desk_of, require
from extranet_intake.intake.monitor import UNSENT, OutboxOrder, outbox_listing
from extranet_intake.intake.ops import last_runs
from extranet_intake.intake.people import mails_for_people
from extranet_intake.provisioning.staff import Role, list_staff

__all__ = ["router"]

router = APIRouter()
ADMIN = Depends(require(Role.ADMIN))


@router.get("/ops")
def ops_page(request: Request, staff: Annotated[Staff, ADMIN]) -> Response:
    desk = desk_of(request)
    runs = last_runs(desk.cfg.run.report_dir)
    with Session(desk.engine) as session:
        # the `outbox list` command's listing: what has not left, the mail due first
        outbox = outbox_listing(session.connection(), states=UNSENT, order=OutboxOrder.DUE, limit=200)
        # the same listing `status` shows: never answered automatically, left unread in their folder
        waiting = mails_for_people(
            session,
            imap=desk.cfg.sources.imap if desk.cfg.sources.imap.enabled else None,
            maildir=desk.cfg.sources.maildir,
        )
        # names, roles and state only: never a hash or a TOTP secret
        people = [(a.name, a.display_name, str(a.role), a.language, a.active) for a in list_staff(session)]
    return render(request, "ops.html", runs=runs, outbox=outbox, people=people, waiting=waiting)
