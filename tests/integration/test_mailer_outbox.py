"""The outbox on SQLite and PostgreSQL: idempotent enqueue in the caller's transaction, recipient
checks at queue and send time, leased claims, the file transport and re-issued credentials."""

from __future__ import annotations

import re
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from extranet_intake.errors import MailerError
from extranet_intake.mailer.outbox import OutboxMessage, OutboxStatus, QueuedMail, claim_due
from extranet_intake.mailer.purposes import Event, Purpose
from extranet_intake.mailer.send import Sender, SendSettings
from extranet_intake.mailer.transports import FileTransport
from tests.fixtures.mailer import FakeClock, MailDb

PW = re.compile(r"(?:wachtwoord|temporaire) ?: +(\S+)")


def _rows(db: MailDb) -> list[OutboxMessage]:
    with db.session() as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def _seed(db: MailDb) -> None:
    with db.session() as s:
        db.world.add_account(s, "EAP1", "jan.peeters@acme.be", "Jan Peeters", "nl")
        db.world.add_account(s, "EAP2", "marie.dubois@acme.be", "Marie Dubois", "fr")
        db.world.add_org(
            s,
            "0644695949",
            notification="extranet@acme.be",
            mu_email="an.claes@acme.be",
            mu_name="An Claes",
            mu_language="nl",
        )
        s.commit()


def test_enqueue_is_idempotent_by_key(mail_db: MailDb) -> None:
    _seed(mail_db)
    outbox = mail_db.world.outbox(FakeClock())
    with mail_db.session() as s:
        a = outbox.enqueue(
            s,
            purpose=Purpose.CREDENTIALS,
            ref="EAP1",
            event=Event.ACCOUNT_OPENED,
            params={"login": "EAP1"},
            key="cred:EAP1:1",
        )
        b = outbox.enqueue(
            s,
            purpose=Purpose.CREDENTIALS,
            ref="EAP1",
            event=Event.ACCOUNT_OPENED,
            params={"login": "EAP1"},
            key="cred:EAP1:1",
        )
        assert a.id == b.id
        first_id = a.id
        s.commit()
    with mail_db.session() as s:
        again = outbox.enqueue(
            s,
            purpose=Purpose.CREDENTIALS,
            ref="EAP1",
            event=Event.ACCOUNT_OPENED,
            params={"login": "EAP1"},
            key="cred:EAP1:1",
        )
        assert again.id == first_id
        with pytest.raises(MailerError) as info:
            outbox.enqueue(
                s,
                purpose=Purpose.CREDENTIALS,
                ref="EAP2",
                event=Event.ACCOUNT_OPENED,
                params={"login": "EAP2"},
                key="cred:EAP1:1",
            )
        assert info.value.code == "mail-key-conflict"
        s.commit()
        assert mail_db.world.actions(s) == ["mail_queued"]
    [row] = _rows(mail_db)
    assert (row.status, row.recipient, row.language) == ("queued", "jan.peeters@acme.be", "nl")


def test_enqueue_lives_and_dies_with_the_callers_transaction(mail_db: MailDb) -> None:
    _seed(mail_db)
    outbox = mail_db.world.outbox(FakeClock())
    with mail_db.session() as s:
        outbox.enqueue(
            s,
            purpose=Purpose.ORG_NOTICE,
            ref="0644695949",
            event=Event.ACCESS_OPENED,
            params={"org_name": "Acme"},
            key="open:0644695949",
        )
        s.rollback()
    assert _rows(mail_db) == []
    with mail_db.session() as s:
        assert mail_db.world.actions(s) == []


def test_a_purpose_without_its_recipient_is_refused_and_audited(mail_db: MailDb) -> None:
    _seed(mail_db)
    with mail_db.session() as s:
        mail_db.world.add_org(s, "0203201340", notification=None, mu_email="bad address@x.be")
        outbox = mail_db.world.outbox(FakeClock())
        r1 = outbox.enqueue(
            s,
            purpose=Purpose.ORG_NOTICE,
            ref="0203201340",
            event=Event.ACCESS_OPENED,
            params={"org_name": "X"},
            key="k1",
        )
        r2 = outbox.enqueue(
            s,
            purpose=Purpose.MASTER_USER_NOTICE,
            ref="0203201340",
            event=Event.EXPIRY_COMING,
            params={"org_name": "X", "accounts": []},
            key="k2",
        )
        r3 = outbox.enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="NOPE", event=Event.ACCOUNT_OPENED, params={"login": "NOPE"}, key="k3"
        )
        s.commit()
        assert [r.status for r in (r1, r2, r3)] == ["refused"] * 3
        assert mail_db.world.actions(s) == ["mail_refused"] * 3


