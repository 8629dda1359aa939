"""An address change of an existing account, end to end on both databases (issue 13.5).

The Master User's modify fiche waits for a person; once approved, the old address gets a notice
without credentials and the new address the credentials — each as its purpose's only recipient.
"""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.intake.config import Config
from extranet_intake.intake.wiring import enqueue_mails, mail_ports
from extranet_intake.mailer.outbox import OutboxMessage
from extranet_intake.mailer.send import Sender
from extranet_intake.mailer.transports import FileTransport
from extranet_intake.provisioning.directory import previous_user_contact, user_contact
from extranet_intake.provisioning.models import ReviewItem
from extranet_intake.provisioning.plan import MailEvent, MailKind, PlanOutcome
from tests.fixtures.provisioning import clock, usr
from tests.integration.test_provisioning_flow import approve_item, open_dossier, receive

OLD, NEW = "jan.janssens@acme.be", "jan.elsewhere@acme.be"
PASSWORD = re.compile(r"(?:wachtwoord|temporaire) ?: +(\S+)")


async def test_an_address_change_waits_for_a_person_then_tells_the_old_address(
    engine: sa.Engine, tmp_path: Path
) -> None:
    opened = open_dossier(engine, tmp_path)
    login = next(m.login for m in opened.mails if m.kind is MailKind.CREDENTIALS) or ""
    with Session(engine) as session:
        assert user_contact(session, login).email == OLD  # type: ignore[union-attr]

    fiche = usr(action="modify", login=login, email=NEW, signed_date="2026-11-21")
    queued = receive(engine, fiche)  # from the current Master User, DMARC pass: trusted, and still it waits
    assert queued.outcome is PlanOutcome.REVIEW
    assert queued.plan.reasons == ("email-change-needs-review",)
    assert queued.mails == ()
    with Session(engine) as session:
        item = session.exec(select(ReviewItem).where(col(ReviewItem.document_sha256) == fiche.sha256)).one()
        assert item.reasons == ["email-change-needs-review"]
        assert user_contact(session, login).email == OLD  # type: ignore[union-attr]
        assert previous_user_contact(session, login) is None

    done = approve_item(engine, fiche.sha256)
    assert done.outcome is PlanOutcome.APPLIED
    assert sorted((m.kind, m.event) for m in done.mails if m.kind is not MailKind.MASTER_USER_NOTICE) == sorted(
        [(MailKind.CREDENTIALS, MailEvent.CREDENTIALS_REISSUED), (MailKind.OLD_ADDRESS_NOTICE, MailEvent.EMAIL_CHANGED)]
    )
    with Session(engine) as session:
        assert user_contact(session, login).email == NEW  # type: ignore[union-attr]
        assert previous_user_contact(session, login).email == OLD  # type: ignore[union-attr]
        rows = enqueue_mails(session, done.mails, clock=clock)
        session.commit()
        by_purpose = {r.purpose: r.recipient for r in rows}
    assert by_purpose["old_address_notice"] == OLD
    assert by_purpose["credentials"] == NEW

    out = tmp_path / "outbox"
    transport = FileTransport(out)
    report = await Sender(engine, ports=mail_ports(Config(), clock=clock), transport=transport, clock=clock).drain()
    await transport.aclose()
    assert len(report.sent) == len(rows)
    received: dict[str, list[str]] = {}
    for eml in out.glob("*.eml"):
        msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        received.setdefault(str(msg["To"].addresses[0].addr_spec), []).append(text)
    [notice] = received[OLD]
    assert login in notice
    assert PASSWORD.search(notice) is None  # the old address never gets a password
    assert NEW not in notice  # nor learns where the account went
    assert any(PASSWORD.search(text) for text in received[NEW])
    with Session(engine) as session:
        statuses = {r.purpose: r.status for r in session.exec(select(OutboxMessage))}
        assert statuses["old_address_notice"] == "sent"
