"""The yearly access review (issue 18.2) on both databases: mails, replies believed or refused, reminders, overdue."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, AuditEntry, verify_chain
from extranet_intake.errors import ProvisioningError
from extranet_intake.intake.access_review import daily_review, start_review, status
from extranet_intake.intake.config import Config, MaildirConfig, TrustConfig
from extranet_intake.intake.explode import explode_messages
from extranet_intake.intake.mime import MimeLimits
from extranet_intake.intake.sources.maildir import poll_maildir
from extranet_intake.intake.store import DocumentStore
from extranet_intake.mailer.outbox import OutboxMessage
from extranet_intake.provisioning.access_report import access_report
from extranet_intake.provisioning.access_review import ReviewOrg, ReviewState, reinstate_account
from extranet_intake.provisioning.models import Account, AccountStatus, MasterUser, Organisation, OrgStatus
from tests.fixtures.provisioning import EN, EN2, MU_EMAIL, NOW
from tests.integration.test_intake_files import _deliver
from tests.integration.test_provisioning_flow import open_dossier

OTHER_MU = "boss@other.be"
PASS = "mx.ethias.be; dkim=pass header.d=acme.be; spf=pass; dmarc=pass header.from=acme.be"
EVIL_PASS = "mx.ethias.be; dkim=pass header.d=evil.example; spf=pass; dmarc=pass header.from=evil.example"
OTHER_PASS = "mx.ethias.be; dkim=pass header.d=other.be; spf=pass; dmarc=pass header.from=other.be"


def _codes() -> Any:
    codes = iter(["RV-AAAA-AAAA", "RV-BBBB-BBBB", "RV-CCCC-CCCC", "RV-DDDD-DDDD"])
    return lambda: next(codes)


def _second_org(engine: sa.Engine) -> None:
    """An open organisation without accounts, whose Master User is someone else."""
    with Session(engine) as s:
        s.add(Organisation(enterprise_number=EN2, name="Other BV", status=OrgStatus.OPEN, created_at=NOW))
        s.flush()
        s.add(
            MasterUser(
                enterprise_number=EN2,
                last_name="Boss",
                first_name="Bea",
                email=OTHER_MU,
                language="fr",
                document_sha256="b" * 64,
                approved_by="test",
                approved_at=NOW,
            )
        )
        s.commit()


def _start(engine: sa.Engine, *, at: datetime = NOW, due: date | None = None, org: str | None = None) -> dict[str, Any]:
    with Session(engine) as s:
        result = start_review(s, cfg=Config(), clock=lambda: at, actor="tester", due=due, org=org, new_code=_codes())
        s.commit()
        return result


def _reply(
    *, sender: str, auth: list[str], in_reply_to: str | None, code: str | None, mid: str, subject: str = "Re: toegangen"
) -> bytes:
    msg = EmailMessage()
    for header in auth:
        msg["Authentication-Results"] = header
    msg["From"] = sender
    msg["To"] = "extranet2P@ethias.be"
    msg["Subject"] = subject
    msg["Message-ID"] = mid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content("Akkoord, de lijst klopt.\n\n> Referentie: " + (code or "(geen)") + "\n")
    return msg.as_bytes(policy=SMTP)


def _receive(engine: sa.Engine, tmp_path: Path, raws: list[bytes]) -> None:
    maildir = tmp_path / "Maildir"
    _deliver(maildir, raws)
    store = DocumentStore(tmp_path / "store")
    assert (
        poll_maildir(
            MaildirConfig(path=maildir), store=store, session_factory=lambda: Session(engine), clock=lambda: NOW
        ).errors
        == []
    )
    with Session(engine) as s:
        report = explode_messages(s, store, trust=TrustConfig(), limits=MimeLimits(), clock=lambda: NOW)
    assert report.ok, report.errors


def _entries(engine: sa.Engine, action: AuditAction) -> list[AuditEntry]:
    with Session(engine) as s:
        return list(
            s.exec(select(AuditEntry).where(col(AuditEntry.action) == action.value).order_by(col(AuditEntry.seq)))
        )


def _row(engine: sa.Engine, en: str) -> ReviewOrg:
    with Session(engine) as s:
        return s.exec(
            select(ReviewOrg).where(col(ReviewOrg.enterprise_number) == en).order_by(col(ReviewOrg.id).desc())
        ).first()  # type: ignore[return-value]


def test_a_campaign_mails_each_master_user_its_accounts_with_a_fixed_message_id(
    engine: sa.Engine, tmp_path: Path
) -> None:
    open_dossier(engine, tmp_path)
    _second_org(engine)
    result = _start(engine)
    assert result["sent"] == [EN2, EN] or sorted(result["sent"]) == sorted([EN, EN2])
    assert result["due_date"] == (NOW.date() + timedelta(days=30)).isoformat()
    with Session(engine) as s:
        rows = {r.ref: r for r in s.exec(select(OutboxMessage).where(col(OutboxMessage.event) == "access_review"))}
    assert set(rows) == {EN, EN2}
    mine = rows[EN]
    assert (mine.purpose, mine.recipient, mine.status) == ("master_user_notice", MU_EMAIL, "queued")
    assert mine.message_id
    assert mine.message_id.startswith("<access-review.")
    assert rows[EN2].recipient == OTHER_MU
    assert rows[EN2].language == "fr"
    [account] = mine.params["accounts"]
    assert set(account) >= {"name", "email", "profile", "contracts", "access_end_date"}
    assert account["email"] == "jan.janssens@acme.be"
    assert mine.params["review_code"] == _row(engine, EN).code
    assert _row(engine, EN).message_ids == [mine.message_id]
    assert len(_entries(engine, AuditAction.ACCESS_REVIEW_STARTED)) == 1
    assert {e.org for e in _entries(engine, AuditAction.ACCESS_REVIEW_REQUESTED)} == {EN, EN2}
    # a second start while the first waits leaves both organisations out
    again = _start(engine)
    assert again["sent"] == []
    assert {s["reason"] for s in again["skipped"]} == {"review-already-waiting"}
    with Session(engine) as s:
        assert verify_chain(s.connection()).ok


@pytest.mark.parametrize(
    ("case", "sender", "auth", "expected"),
    [
        ("another sender", "attacker@evil.example", [EVIL_PASS], "sender-not-master-user"),
        ("dmarc fail", MU_EMAIL, ["mx.ethias.be; dmarc=fail header.from=acme.be"], "sender-not-authenticated"),
        (
            "forged results from an untrusted host",
            MU_EMAIL,
            ["mx.evil.example; dmarc=pass header.from=acme.be"],
            "sender-not-authenticated",
        ),
        ("display-name trick", f'"{MU_EMAIL}" <attacker@evil.example>', [EVIL_PASS], "sender-not-master-user"),
        # read as no usable From at all (mime._sender): refused before any address is compared
        (
            "encoded display-name trick",
            "=?utf-8?q?marie.peeters=40acme.be?= <attacker@evil.example>",
            [EVIL_PASS],
            "not-mailed-by-master-user",
        ),
    ],
)
def test_a_forged_confirmation_is_refused_and_changes_nothing(
    engine: sa.Engine, tmp_path: Path, case: str, sender: str, auth: list[str], expected: str
) -> None:
    open_dossier(engine, tmp_path)
    _start(engine)
    row = _row(engine, EN)
    _receive(
        engine,
        tmp_path,
        [_reply(sender=sender, auth=auth, in_reply_to=row.message_ids[0], code=row.code, mid="<forged@evil.example>")],
    )
    assert _row(engine, EN).state == ReviewState.SENT.value, case
    [refused] = _entries(engine, AuditAction.ACCESS_REVIEW_REPLY_REFUSED)
    assert json.loads(refused.details)["code"] == expected, case
    assert _entries(engine, AuditAction.ACCESS_REVIEW_CONFIRMED) == []


def test_replies_for_another_organisation_or_without_the_code_are_refused_then_the_real_one_confirms(
    engine: sa.Engine, tmp_path: Path
) -> None:
    open_dossier(engine, tmp_path)
    _second_org(engine)
    _start(engine)
    mine, theirs = _row(engine, EN), _row(engine, EN2)
    _receive(
        engine,
        tmp_path,
        [
            # my Master User answers my mail but with the other organisation's code
            _reply(sender=MU_EMAIL, auth=[PASS], in_reply_to=mine.message_ids[0], code=theirs.code, mid="<r1@acme.be>"),
            # the other Master User, authenticated, answers my organisation's mail with my code
            _reply(
                sender=OTHER_MU, auth=[OTHER_PASS], in_reply_to=mine.message_ids[0], code=mine.code, mid="<r2@other.be>"
            ),
            # my Master User, authenticated, with my code but not in reply to the campaign's mail
            _reply(sender=MU_EMAIL, auth=[PASS], in_reply_to=None, code=mine.code, mid="<r3@acme.be>"),
        ],
    )
    codes = sorted(json.loads(e.details)["code"] for e in _entries(engine, AuditAction.ACCESS_REVIEW_REPLY_REFUSED))
    assert codes == ["review-reply-code-mismatch", "review-reply-incomplete", "sender-not-master-user"]
    assert (_row(engine, EN).state, _row(engine, EN2).state) == ("sent", "sent")

    _receive(
        engine,
        tmp_path / "2",
        [_reply(sender=MU_EMAIL, auth=[PASS], in_reply_to=mine.message_ids[0], code=mine.code, mid="<ok@acme.be>")],
    )
    row = _row(engine, EN)
    assert row.state == ReviewState.CONFIRMED.value
    assert row.answer_message_id == "<ok@acme.be>"
    [confirmed] = _entries(engine, AuditAction.ACCESS_REVIEW_CONFIRMED)
    assert confirmed.org == EN
    assert confirmed.actor == MU_EMAIL
    assert json.loads(confirmed.details)["logins"] == mine.logins
    assert mine.logins
    assert _row(engine, EN2).state == "sent"


def test_reminders_once_each_then_overdue_suspends_without_deleting(engine: sa.Engine, tmp_path: Path) -> None:
    open_dossier(engine, tmp_path)
    due = NOW.date() + timedelta(days=10)
    _start(engine, due=due)
    cfg = Config()
    cfg.access_review.suspend_overdue = True

    def day(offset: int) -> dict[str, Any]:
        at = datetime.combine(due + timedelta(days=offset), NOW.timetz())
        with Session(engine) as s:
            result = daily_review(s, cfg=cfg, clock=lambda: at)
            s.commit()
            return result

    assert day(-8)["reminders"] == []
    assert day(-7)["reminders"] == [EN]
    assert day(-6)["reminders"] == []  # once
    assert day(-1)["reminders"] == [EN]
    assert day(0)["reminders"] == []
    assert day(0)["overdue"] == []
    row = _row(engine, EN)
    assert (row.state, row.reminded, len(row.message_ids)) == ("reminded", [1, 7], 3)
    with Session(engine) as s:
        events = [
            r.event
            for r in s.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.ref) == EN)
                .where(col(OutboxMessage.event).like("access_review%"))
            )
        ]
    assert sorted(events) == ["access_review", "access_review_reminder", "access_review_reminder"]

    late = day(1)
    assert [o["org"] for o in late["newly_overdue"]] == [EN]
    assert [o["org"] for o in late["overdue"]] == [EN]
    assert len(late["suspended"]) == 1
    with Session(engine) as s:
        account = s.get(Account, late["suspended"][0])
        assert account is not None
        assert account.status == AccountStatus.SUSPENDED
    [suspended] = _entries(engine, AuditAction.ACCOUNT_SUSPENDED)
    assert json.loads(suspended.details)["campaign"] == row.campaign_id
    assert str(row.campaign_id) in suspended.reason
    assert len(_entries(engine, AuditAction.ACCESS_REVIEW_OVERDUE)) == 1
    assert day(2)["newly_overdue"] == []
    assert [o["org"] for o in day(2)["overdue"]] == [EN]
    with Session(engine) as s:
        shown = status(s)
    assert shown["campaigns"][0]["counts"]["overdue"] == 1
    assert shown["overdue"][0]["org"] == EN


def test_overdue_without_suspension_by_default(engine: sa.Engine, tmp_path: Path) -> None:
    open_dossier(engine, tmp_path)
    due = NOW.date() + timedelta(days=3)
    _start(engine, due=due)
    with Session(engine) as s:
        late = daily_review(s, cfg=Config(), clock=lambda: datetime.combine(due + timedelta(days=1), NOW.timetz()))
        s.commit()
        assert late["suspended"] == []
        assert [o["org"] for o in late["overdue"]] == [EN]
        assert s.exec(select(Account)).first().status == AccountStatus.ACTIVE  # type: ignore[union-attr]
    # a 3-day campaign gets no 7-day reminder: its point had passed when the request left
    assert _row(engine, EN).reminded == []


def test_a_campaign_refuses_a_past_due_date_and_an_organisation_that_is_not_open(
    engine: sa.Engine, tmp_path: Path
) -> None:
    from extranet_intake.errors import ProvisioningError

    open_dossier(engine, tmp_path)
    with pytest.raises(ProvisioningError) as past:
        _start(engine, due=NOW.date())
    assert past.value.code == "review-due-date-past"
    with pytest.raises(ProvisioningError) as unknown:
        _start(engine, org=EN2)
    assert unknown.value.code == "review-org-not-open"
    with Session(engine) as s:
        assert s.exec(select(ReviewOrg)).first() is None
        assert _entries(engine, AuditAction.ACCESS_REVIEW_STARTED) == []


def test_a_suspended_account_is_reinstated_by_a_person_and_access_counts_again(
    engine: sa.Engine, tmp_path: Path
) -> None:
    open_dossier(engine, tmp_path)
    due = NOW.date() + timedelta(days=3)
    _start(engine, due=due)
    cfg = Config()
    cfg.access_review.suspend_overdue = True
    late_at = datetime.combine(due + timedelta(days=1), NOW.timetz())
    with Session(engine) as s:
        [login] = daily_review(s, cfg=cfg, clock=lambda: late_at)["suspended"]
        s.commit()
    back_at = late_at + timedelta(days=2)
    with Session(engine) as s:
        with pytest.raises(ProvisioningError) as no_reason:
            reinstate_account(s, login, by="rita", reason=" ", now=back_at)
        assert no_reason.value.code == "reinstate-reason-missing"
        reinstate_account(
            s, login, by="rita", reason="Master User confirmed by phone", now=back_at, signed={"os_user": "ops"}
        )
        s.commit()
        assert s.get(Account, login).status == AccountStatus.ACTIVE  # type: ignore[union-attr]
        with pytest.raises(ProvisioningError) as active:
            reinstate_account(s, login, by="rita", reason="again", now=back_at)
        assert active.value.code == "account-not-suspended"
        with pytest.raises(ProvisioningError) as unknown:
            reinstate_account(s, "EAPNOBODY", by="rita", reason="x", now=back_at)
        assert unknown.value.code == "account-not-found"
    [entry] = _entries(engine, AuditAction.ACCOUNT_REINSTATED)
    details = json.loads(entry.details)
    assert (entry.actor, entry.login, entry.org, entry.reason) == ("rita", login, EN, "Master User confirmed by phone")
    assert details["os_user"] == "ops"
    assert {"profile", "scope", "contracts"} <= set(details)
    # the audit's access answer: no access while suspended, access again from the reinstatement
    with engine.connect() as conn:
        assert [g.login for g in access_report(conn, at=late_at + timedelta(days=1), org=EN)] == []
        again = access_report(conn, at=back_at + timedelta(days=1), org=EN)
        assert [(g.login, g.since) for g in again] == [(login, back_at)]
        assert verify_chain(conn).ok


def test_users_reinstate_on_the_command_line_is_signed_by_an_active_staff_account(
    engine: sa.Engine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from extranet_intake.intake.cli import main

    open_dossier(engine, tmp_path)
    due = NOW.date() + timedelta(days=3)
    _start(engine, due=due)
    cfg = Config()
    cfg.access_review.suspend_overdue = True
    with Session(engine) as s:
        [login] = daily_review(s, cfg=cfg, clock=lambda: datetime.combine(due + timedelta(days=1), NOW.timetz()))[
            "suspended"
        ]
        s.commit()
    conf = tmp_path / "cli.toml"
    conf.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    argv = ["users", "reinstate", login, "--reason", "confirmed by phone", "-c", str(conf), "--json"]
    assert main([*argv, "--by", "Rita Typed"]) == 1
    assert "staff-unknown" in capsys.readouterr().err
    assert main(["staff", "add", "rita", "--role", "reviewer", "-c", str(conf)]) == 0
    capsys.readouterr()
    assert main([*argv, "--by", "rita"]) == 0
    assert json.loads(capsys.readouterr().out) == {"login": login, "status": "active", "by": "rita"}
    [entry] = _entries(engine, AuditAction.ACCOUNT_REINSTATED)
    assert entry.actor == "rita"
    assert json.loads(entry.details)["signed_via"] == "cli"
