"""Provisioning against a real database (SQLite and PostgreSQL): full flows, idempotency, review, secrets."""

from __future__ import annotations

import itertools
import json
import logging
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from extranet_intake.auditchain.chain import AuditAction, AuditEntry, verify_chain
from extranet_intake.errors import ReviewError
from extranet_intake.parsers.result import Channel, ParsedForm
from extranet_intake.provisioning.apply import apply_plan
from extranet_intake.provisioning.directory import master_user_contact, notification_contact, user_contact
from extranet_intake.provisioning.logins import LOGIN_ALPHABET, LOGIN_PREFIX, allocate_login, make_login
from extranet_intake.provisioning.models import (
    Account,
    AccountStatus,
    Credential,
    DossierForm,
    FormStatus,
    LegacyAccount,
    Organisation,
    OrgStatus,
    ReviewItem,
    ReviewStatus,
)
from extranet_intake.provisioning.passwords import (
    MIN_PASSWORD_LENGTH,
    PASSWORD_ALPHABET,
    issue_temporary_password,
    verify_password,
    verify_temporary_password,
)
from extranet_intake.provisioning.plan import MailEvent, MailKind, PlanOutcome
from extranet_intake.provisioning.reference import import_contracts_file, import_legacy_file
from extranet_intake.provisioning.review import approve, list_reviews, reject
from extranet_intake.provisioning.service import Decision, decide, process_form, run_expiries
from extranet_intake.provisioning.views import list_orgs, show_org, show_user
from tests.fixtures.provisioning import EN, EN2, MU_EMAIL, NOTIFY, NOW, agr, clock, end_in, mu, prov, usr

REVIEWER = "An Reviewer"


def receive(engine: sa.Engine, form: ParsedForm, **p: Any) -> Decision:
    with Session(engine) as session:
        decision = process_form(session, form, prov(form, **p), clock=clock)
        session.commit()
        return decision


def approve_item(engine: sa.Engine, sha: str | None, **kw: Any) -> Decision:
    with Session(engine) as session:
        item = session.exec(select(ReviewItem).where(col(ReviewItem.document_sha256) == sha)).one()
        decision = approve(session, item.id or 0, by=REVIEWER, clock=clock, **kw)
        session.commit()
        return decision


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def load_reference(engine: sa.Engine, tmp_path: Path) -> None:
    contracts = write_csv(
        tmp_path / "contracts.csv",
        [
            "enterprise_number;contract_number;contract_name",
            f"{EN};GV-100;Groep A",
            f"{EN};GV-200;Groep B",
            f"{EN2};GV-900;Other org",
        ],
    )
    legacy = write_csv(
        tmp_path / "legacy.csv",
        [
            "login,enterprise_number,last_name,first_name,email",
            f"acme01,{EN},Oud,Jan,jan.oud@acme.be",
            f"other01,{EN2},Ander,Piet,piet@other.be",
        ],
    )
    with Session(engine) as session:
        assert import_contracts_file(session, contracts, clock=clock).ok
        assert import_legacy_file(session, legacy, clock=clock).ok
        session.commit()


def open_dossier(engine: sa.Engine, tmp_path: Path, *, user: ParsedForm | None = None) -> Decision:
    load_reference(engine, tmp_path)
    a, m = agr(), mu()
    assert receive(engine, a).outcome is PlanOutcome.REVIEW
    assert receive(engine, m).outcome is PlanOutcome.REVIEW
    assert receive(engine, user or usr()).outcome is PlanOutcome.WAITING  # mailed from the pending MU's address
    approve_item(engine, a.sha256)
    return approve_item(engine, m.sha256)


def dump_everything(engine: sa.Engine) -> str:
    """Every value of every row of every table, as text."""
    out: list[str] = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in sa.inspect(conn).get_table_names():
                out.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    return "\n".join(out)


