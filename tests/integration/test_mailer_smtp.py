"""The SMTP transport against a real aiosmtpd on loopback: STARTTLS or implicit TLS, AUTH, and the
server answering 4xx, 5xx, dropping the connection in DATA or refusing the recipient. Every message
the server accepted is checked: its envelope and To hold the purpose's recipient and nobody else."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from extranet_intake.mailer.outbox import OutboxMessage
from extranet_intake.mailer.purposes import Event, Purpose
from extranet_intake.mailer.send import Sender, SendSettings
from extranet_intake.mailer.transports import Envelope, Security, SmtpSettings, SmtpTransport
from extranet_intake.parsers.validate import email_address
from tests.fixtures.mailer import FakeClock, MailDb, make_mail_db
from tests.fixtures.smtp import Received, SmtpServer

PW = re.compile(r"(?:wachtwoord|temporaire) ?: +(\S+)")
JAN = "jan.peeters@acme.be"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[MailDb]:
    # SQLite is enough here: the database side is covered on both engines in test_mailer_outbox
    yield from make_mail_db("sqlite", tmp_path)


def _transport(server: SmtpServer, **kw: object) -> SmtpTransport:
    security = Security.IMPLICIT if server.implicit_tls else Security.STARTTLS
    settings = SmtpSettings(
        host=server.host,
        port=server.port,
        security=security,
        user=server.user,
        password=server.password,
        ca_file=str(server.ca_file),
        timeout_seconds=10,
        **kw,
    )  # type: ignore[arg-type]
    return SmtpTransport(settings)


def _queue(db: MailDb, clock: FakeClock, *, n_users: int = 1) -> None:
    with db.session() as s:
        db.world.add_account(s, "EAP1", JAN, "Jan Peeters", "nl")
        for i in range(2, n_users + 1):
            db.world.add_account(s, f"EAP{i}", f"user{i}@acme.be", f"User {i}", "fr")
        outbox = db.world.outbox(clock)
        for i in range(1, n_users + 1):
            outbox.enqueue(
                s,
                purpose=Purpose.CREDENTIALS,
                ref=f"EAP{i}",
                event=Event.ACCOUNT_OPENED,
                params={"login": f"EAP{i}"},
                key=f"c{i}",
            )
        s.commit()


def _only_recipient(got: Received, address: str) -> str:
    """Assert the envelope and headers name exactly ``address``; return the password in the text."""
    assert got.rcpt_tos == [address]
    assert got.mail_from == "extranet2P@ethias.be"
    msg = got.message
    assert [a.addr_spec for a in msg["To"].addresses] == [address]
    for header in ("Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"):
        assert msg[header] is None
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = PW.search(text)
    assert found is not None
    return found.group(1)


def _row(db: MailDb) -> OutboxMessage:
    with db.session() as s:
        return s.exec(select(OutboxMessage)).one()


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
async def test_success_with_tls_and_auth(
    db: MailDb, smtp_server: SmtpServer, smtps_server: SmtpServer, tls: str
) -> None:
    server = smtp_server if tls == "starttls" else smtps_server
    clock = FakeClock()
    _queue(db, clock)
    transport = _transport(server)
    report = await Sender(db.engine, ports=db.world.ports(), transport=transport, clock=clock).drain()
    await transport.aclose()
    assert len(report.sent) == 1
    [got] = server.messages
    password = _only_recipient(got, JAN)
    assert server.handler.auth_ok == 1
    row = _row(db)
    assert (row.status, row.attempts, row.message_id) == ("sent", 1, got.message["Message-ID"])
    with db.session() as s:
        assert db.world.verify(s, "EAP1", password)


async def test_a_4xx_is_retried_after_backoff_then_delivered(db: MailDb, smtp_server: SmtpServer) -> None:
    clock = FakeClock()
    _queue(db, clock)
    smtp_server.defer_next()
    sender = Sender(
        db.engine,
        ports=db.world.ports(),
        transport=_transport(smtp_server),
        clock=clock,
        settings=SendSettings(backoff_seconds=300),
    )
    first = await sender.drain()
    assert len(first.retrying) == 1
    assert "451" in first.errors[first.retrying[0]]
    row = _row(db)
    assert row.status == "queued"
    assert row.next_attempt_at == clock.now + timedelta(seconds=300)
    clock.advance(seconds=301)
    second = await sender.drain()
    assert len(second.sent) == 1
    assert len(smtp_server.rejected) == 1
    [got] = smtp_server.messages
    password = _only_recipient(got, JAN)
    with db.session() as s:
        # the deferred mail's password died when the retry issued a new one
        deferred_pw = _only_recipient(smtp_server.rejected[0], JAN)
        assert deferred_pw != password
        assert not db.world.verify(s, "EAP1", deferred_pw)
        assert db.world.verify(s, "EAP1", password)
    assert _row(db).attempts == 2


class _Paused:
    """The real SMTP transport, in a sender paused before the hand-over (a stalled host, a long GC)
    until ``resume``: long enough for its lease to run out and another sender to take the row."""

    def __init__(self, inner: SmtpTransport) -> None:
        self.inner = inner
        self.paused = asyncio.Event()
        self.resume = asyncio.Event()

    async def send(self, envelope: Envelope) -> None:
        self.paused.set()
        await self.resume.wait()
        await self.inner.send(envelope)


@pytest.mark.parametrize("late_attempt", ["accepted", "deferred"])
async def test_a_sender_past_its_lease_leaves_the_row_to_the_one_that_took_it(
    db: MailDb, smtp_server: SmtpServer, late_attempt: str
) -> None:
    clock = FakeClock()
    _queue(db, clock)
    slow = _Paused(_transport(smtp_server))
    late = asyncio.create_task(Sender(db.engine, ports=db.world.ports(), transport=slow, clock=clock).drain())
    await slow.paused.wait()
    clock.advance(seconds=SendSettings().lease_seconds + 1)
    taker = await Sender(db.engine, ports=db.world.ports(), transport=_transport(smtp_server), clock=clock).drain()
    assert len(taker.sent) == 1
    taken = _row(db)
    if late_attempt == "deferred":
        smtp_server.defer_next()
    slow.resume.set()
    late_report = await late
    await slow.inner.aclose()
    row = _row(db)
    assert (row.status, row.message_id, row.attempts) == ("sent", taken.message_id, 2)  # untouched
    clock.advance(days=1)
    assert (
        await Sender(db.engine, ports=db.world.ports(), transport=_transport(smtp_server), clock=clock).drain()
    ).sent == []  # never queued again: no third password
    passwords = [_only_recipient(got, JAN) for got in smtp_server.messages]
    with db.session() as s:
        assert db.world.verify(s, "EAP1", passwords[0])  # the taker's mail carries the one that works
        assert not any(db.world.verify(s, "EAP1", pw) for pw in passwords[1:])
        actions = db.world.actions(s)
        sent = [(r.reason, r.details["message_id"]) for r in db.world.audit_rows(s) if r.action == "mail_sent"]
    if late_attempt == "accepted":
        assert len(late_report.sent) == 1
        assert len(passwords) == 2
        assert actions[-2:] == ["mail_sent", "mail_sent"]  # both mails that left are on record, each by its own id
        assert sent == [
            ("account_opened sent", smtp_server.messages[0].message["Message-ID"]),
            (
                "account_opened sent after its lease ran out; the row was taken over",
                smtp_server.messages[1].message["Message-ID"],
            ),
        ]
    else:
        assert late_report.sent == late_report.failed == []
        assert len(passwords) == 1
        assert actions[-1] == "mail_sent"


async def test_a_5xx_fails_for_good_and_is_audited(db: MailDb, smtp_server: SmtpServer) -> None:
    clock = FakeClock()
    _queue(db, clock)
    smtp_server.reject_next()
    sender = Sender(db.engine, ports=db.world.ports(), transport=_transport(smtp_server), clock=clock)
    report = await sender.drain()
    assert len(report.failed) == 1
    row = _row(db)
    assert row.status == "failed"
    assert "554" in (row.last_error or "")
    clock.advance(days=2)
    assert (await sender.drain()).sent == []
    assert smtp_server.messages == []
    with db.session() as s:
        assert db.world.actions(s)[-1] == "mail_failed"


async def test_a_connection_dropped_during_data_is_retried(db: MailDb, smtp_server: SmtpServer) -> None:
    clock = FakeClock()
    _queue(db, clock)
    smtp_server.drop_next()
    sender = Sender(db.engine, ports=db.world.ports(), transport=_transport(smtp_server), clock=clock)
    first = await sender.drain()
    assert len(first.retrying) == 1
    assert "smtp-disconnected" in first.errors[first.retrying[0]]
    assert len(smtp_server.dropped) == 1
    clock.advance(minutes=5)
    assert len((await sender.drain()).sent) == 1
    [got] = smtp_server.messages
    password = _only_recipient(got, JAN)
    with db.session() as s:
        assert not db.world.verify(s, "EAP1", _only_recipient(smtp_server.dropped[0], JAN))
        assert db.world.verify(s, "EAP1", password)


async def test_a_refused_recipient_fails_without_retry(db: MailDb, smtp_server: SmtpServer) -> None:
    clock = FakeClock()
    _queue(db, clock)
    smtp_server.refuse(JAN)
    report = await Sender(db.engine, ports=db.world.ports(), transport=_transport(smtp_server), clock=clock).drain()
    assert len(report.failed) == 1
    assert "smtp-recipient-refused" in report.errors[report.failed[0]]
    assert "550" in report.errors[report.failed[0]]
    assert smtp_server.messages == []
    assert _row(db).status == "failed"


async def test_a_refused_login_to_the_relay_is_retried_not_failed(db: MailDb, smtp_server: SmtpServer) -> None:
    clock = FakeClock()
    _queue(db, clock)
    transport = SmtpTransport(
        SmtpSettings(
            host=smtp_server.host,
            port=smtp_server.port,
            user="mailer",
            password="wrong",
            ca_file=str(smtp_server.ca_file),
        )
    )
    report = await Sender(db.engine, ports=db.world.ports(), transport=transport, clock=clock).drain()
    assert len(report.retrying) == 1
    assert "smtp-auth" in report.errors[report.retrying[0]]
    with db.session() as s:
        # the password made for the mail that never left is dead by the next attempt at the latest
        assert db.world.active_hashes(s, "EAP1") == 1


async def test_connections_are_reused_and_bounded(db: MailDb, smtp_server: SmtpServer) -> None:
    clock = FakeClock()
    _queue(db, clock, n_users=12)
    transport = _transport(smtp_server, concurrency=3)
    report = await Sender(
        db.engine, ports=db.world.ports(), transport=transport, clock=clock, settings=SendSettings(concurrency=6)
    ).drain()
    await transport.aclose()
    assert len(report.sent) == 12
    assert transport.connections_opened <= 3
    assert smtp_server.handler.auth_ok == transport.connections_opened
    seen = {}
    for got in smtp_server.messages:
        (rcpt,) = got.rcpt_tos
        _only_recipient(got, rcpt)
        seen[rcpt] = got
    assert set(seen) == {JAN} | {f"user{i}@acme.be" for i in range(2, 13)}


async def test_an_idna_domain_the_fiche_validator_keeps_is_delivered(db: MailDb, smtp_server: SmtpServer) -> None:
    # issue 13.2: a domain written in its ASCII (IDNA) form is what the validator keeps for
    # ``jan@xn--drieliden-q6a.example``; the mailer must really send to it, not only accept it
    address = email_address("Jan@XN--DRIELIDEN-Q6A.example")
    assert address == "Jan@xn--drieliden-q6a.example"
    clock = FakeClock()
    with db.session() as s:
        db.world.add_account(s, "EAP1", address, "Jan", "nl")
        db.world.outbox(clock).enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP1", event=Event.ACCOUNT_OPENED, params={"login": "EAP1"}, key="c1"
        )
        s.commit()
    transport = _transport(smtp_server)
    report = await Sender(db.engine, ports=db.world.ports(), transport=transport, clock=clock).drain()
    await transport.aclose()
    assert len(report.sent) == 1
    [got] = smtp_server.messages
    _only_recipient(got, address)