def test_claims_are_exclusive_and_a_dead_senders_lease_runs_out(mail_db: MailDb) -> None:
    _seed(mail_db)
    clock = FakeClock()
    with mail_db.session() as s:
        mail_db.world.outbox(clock).enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP1", event=Event.ACCOUNT_OPENED, params={"login": "EAP1"}, key="a"
        )
        s.commit()
    from datetime import timedelta

    lease = timedelta(minutes=10)
    with mail_db.session() as s1, mail_db.session() as s2:
        first = claim_due(s1, now=clock(), lease=lease, limit=10)
        second = claim_due(s2, now=clock(), lease=lease, limit=10)
    assert len(first) == 1
    assert second == []
    with mail_db.session() as s:
        assert claim_due(s, now=clock.now + timedelta(minutes=9), lease=lease, limit=10) == []
        again = claim_due(s, now=clock.now + timedelta(minutes=11), lease=lease, limit=10)
    assert [i for i, _ in again] == [first[0][0]]
    [row] = _rows(mail_db)
    assert row.attempts == 2
    assert row.status == "sending"
    assert row.last_error is not None
    assert "lease expired" in row.last_error


def test_a_row_another_sender_claims_between_the_look_up_and_the_claim_is_left_to_it(mail_db: MailDb) -> None:
    """The claim is one compare-and-set UPDATE for the whole batch: rows that stopped being due after the
    SELECT saw them are neither updated nor handed out (on PostgreSQL, where two senders may interleave;
    SQLite's sender holds the write lock from its first statement, so nothing can come in between)."""
    if mail_db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises claims with BEGIN IMMEDIATE: no interleaving to provoke")
    _seed(mail_db)
    clock = FakeClock()
    with mail_db.session() as s:
        outbox = mail_db.world.outbox(clock)
        for login in ("EAP1", "EAP2"):  # two accounts: a second mail to one account would supersede the first
            outbox.enqueue(
                s,
                purpose=Purpose.CREDENTIALS,
                ref=login,
                event=Event.ACCOUNT_OPENED,
                params={"login": login},
                key=login,
            )
        s.commit()
    lease = timedelta(minutes=10)
    rival: list[list[tuple[int, object]]] = []

    def claim_in_between(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not rival and statement.lstrip().upper().startswith("SELECT OUTBOX.ID"):
            with mail_db.session() as other:  # another sender, on its own connection, claims one row first
                rival.append(claim_due(other, now=clock(), lease=lease, limit=1))

    with mail_db.session() as s:
        sa.event.listen(s.connection(), "after_cursor_execute", claim_in_between)
        mine = claim_due(s, now=clock(), lease=lease, limit=10)
    [[(taken, _)]] = rival
    assert [row_id for row_id, _ in mine] == [r.id for r in _rows(mail_db) if r.id != taken]
    assert all(r.status == "sending" and r.attempts == 1 for r in _rows(mail_db))


async def test_file_transport_delivers_each_purpose_to_its_one_recipient(mail_db: MailDb, tmp_path: Path) -> None:
    _seed(mail_db)
    clock = FakeClock()
    outbox = mail_db.world.outbox(clock)
    with mail_db.session() as s:
        outbox.enqueue(
            s,
            purpose=Purpose.CREDENTIALS,
            ref="EAP2",
            event=Event.ACCOUNT_OPENED,
            params={"login": "EAP2", "org_name": "Acme"},
            key="c",
        )
        outbox.enqueue(
            s,
            purpose=Purpose.ORG_NOTICE,
            ref="0644695949",
            event=Event.ACCESS_OPENED,
            params={"org_name": "Acme", "accounts": 2},
            key="o",
        )
        outbox.enqueue(
            s,
            purpose=Purpose.MASTER_USER_NOTICE,
            ref="0644695949",
            event=Event.CHANGES_APPLIED,
            params={
                "org_name": "Acme",
                "changes": [{"change": "account_created", "login": "EAP2", "name": "Marie Dubois"}],
            },
            key="m",
        )
        s.commit()
    out = tmp_path / "outbox"
    sender = Sender(mail_db.engine, ports=mail_db.world.ports(), transport=FileTransport(out), clock=clock)
    report = await sender.drain()
    assert len(report.sent) == 3
    assert report.ok
    want = {"c": "marie.dubois@acme.be", "o": "extranet@acme.be", "m": "an.claes@acme.be"}
    rows = {r.idempotency_key: r for r in _rows(mail_db)}
    for key, address in want.items():
        row = rows[key]
        assert row.status == OutboxStatus.SENT
        assert row.attempts == 1
        assert row.message_id
        eml = FileTransport(out).path_for(row.message_id)
        assert eml.stat().st_mode & 0o777 == 0o600
        msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        assert [a.addr_spec for a in msg["To"].addresses] == [address]
        assert msg["Cc"] is None
        assert msg["Bcc"] is None
    assert len(list(out.glob("*.eml"))) == 3
    assert not list(out.glob(".*"))
    cred = BytesParser(policy=policy.default).parsebytes(
        FileTransport(out).path_for(rows["c"].message_id or "").read_bytes()
    )
    text = cred.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Bonjour Marie Dubois" in text  # her language, French
    password = PW.search(text).group(1)  # type: ignore[union-attr]
    with mail_db.session() as s:
        assert mail_db.world.verify(s, "EAP2", password)
        actions = mail_db.world.actions(s)
        # the three mails go out concurrently (the credentials one waits for its hash meanwhile):
        # their entries interleave, but the password is issued before its mail is sent
        assert actions[:3] == ["mail_queued"] * 3
        assert sorted(actions[3:]) == ["credentials_issued", "mail_sent", "mail_sent", "mail_sent"]
        assert actions[-1] == "mail_sent"
    # nothing more to do: a second drain sends nothing
    assert (await sender.drain()).sent == []


async def test_a_recipient_changed_after_queueing_is_refused_not_sent(mail_db: MailDb, tmp_path: Path) -> None:
    _seed(mail_db)
    clock = FakeClock()
    with mail_db.session() as s:
        mail_db.world.outbox(clock).enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP1", event=Event.ACCOUNT_OPENED, params={"login": "EAP1"}, key="c"
        )
        mail_db.world.set_email(s, "EAP1", "attacker@evil.example")
        s.commit()
    sender = Sender(mail_db.engine, ports=mail_db.world.ports(), transport=FileTransport(tmp_path), clock=clock)
    report = await sender.drain()
    assert len(report.refused) == 1
    assert report.sent == []
    assert list(tmp_path.glob("*.eml")) == []
    [row] = _rows(mail_db)
    assert row.status == "refused"
    assert "changed" in (row.last_error or "")
    with mail_db.session() as s:
        assert mail_db.world.actions(s) == ["mail_queued", "mail_refused"]
        assert mail_db.world.active_hashes(s, "EAP1") == 0  # no password was even made