def test_full_flow_opens_dossier_and_no_temporary_password_is_stored_anywhere(
    engine: sa.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    opened = open_dossier(engine, tmp_path)
    assert opened.outcome is PlanOutcome.APPLIED
    kinds = sorted((m.kind, m.event) for m in opened.mails)
    assert kinds == sorted(
        [
            (MailKind.CREDENTIALS, MailEvent.ACCOUNT_OPENED),
            (MailKind.ORG_NOTICE, MailEvent.ACCESS_OPENED),
            (MailKind.MASTER_USER_NOTICE, MailEvent.CHANGES_APPLIED),
        ]
    )
    creds = next(m for m in opened.mails if m.kind is MailKind.CREDENTIALS)
    login = creds.login or ""
    assert login.startswith(LOGIN_PREFIX)
    # no secret, and whom the person may call if the mail was not expected (issue 16.5)
    assert creds.params == {
        "login": login,
        "org_name": "Acme NV",
        "enterprise_number": EN,
        "master_user": "Marie Peeters",
    }
    with Session(engine) as session:
        assert session.get(Organisation, EN).status == OrgStatus.OPEN  # type: ignore[union-attr]
        assert session.get(LegacyAccount, "acme01").revoked_at is not None  # type: ignore[union-attr]
        assert session.get(LegacyAccount, "other01").revoked_at is None  # type: ignore[union-attr]
        # send time: the mailer asks who may receive what, then makes the password
        assert user_contact(session, login).email == "jan.janssens@acme.be"  # type: ignore[union-attr]
        assert notification_contact(session, EN).email == NOTIFY  # type: ignore[union-attr]
        assert master_user_contact(session, EN).email == MU_EMAIL  # type: ignore[union-attr]
        password = issue_temporary_password(
            session, login, clock=clock, rng=random.Random(7), validity=timedelta(hours=72)
        )
        session.commit()
    assert len(password) >= MIN_PASSWORD_LENGTH
    assert set(password) <= set(PASSWORD_ALPHABET)
    everything = dump_everything(engine)
    assert password not in everything
    assert password not in caplog.text
    with Session(engine) as session:
        (cred,) = session.exec(select(Credential).where(col(Credential.login) == login)).all()
        assert cred.password_hash.startswith("$argon2id$")
        assert verify_password(cred.password_hash, password)
        assert not verify_password(cred.password_hash, password + "x")
        assert cred.must_change
        # single use
        later = lambda: NOW + timedelta(hours=1)  # noqa: E731
        assert verify_temporary_password(session, login, password, clock=later)
        assert not verify_temporary_password(session, login, password, clock=later)
        with engine.connect() as conn:
            assert verify_chain(conn).first_bad_seq is None
        actions = [e.action for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))]
    assert {
        AuditAction.DOSSIER_OPENED,
        AuditAction.ACCOUNT_CREATED,
        AuditAction.LEGACY_REVOKED,
        AuditAction.REVIEW_APPROVED,
        AuditAction.REVIEW_QUEUED,
    } <= set(actions)


def test_temporary_password_expires_and_reissue_kills_the_old_one(engine: sa.Engine, tmp_path: Path) -> None:
    opened = open_dossier(engine, tmp_path)
    login = next(m.login for m in opened.mails if m.kind is MailKind.CREDENTIALS) or ""
    with Session(engine) as session:
        first = issue_temporary_password(session, login, clock=clock, validity=timedelta(hours=72))
        second = issue_temporary_password(session, login, clock=clock, validity=timedelta(hours=72))
        assert first != second
        assert not verify_temporary_password(session, login, first, clock=clock)
        too_late = lambda: NOW + timedelta(hours=73)  # noqa: E731
        assert not verify_temporary_password(session, login, second, clock=too_late)
        assert verify_temporary_password(session, login, second, clock=clock)


def test_a_new_address_kills_the_password_mailed_to_the_old_one(engine: sa.Engine, tmp_path: Path) -> None:
    opened = open_dossier(engine, tmp_path)
    login = next(m.login for m in opened.mails if m.kind is MailKind.CREDENTIALS) or ""
    with Session(engine) as session:
        mailed = issue_temporary_password(session, login, clock=clock, validity=timedelta(hours=72))
        session.commit()
    fiche = usr(action="modify", login=login, email="jan.right@acme.be", signed_date="2026-11-21")
    assert receive(engine, fiche).outcome is PlanOutcome.REVIEW  # an address change waits for a person (13.5)
    moved = approve_item(engine, fiche.sha256)
    assert moved.outcome is PlanOutcome.APPLIED
    (creds,) = [m for m in moved.mails if m.kind is MailKind.CREDENTIALS]
    assert (creds.login, creds.event) == (login, MailEvent.CREDENTIALS_REISSUED)
    with Session(engine) as session:
        assert user_contact(session, login).email == "jan.right@acme.be"  # type: ignore[union-attr]
        assert not verify_temporary_password(session, login, mailed, clock=clock)  # died with the old address
        entry = session.exec(select(AuditEntry).where(col(AuditEntry.action) == AuditAction.ACCOUNT_MODIFIED)).one()
        assert '"email_changed":true' in entry.details
        fresh = issue_temporary_password(session, login, clock=clock, validity=timedelta(hours=72))
        assert verify_temporary_password(session, login, fresh, clock=clock)  # used: logged in
        session.commit()
    other = usr(action="modify", login=login, email="jan.other@acme.be", signed_date="2026-11-22")
    assert receive(engine, other).outcome is PlanOutcome.REVIEW
    again = approve_item(engine, other.sha256)
    assert again.outcome is PlanOutcome.APPLIED
    # logged in or not, the approved new address receives the credentials (13.5), the old one a notice
    (creds,) = [m for m in again.mails if m.kind is MailKind.CREDENTIALS]
    assert (creds.login, creds.event) == (login, MailEvent.CREDENTIALS_REISSUED)
    assert [m.kind for m in again.mails if m.kind is MailKind.OLD_ADDRESS_NOTICE] == [MailKind.OLD_ADDRESS_NOTICE]


