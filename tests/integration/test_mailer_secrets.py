"""The plaintext temporary password exists in the message handed to the transport and nowhere else:
not in the outbox table, the log, an exception or error, the audit, nor any other purpose's .eml."""

from __future__ import annotations

import logging
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from extranet_intake.mailer.outbox import OutboxMessage
from extranet_intake.mailer.purposes import Event, Purpose
from extranet_intake.mailer.send import Sender
from extranet_intake.mailer.transports import (
    DeliveryError,
    Envelope,
    FileTransport,
    Security,
    SmtpSettings,
    SmtpTransport,
)
from tests.fixtures.mailer import FakeClock, MailDb, audit
from tests.fixtures.smtp import SmtpServer

PW = re.compile(r"(?:wachtwoord|temporaire) ?: +(\S+)")


def _dump(db: MailDb) -> str:
    with db.engine.connect() as c:
        rows = [
            *c.execute(sa.select(OutboxMessage.__table__)),  # type: ignore[attr-defined]
            *c.execute(sa.select(audit)),
        ]
    return "\n".join(repr(tuple(r)) for r in rows)


async def test_password_never_leaves_the_credentials_message(
    mail_db: MailDb, smtp_server: SmtpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    with mail_db.session() as s:
        w = mail_db.world
        w.add_account(s, "EAP1", "jan.peeters@acme.be", "Jan Peeters", "nl")
        w.add_account(s, "EAP2", "marie.dubois@acme.be", "Marie Dubois", "fr")
        w.add_org(s, "0644695949", notification="extranet@acme.be", mu_email="an.claes@acme.be")
        outbox = w.outbox(clock)
        outbox.enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP1", event=Event.ACCOUNT_OPENED, params={"login": "EAP1"}, key="c1"
        )
        outbox.enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP2", event=Event.ACCOUNT_OPENED, params={"login": "EAP2"}, key="c2"
        )
        notices: list[tuple[Event, dict[str, Any]]] = [
            (Event.ACCESS_OPENED, {"org_name": "Acme", "accounts": 2}),
            (Event.NEW_DOCUMENTS, {"org_name": "Acme", "documents": ["invoices"]}),
        ]
        for event, params in notices:
            outbox.enqueue(s, purpose=Purpose.ORG_NOTICE, ref="0644695949", event=event, params=params, key=event.value)
        outbox.enqueue(
            s,
            purpose=Purpose.MASTER_USER_NOTICE,
            ref="0644695949",
            event=Event.CHANGES_APPLIED,
            params={
                "org_name": "Acme",
                "changes": [
                    {"change": "account_created", "login": "EAP1", "name": "Jan Peeters"},
                    {"change": "account_created", "login": "EAP2", "name": "Marie Dubois"},
                ],
            },
            key="mu",
        )
        s.commit()

    # EAP2's first attempt meets a 5xx: its error path must not carry the password either
    smtp_server.refuse("marie.dubois@acme.be", "550 5.1.1 mailbox unavailable")
    transport = SmtpTransport(
        SmtpSettings(
            host=smtp_server.host,
            port=smtp_server.port,
            security=Security.STARTTLS,
            user=smtp_server.user,
            password=smtp_server.password,
            ca_file=str(smtp_server.ca_file),
        )
    )
    report = await Sender(
        mail_db.engine,
        ports=mail_db.world.ports(),
        transport=transport,
        clock=clock,
    ).drain()
    await transport.aclose()
    assert len(report.sent) == 4
    assert len(report.failed) == 1
    # the same run's notices also go through the file transport, as the embedded default would
    files = FileTransport(tmp_path / "eml")
    with mail_db.session() as s:
        t = OutboxMessage.__table__  # type: ignore[attr-defined]
        s.connection().execute(sa.update(t).where(t.c.purpose != "credentials").values(status="queued"))
        s.commit()
    clock.advance(minutes=1)
    assert (
        len((await Sender(mail_db.engine, ports=mail_db.world.ports(), transport=files, clock=clock).drain()).sent) == 3
    )

    # the one password that reached a user, and the one made for the refused mail (which only the
    # server's refusal saw, inside the message it refused)
    cred = [m for m in smtp_server.messages if m.rcpt_tos == ["jan.peeters@acme.be"]]
    assert len(cred) == 1
    password = PW.search(cred[0].message.get_body(("plain",)).get_content()).group(1)  # type: ignore[union-attr]
    assert len(password) >= 16
    with mail_db.session() as s:
        assert mail_db.world.verify(s, "EAP1", password)

    # Our side's log only: aiosmtpd ("mail.log") is the receiving server, which logs the DATA it was
    # sent at DEBUG exactly as the recipient's mailbox holds it.
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert any(r.name == "mailer" for r in ours)
    haystacks = {
        "outbox and audit tables": _dump(mail_db),
        "log": "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.__dict__!r}" for r in ours),
        "errors": repr(report.errors) + repr(report.as_dict()),
    }
    for m in smtp_server.messages:
        if m.rcpt_tos != ["jan.peeters@acme.be"]:
            haystacks[f"mail to {m.rcpt_tos}"] = m.data.decode("utf-8", "replace")
    emls = list((tmp_path / "eml").glob("*.eml"))
    assert len(emls) == 3
    for eml in emls:
        haystacks[eml.name] = eml.read_bytes().decode("utf-8", "replace")
    for where, text in haystacks.items():
        assert password not in text, f"plaintext password found in {where}"
        assert not PW.search(text), f"something password-shaped in {where}"


def test_smtp_settings_never_print_their_password() -> None:
    settings = SmtpSettings(host="smtp.example.be", user="intake", password="Smtp-Secret-9")
    assert "Smtp-Secret-9" not in repr(settings)
    assert "Smtp-Secret-9" not in str(settings)
    assert settings.password == "Smtp-Secret-9"


async def test_a_mail_file_that_cannot_be_written_leaves_no_partial_copy(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Message-ID"] = "<m1@ethias.be>"
    message.set_content("wachtwoord: Half-Written-Secret-1")
    transport = FileTransport(tmp_path / "outbox")
    transport.path_for("<m1@ethias.be>").mkdir(parents=True)  # the name is taken: the rename fails
    (transport.path_for("<m1@ethias.be>") / "x").touch()
    with pytest.raises(DeliveryError):
        await transport.send(Envelope(sender="a@ethias.be", recipient="b@acme.be", message=message))
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["m1@ethias.be.eml"]  # no .tmp with the password