async def test_reissue_kills_the_previous_temporary_password(mail_db: MailDb, tmp_path: Path) -> None:
    _seed(mail_db)
    clock = FakeClock()
    outbox = mail_db.world.outbox(clock)
    sender = Sender(mail_db.engine, ports=mail_db.world.ports(), transport=FileTransport(tmp_path), clock=clock)
    with mail_db.session() as s:
        outbox.enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP1", event=Event.ACCOUNT_OPENED, params={"login": "EAP1"}, key="c"
        )
        s.commit()
    await sender.drain()
    clock.advance(hours=1)
    with mail_db.session() as s:
        row = outbox.reissue(s, login="EAP1", by="Sofie Wouters")
        s.commit()
        assert row.event == "credentials_reissued"
    await sender.drain()
    passwords = []
    for eml in sorted(tmp_path.glob("*.eml")):
        msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        assert [a.addr_spec for a in msg["To"].addresses] == ["jan.peeters@acme.be"]
        passwords.append(PW.search(msg.get_body(("plain",)).get_content()).group(1))  # type: ignore[union-attr]
    assert len(set(passwords)) == 2
    with mail_db.session() as s:
        assert [mail_db.world.verify(s, "EAP1", p) for p in passwords].count(True) == 1
        assert mail_db.world.active_hashes(s, "EAP1") == 1
        audit = mail_db.world.audit_rows(s)
        assert any(r.actor == "Sofie Wouters" and r.action == "mail_queued" for r in audit)