@pytest.mark.parametrize("order", list(itertools.permutations(("agr", "mu", "usr"))), ids="-".join)
def test_access_opens_in_any_order_of_arrival(engine: sa.Engine, tmp_path: Path, order: tuple[str, ...]) -> None:
    load_reference(engine, tmp_path)
    forms = {"agr": agr(), "mu": mu(), "usr": usr()}
    for name in order:
        form = forms[name]
        receive(engine, form)
        if name in ("agr", "mu"):
            approve_item(engine, form.sha256)
    with Session(engine) as session:
        assert session.get(Organisation, EN).status == OrgStatus.OPEN  # type: ignore[union-attr]
        accounts = session.exec(select(Account)).all()
        assert [a.email for a in accounts] == ["jan.janssens@acme.be"]


def test_same_document_twice_changes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    open_dossier(engine, tmp_path)
    extra = usr(email="els@acme.be")
    assert receive(engine, extra).outcome is PlanOutcome.APPLIED
    before = dump_everything(engine)
    assert receive(engine, extra).outcome is PlanOutcome.DUPLICATE
    assert dump_everything(engine) == before
    # applying one plan twice: the second time writes nothing and queues nothing
    other = usr(email="piet@acme.be")
    with Session(engine) as session:
        p = decide(session, other, prov(other), clock=clock)
        assert apply_plan(session, p, actor="system", clock=clock)
        assert apply_plan(session, p, actor="system", clock=clock) == []
        session.commit()
        assert len(session.exec(select(Account).where(col(Account.email) == "piet@acme.be")).all()) == 1


def test_logins_are_opaque_unique_and_never_reused(engine: sa.Engine) -> None:
    with Session(engine) as session:
        first = make_login(random.Random(42))
        session.add(LegacyAccount(login=first.lower(), enterprise_number=EN, imported_at=NOW))
        session.commit()
        login = allocate_login(session, rng=random.Random(42))  # same sequence: the first pick is taken
        assert login != first
        assert login.startswith(LOGIN_PREFIX)
        assert set(login[len(LOGIN_PREFIX) :]) <= set(LOGIN_ALPHABET)
        assert len({allocate_login(session) for _ in range(200)}) == 200


def test_review_approve_corrects_fields_validates_again_and_audits_reviewer(engine: sa.Engine, tmp_path: Path) -> None:
    open_dossier(engine, tmp_path)
    posted = usr(email="els@acme.be", scope="selected", contracts=["GV-100"])
    decision = receive(engine, posted, channel=Channel.POST)
    assert decision.outcome is PlanOutcome.REVIEW
    with Session(engine) as session:
        (item,) = list_reviews(session)
        assert item.reasons == ["not-mailed-by-master-user"]
        with pytest.raises(ReviewError) as bad:
            approve(session, item.id, by=REVIEWER, clock=clock, corrections={"user_email": "not an address"})
        assert bad.value.code == "review-correction-invalid"
        session.rollback()
        with pytest.raises(ReviewError) as refused:
            approve(session, item.id, by=REVIEWER, clock=clock, corrections={"contracts": ["GV-900"]})
        assert refused.value.code == "review-rules-refused"  # another organisation's contract
        session.rollback()
        with pytest.raises(ReviewError) as nobody:
            approve(session, item.id, by=" ", clock=clock)
        assert nobody.value.code == "review-reviewer-missing"
        done = approve(session, item.id, by=REVIEWER, clock=clock, corrections={"contracts": ["GV-200"]})
        session.commit()
        assert done.outcome is PlanOutcome.APPLIED
        account = session.exec(select(Account).where(col(Account.email) == "els@acme.be")).one()
        assert show_user(session, account.login).contracts == ["GV-200"]
        entry = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.action) == AuditAction.REVIEW_APPROVED, col(AuditEntry.document_sha256) == posted.sha256
            )
        ).one()
        assert entry.actor == REVIEWER
        # what the reviewer changed is in the chain, as read from the document and as set
        assert json.loads(entry.details)["corrections"] == {"contracts": {"read": ["GV-100"], "set": ["GV-200"]}}
        assert "corrected: contracts" in entry.reason
        with pytest.raises(ReviewError) as twice:
            approve(session, item.id, by=REVIEWER, clock=clock)
        assert twice.value.code == "review-already-decided"


def test_review_reject_never_provisions(engine: sa.Engine, tmp_path: Path) -> None:
    open_dossier(engine, tmp_path)
    form = usr(email="intruder@acme.be")
    receive(engine, form, sender="someone@elsewhere.example")
    with Session(engine) as session:
        (item,) = list_reviews(session)
        with pytest.raises(ReviewError):
            reject(session, item.id, by=REVIEWER, clock=clock, reason="")
        # a reason is a catalogue code the organisation may read, not free text nor a staff-only code
        for refused in ("not signed by the Master User", "imap-login-failed"):
            with pytest.raises(ReviewError) as bad:
                reject(session, item.id, by=REVIEWER, clock=clock, reason=refused)
            assert bad.value.code == "review-reason-unknown"
        # the Master User reads Dutch: a note in French only is refused
        with pytest.raises(ReviewError) as lang:
            reject(
                session,
                item.id,
                by=REVIEWER,
                clock=clock,
                reason="sender-not-master-user",
                note_fr="Personne inconnue.",
            )
        assert lang.value.code == "review-note-language-missing"
        decision = reject(
            session,
            item.id,
            by=REVIEWER,
            clock=clock,
            reason="sender-not-master-user",
            note_nl="Deze persoon is ons onbekend.",
        )
        session.commit()
        assert [(m.kind, m.event) for m in decision.mails] == [(MailKind.MASTER_USER_NOTICE, MailEvent.FORM_REJECTED)]
        (fiche,) = decision.mails[0].params["fiches"]
        assert fiche["email"] == "intruder@acme.be"
        assert fiche["action"] == "new"
        assert fiche["reasons"] == ["sender-not-master-user"]
        assert fiche["note"] == {"nl": "Deze persoon is ons onbekend."}
        assert session.exec(select(Account).where(col(Account.email) == "intruder@acme.be")).all() == []
        assert session.get(DossierForm, form.sha256).status == FormStatus.REJECTED  # type: ignore[union-attr]
        assert session.get(ReviewItem, item.id).status == ReviewStatus.REJECTED  # type: ignore[union-attr]
        entry = session.exec(select(AuditEntry).where(col(AuditEntry.action) == AuditAction.REVIEW_REJECTED)).one()
        assert (entry.actor, entry.reason) == (REVIEWER, "sender-not-master-user")
        assert json.loads(entry.details)["note"] == {"nl": "Deze persoon is ons onbekend."}
    # the same document arriving again stays refused: it is a duplicate
    assert receive(engine, form).outcome is PlanOutcome.DUPLICATE


def test_daily_run_revokes_expired_and_warns_once(engine: sa.Engine, tmp_path: Path) -> None:
    open_dossier(engine, tmp_path)
    receive(
        engine,
        usr(email="ext@consult.be", user_type="external", external_company="Consult BV", access_end_date=end_in(10)),
    )
    with Session(engine) as session:
        (warned,) = run_expiries(session, clock=clock)
        session.commit()
        assert [m.event for m in warned.mails] == [MailEvent.EXPIRY_COMING]
        assert run_expiries(session, clock=clock) == []
        later = lambda: datetime(2026, 12, 8, 6, 0, tzinfo=UTC)  # noqa: E731 - the day after the end date
        (expired,) = run_expiries(session, clock=later)
        session.commit()
        assert [m.event for m in expired.mails] == [MailEvent.CHANGES_APPLIED]
        account = session.exec(select(Account).where(col(Account.email) == "ext@consult.be")).one()
        assert account.status == AccountStatus.EXPIRED
        entry = session.exec(select(AuditEntry).where(col(AuditEntry.action) == AuditAction.ACCOUNT_EXPIRED)).one()
        assert entry.login == account.login
        assert '"profile":"consult"' in entry.details