def test_reissue_for_an_unknown_login_is_an_error(mail_db: MailDb) -> None:
    _seed(mail_db)
    with mail_db.session() as s:
        with pytest.raises(MailerError) as info:
            mail_db.world.outbox(FakeClock()).reissue(s, login="GHOST", by="Sofie")
        assert info.value.code == "mail-no-recipient"


async def test_settings_max_attempts_turns_retries_into_failed(mail_db: MailDb, tmp_path: Path) -> None:
    _seed(mail_db)
    clock = FakeClock()
    with mail_db.session() as s:
        mail_db.world.outbox(clock).enqueue(
            s,
            purpose=Purpose.ORG_NOTICE,
            ref="0644695949",
            event=Event.ACCESS_OPENED,
            params={"org_name": "Acme"},
            key="o",
        )
        s.commit()
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the outbox folder should be")
    sender = Sender(
        mail_db.engine,
        ports=mail_db.world.ports(),
        transport=FileTransport(blocked),
        clock=clock,
        settings=SendSettings(max_attempts=2, backoff_seconds=60),
    )
    r1 = await sender.drain()
    assert len(r1.retrying) == 1
    assert "mail-file-write" in r1.errors[r1.retrying[0]]
    [row] = _rows(mail_db)
    assert row.status == "queued"
    assert row.next_attempt_at is not None
    assert (await sender.drain()).retrying == []  # backoff: not due yet
    clock.advance(seconds=61)
    r2 = await sender.drain()
    assert len(r2.failed) == 1
    with mail_db.session() as s:
        assert mail_db.world.actions(s)[-1] == "mail_failed"
        t = OutboxMessage.__table__  # type: ignore[attr-defined]
        assert s.connection().execute(sa.select(t.c.status, t.c.attempts)).one() == ("failed", 2)


async def test_reissuing_twice_before_the_first_mail_went_out_sends_one_mail(mail_db: MailDb, tmp_path: Path) -> None:
    _seed(mail_db)
    clock = FakeClock()
    outbox = mail_db.world.outbox(clock)
    with mail_db.session() as s:
        outbox.enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP1", event=Event.ACCOUNT_OPENED, params={"login": "EAP1"}, key="c"
        )
        # another account's waiting mail is not touched
        outbox.enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP2", event=Event.ACCOUNT_OPENED, params={"login": "EAP2"}, key="c2"
        )
        s.commit()
    for _ in range(2):
        clock.advance(minutes=5)
        with mail_db.session() as s:
            outbox.reissue(s, login="EAP1", by="Sofie Wouters")
            s.commit()
    sender = Sender(mail_db.engine, ports=mail_db.world.ports(), transport=FileTransport(tmp_path), clock=clock)
    report = await sender.drain()
    assert len(report.sent) == 2  # EAP1 once, EAP2 once
    to_jan = [
        eml
        for eml in tmp_path.glob("*.eml")
        if "jan.peeters@acme.be" in BytesParser(policy=policy.default).parsebytes(eml.read_bytes())["To"]
    ]
    assert len(to_jan) == 1
    rows = [r for r in _rows(mail_db) if r.ref == "EAP1"]
    assert [r.status for r in rows] == ["superseded", "superseded", "sent"]
    assert rows[0].last_error == "mail-superseded"
    with mail_db.session() as s:
        assert mail_db.world.active_hashes(s, "EAP1") == 1
        superseded = [r for r in mail_db.world.audit_rows(s) if r.action == "mail_superseded"]
        assert len(superseded) == 2
        assert {r.actor for r in superseded} == {"Sofie Wouters"}