def test_views_show_what_is_missing_and_the_accounts(engine: sa.Engine, tmp_path: Path) -> None:
    load_reference(engine, tmp_path)
    receive(engine, agr())
    with Session(engine) as session:
        (org,) = list_orgs(session)
        assert org.missing == ["approved EAP-AGR (in review)", "approved EAP-MU", "valid EAP-USR (new)"]
    approve_item(engine, agr().sha256)
    receive(engine, mu())
    approve_item(engine, mu().sha256)
    receive(engine, usr())
    with Session(engine) as session:
        dossier = show_org(session, EN)
        assert dossier.summary.missing == []
        assert dossier.summary.status == "open"
        assert [a.email for a in dossier.accounts] == ["jan.janssens@acme.be"]
        assert [f["status"] for f in dossier.forms] == ["applied", "applied", "applied"]
        assert dossier.as_dict()["legacy_accounts"][0]["login"] == "acme01"


def test_reference_reimport_is_idempotent_and_bad_rows_are_reported(engine: sa.Engine, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["enterprise_number", "contract_number", "contract_name"])
    sheet.append(["0644.695.949", "GV-100", "Groep A"])
    sheet.append(["0644695948", "GV-101", "bad checksum"])
    sheet.append([EN, "", "no number"])
    sheet.append(["BE0403170701", "GV-900", "Other"])
    path = tmp_path / "register.xlsx"
    book.save(path)
    with Session(engine) as session:
        first = import_contracts_file(session, path, clock=clock)
        session.commit()
        again = import_contracts_file(session, path, clock=clock)
        session.commit()
    assert (first.added, first.unchanged) == (2, 0)
    assert [(e.row, e.code) for e in first.errors] == [(3, "enterprise-number-invalid"), (4, "contract-number-invalid")]
    assert (again.added, again.unchanged, len(again.errors)) == (0, 2, 2)
    legacy = write_csv(
        tmp_path / "legacy.csv",
        [
            "login;enterprise_number;last_name;first_name;email",
            f"old1;{EN};A;B;a@acme.be",
            f"old1;{EN};A;B;a@acme.be",
            f"old2;{EN};A;B;not-an-email",
        ],
    )
    with Session(engine) as session:
        report = import_legacy_file(session, legacy, clock=clock)
        session.commit()
    assert report.added == 1
    assert [(e.row, e.code) for e in report.errors] == [(3, "login-duplicate-row"), (4, "email-invalid")]


def test_fiches_refused_before_the_master_user_are_reported_to_it_in_one_mail(
    engine: sa.Engine, tmp_path: Path
) -> None:
    load_reference(engine, tmp_path)
    a = agr()
    receive(engine, a)
    approve_item(engine, a.sha256)
    shared = usr(email=NOTIFY, user_first_name="Jan", user_last_name="Janssens")
    external = usr(
        email="ext@consult.be",
        user_first_name="Els",
        user_last_name="Extern",
        user_type="external",
        external_company="Consult BV",
    )
    with Session(engine) as session:
        for form, name in ((shared, "Gebruikersfiche Jan.pdf"), (external, "fiche-els.pdf")):
            decision = process_form(session, form, replace(prov(form), filename=name), clock=clock)
            assert decision.outcome is PlanOutcome.REJECTED
            assert decision.mails == ()  # nobody may be told yet: there is no Master User
        session.commit()
    m = mu()
    receive(engine, m)
    decision = approve_item(engine, m.sha256)
    (told,) = [x for x in decision.mails if x.event is MailEvent.FORM_REJECTED]
    assert told.kind is MailKind.MASTER_USER_NOTICE
    fiches = {f["person"]: f for f in told.params["fiches"]}
    assert set(fiches) == {"Jan Janssens", "Els Extern"}
    assert fiches["Jan Janssens"]["email"] == NOTIFY
    assert fiches["Jan Janssens"]["filename"] == "Gebruikersfiche Jan.pdf"
    assert fiches["Jan Janssens"]["reasons"] == ["user-email-is-notification-address"]
    assert fiches["Els Extern"]["reasons"] == ["access-end-date-missing"]
    assert fiches["Els Extern"]["action"] == "new"
    # a later Master User (a replacement) is not told again
    m2 = mu(email="nieuwe.mu@acme.be", mu_first_name="Nina")
    receive(engine, m2)
    assert not [x for x in approve_item(engine, m2.sha256).mails if x.event is MailEvent.FORM_REJECTED]