async def test_the_credentials_mail_states_the_issuers_own_validity(mail_db: MailDb, tmp_path: Path) -> None:
    """One value, the issuer's: the mailer has no validity setting of its own that could drift from it."""
    _seed(mail_db)
    clock = FakeClock()
    mail_db.world.validity = timedelta(hours=5)  # not the default, so a copy of 72 would show
    with mail_db.session() as s:
        mail_db.world.outbox(clock).enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP1", event=Event.ACCOUNT_OPENED, params={"login": "EAP1"}, key="c"
        )
        s.commit()
    out = tmp_path / "outbox"
    report = await Sender(
        mail_db.engine, ports=mail_db.world.ports(), transport=FileTransport(out), clock=clock
    ).drain()
    assert len(report.sent) == 1
    [row] = _rows(mail_db)
    mail = BytesParser(policy=policy.default).parsebytes(FileTransport(out).path_for(row.message_id or "").read_bytes())
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "5 uur geldig" in text


async def test_a_row_that_fails_while_its_batch_is_prepared_costs_only_itself(
    mail_db: MailDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is prepared in one transaction without savepoints; when a row fails there, the batch is
    prepared again with one savepoint per row: the failing row is rolled back alone (no password, no
    Message-ID, no audit entry of it kept) and retried later, the others leave."""
    _seed(mail_db)
    clock = FakeClock()
    outbox = mail_db.world.outbox(clock)
    with mail_db.session() as s:
        for login in ("EAP1", "EAP2"):
            outbox.enqueue(
                s,
                purpose=Purpose.CREDENTIALS,
                ref=login,
                event=Event.ACCOUNT_OPENED,
                params={"login": login},
                key=login,
            )
        s.commit()
    sender = Sender(mail_db.engine, ports=mail_db.world.ports(), transport=FileTransport(tmp_path), clock=clock)
    real = sender._prepare
    calls: list[str] = []

    def failing_for_eap1(session: Any, row_id: int, *args: Any) -> Any:
        row = session.get(OutboxMessage, row_id)
        calls.append(row.ref)
        prepared = real(session, row_id, *args)  # its password stored, its Message-ID set: all rolled back
        if row.ref == "EAP1":
            raise RuntimeError("the template broke")
        return prepared

    monkeypatch.setattr(sender, "_prepare", failing_for_eap1)
    report = await sender.drain(limit=2)
    rows = {r.ref: r for r in _rows(mail_db)}
    assert calls == ["EAP1", "EAP1", "EAP2"]  # the batch once without savepoints, then row by row
    assert report.sent == [rows["EAP2"].id]
    assert report.codes == {rows["EAP1"].id: "mail-internal-error"}
    assert rows["EAP1"].status == OutboxStatus.QUEUED
    assert rows["EAP1"].message_id is None
    assert rows["EAP2"].status == OutboxStatus.SENT
    with mail_db.session() as s:
        assert mail_db.world.active_hashes(s, "EAP1") == 0
        assert mail_db.world.active_hashes(s, "EAP2") == 1
        issued = [r.ref for r in mail_db.world.audit_rows(s) if r.action == "credentials_issued"]
    assert issued == ["EAP2"]


def test_mails_queued_together_supersede_as_mails_queued_one_after_another(mail_db: MailDb) -> None:
    """Two credentials mails of one account in one ``enqueue_many``: the later replaces the earlier, as
    when they are queued by two calls; never the earlier the later, nor each the other."""
    _seed(mail_db)
    clock = FakeClock()
    outbox = mail_db.world.outbox(clock)
    mails = [
        QueuedMail(Purpose.CREDENTIALS, "EAP1", Event.ACCOUNT_OPENED, {"login": "EAP1"}, key)
        for key in ("first", "second")
    ]
    with mail_db.session() as s:
        outbox.enqueue_many(s, mails)
        s.commit()
    status = {r.idempotency_key: r.status for r in _rows(mail_db)}
    assert status == {"first": OutboxStatus.SUPERSEDED, "second": OutboxStatus.QUEUED}
    with mail_db.session() as s:
        assert mail_db.world.actions(s).count("mail_superseded") == 1
