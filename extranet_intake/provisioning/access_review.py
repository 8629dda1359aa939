"""The yearly access review ("recertification") by each Master User: campaigns, answers, reminders, overdue.

SPEC §6 / issue 18.2. A campaign sends each open organisation's current Master User the list of its
active accounts and asks for a confirmation by the due date. Each organisation's answer is one
``review_org`` row whose ``state`` moves ``sent`` → (``reminded``) → ``confirmed`` / ``changes_announced``
or ``overdue``; every step is an audit entry naming the campaign. This module decides and records;
queueing the mails (and pinning their Message-IDs) is the application's (``intake/access_review.py``),
since provisioning does not import the mailer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.errors import ProvisioningError
from extranet_intake.provisioning.models import (
    Account,
    AccountContract,
    AccountStatus,
    MasterUser,
    Organisation,
    OrgStatus,
)
from extranet_intake.provisioning.plan import MailEvent, MailIntent, MailKind
from extranet_intake.provisioning.rules import account_details

__all__ = [
    "ANSWERED",
    "DEFAULT_DUE_DAYS",
    "DEFAULT_REMINDER_DAYS",
    "ReviewCampaign",
    "ReviewOrg",
    "ReviewState",
    "StartedCampaign",
    "TickReport",
    "active_accounts",
    "campaign_of_reply",
    "new_review_code",
    "record_answer",
    "record_refusal",
    "reinstate_account",
    "review_status",
    "start_campaign",
    "tick",
]

DEFAULT_DUE_DAYS = 30
DEFAULT_REMINDER_DAYS = (7, 1)


class ReviewState(StrEnum):
    SENT = "sent"
    REMINDED = "reminded"
    CONFIRMED = "confirmed"
    #: the Master User answered with user fiches: the changes go through the usual rules
    CHANGES_ANNOUNCED = "changes_announced"
    OVERDUE = "overdue"


#: states in which the organisation has answered: no reminder, never overdue
ANSWERED = frozenset({ReviewState.CONFIRMED, ReviewState.CHANGES_ANNOUNCED})
_WAITING = (ReviewState.SENT.value, ReviewState.REMINDED.value)


class ReviewCampaign(SQLModel, table=True):
    __tablename__ = "review_campaign"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    started_by: str = Field(max_length=200)
    due_date: date
    #: the one organisation asked for with ``--org``; None: every open organisation
    only_org: str | None = Field(default=None, max_length=10)


class ReviewOrg(SQLModel, table=True):
    """One organisation's part of a campaign: what was sent to whom, and its answer."""

    __tablename__ = "review_org"
    __table_args__ = (UniqueConstraint("campaign_id", "enterprise_number", name="uq_review_org"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="review_campaign.id", index=True)
    enterprise_number: str = Field(foreign_key="organisation.enterprise_number", index=True, max_length=10)
    state: str = Field(max_length=20, default=ReviewState.SENT.value)
    #: printed in every mail of the campaign to this organisation; a reply must carry it back
    code: str = Field(unique=True, max_length=20)
    #: the Master User's address the list was sent to (the reply must come from the current one)
    mu_email: str = Field(max_length=254)
    #: the Message-IDs of the campaign's mails to this organisation (request, reminders), fixed at
    #: queue time: a reply must name one in In-Reply-To/References
    message_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: the logins listed in the request (what a confirmation confirms)
    logins: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: reminder points (days before the due date) already sent
    reminded: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sent_at: datetime
    answered_at: datetime | None = None
    answer_message_id: str = Field(default="", max_length=998)
    overdue_at: datetime | None = None
    suspended: int = 0


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen and typed back


def new_review_code() -> str:
    """``RV-XXXX-XXXX``: 40 random bits, so another organisation's code cannot be guessed."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"RV-{chars[:4]}-{chars[4:]}"


def active_accounts(session: Session, enterprise_number: str) -> list[dict[str, Any]]:
    """The list a Master User is asked to confirm: name, e-mail, profile, contracts, external end date."""
    accounts = session.exec(
        select(Account)
        .where(col(Account.enterprise_number) == enterprise_number, col(Account.status) == AccountStatus.ACTIVE.value)
        .order_by(col(Account.last_name), col(Account.first_name), col(Account.login))
    ).all()
    out = []
    for a in accounts:
        contracts = session.exec(
            select(AccountContract.contract_number)
            .where(col(AccountContract.login) == a.login)
            .order_by(col(AccountContract.contract_number))
        ).all()
        out.append(
            {
                "login": a.login,
                "name": f"{a.first_name} {a.last_name}".strip(),
                "email": a.email,
                "profile": str(a.profile),
                "scope": str(a.scope),
                "contracts": list(contracts),
                "access_end_date": a.access_end_date.isoformat() if a.access_end_date else None,
            }
        )
    return out


@dataclass(frozen=True)
class StartedCampaign:
    campaign: ReviewCampaign
    #: each organisation's row and the request mail to queue for it
    requests: list[tuple[ReviewOrg, MailIntent]]
    #: organisations left out and why (no current Master User, already under review)
    skipped: list[dict[str, str]]

    @property
    def mails(self) -> tuple[MailIntent, ...]:
        """The request mails, in the order of :attr:`requests`."""
        return tuple(mail for _, mail in self.requests)


def _mail(
    event: MailEvent,
    row: ReviewOrg,
    org: Organisation,
    accounts: list[dict[str, Any]],
    due: date,
    key: str,
    **extra: Any,
) -> MailIntent:
    params = {
        "org_name": org.name or org.enterprise_number,
        "accounts": accounts,
        "due_date": due.isoformat(),
        "review_code": row.code,
        **extra,
    }
    return MailIntent(
        kind=MailKind.MASTER_USER_NOTICE,
        event=event,
        enterprise_number=org.enterprise_number,
        login=None,
        params=params,
        idempotency_key=key,
    )


def start_campaign(
    session: Session,
    *,
    now: datetime,
    actor: str,
    due: date | None = None,
    org: str | None = None,
    new_code: Callable[[], str] = new_review_code,
) -> StartedCampaign:
    """Open a campaign over every open organisation (or ``org``) and record one request per organisation.

    An organisation still waiting for its answer in an earlier campaign is left out (one open question
    at a time); so is one without a current Master User. The caller queues the returned mails in
    the same transaction.
    """
    due = due or (now.date() + timedelta(days=DEFAULT_DUE_DAYS))
    if due <= now.date():
        raise ProvisioningError(
            "review-due-date-past", "the due date of an access review must be in the future", due=due.isoformat()
        )
    query = select(Organisation).where(col(Organisation.status) == OrgStatus.OPEN.value)
    if org is not None:
        found = session.get(Organisation, org)
        if found is None or found.status != OrgStatus.OPEN:
            raise ProvisioningError("review-org-not-open", "only an open organisation can review its access", org=org)
        query = query.where(col(Organisation.enterprise_number) == org)
    orgs = session.exec(query.order_by(col(Organisation.enterprise_number))).all()
    campaign = ReviewCampaign(started_at=now, started_by=actor, due_date=due, only_org=org)
    session.add(campaign)
    session.flush()
    assert campaign.id is not None
    append_entry(
        session,
        actor=actor,
        action=AuditAction.ACCESS_REVIEW_STARTED,
        org=org,
        login=None,
        document_sha256=None,
        reason=f"access review campaign {campaign.id} started, due {due}",
        details={"campaign": campaign.id, "due_date": due.isoformat(), "organisations": len(orgs)},
        at=now,
    )
    requests: list[tuple[ReviewOrg, MailIntent]] = []
    skipped: list[dict[str, str]] = []
    for o in orgs:
        en = o.enterprise_number
        mu = session.exec(
            select(MasterUser).where(col(MasterUser.enterprise_number) == en, col(MasterUser.is_current))
        ).first()
        waiting = session.exec(
            select(ReviewOrg).where(col(ReviewOrg.enterprise_number) == en, col(ReviewOrg.state).in_(_WAITING))
        ).first()
        if mu is None or waiting is not None:
            skipped.append({"org": en, "reason": "no-master-user" if mu is None else "review-already-waiting"})
            continue
        accounts = active_accounts(session, en)
        row = ReviewOrg(
            campaign_id=campaign.id,
            enterprise_number=en,
            code=new_code(),
            mu_email=mu.email,
            logins=[a["login"] for a in accounts],
            sent_at=now,
        )
        session.add(row)
        session.flush()
        append_entry(
            session,
            actor=actor,
            action=AuditAction.ACCESS_REVIEW_REQUESTED,
            org=en,
            login=None,
            document_sha256=None,
            reason=f"access review {campaign.id}: {len(accounts)} active account(s) sent to the Master User",
            details={
                "campaign": campaign.id,
                "code": row.code,
                "recipient": mu.email,
                "logins": row.logins,
                "due_date": due.isoformat(),
            },
            at=now,
        )
        requests.append(
            (row, _mail(MailEvent.ACCESS_REVIEW, row, o, accounts, due, f"access-review:{campaign.id}:{en}"))
        )
    return StartedCampaign(campaign, requests, skipped)


def campaign_of_reply(
    session: Session, *, references: Iterable[str], codes: Iterable[str]
) -> tuple[ReviewOrg | None, ReviewOrg | None]:
    """(row whose campaign mail the reply answers, row whose code the reply carries); either may be None."""
    refs = {r.strip() for r in references if r.strip()}
    by_ref = None
    if refs:
        # few rows wait at a time; JSON arrays are compared here rather than in two SQL dialects
        for row in session.exec(select(ReviewOrg).order_by(col(ReviewOrg.id).desc())).all():
            if refs.intersection(row.message_ids):
                by_ref = row
                break
    by_code = None
    for code in dict.fromkeys(c.upper() for c in codes):
        by_code = session.exec(select(ReviewOrg).where(col(ReviewOrg.code) == code)).first()
        if by_code is not None:
            break
    return by_ref, by_code


def record_answer(
    session: Session, row: ReviewOrg, *, now: datetime, sender: str, message_id: str, changes: bool
) -> None:
    """An accepted answer: ``confirmed`` (the listed accounts keep their access) or ``changes_announced``."""
    if ReviewState(row.state) in ANSWERED:
        return  # a second reply changes nothing: the first answer is the one on record
    state = ReviewState.CHANGES_ANNOUNCED if changes else ReviewState.CONFIRMED
    row.state = state.value
    row.answered_at = now
    row.answer_message_id = message_id[:998]
    session.add(row)
    action = AuditAction.ACCESS_REVIEW_CHANGES_ANNOUNCED if changes else AuditAction.ACCESS_REVIEW_CONFIRMED
    what = "answered with user fiches" if changes else "confirmed its active accounts"
    append_entry(
        session,
        actor=sender,
        action=action,
        org=row.enterprise_number,
        login=None,
        document_sha256=None,
        reason=f"access review {row.campaign_id}: the Master User {what}",
        details={
            "campaign": row.campaign_id,
            "code": row.code,
            "message_id": message_id,
            "logins": [] if changes else row.logins,
            "was": "overdue" if row.overdue_at else "in time",
        },
        at=now,
    )


def record_refusal(
    session: Session, *, now: datetime, code: str, sender: str, message_id: str, row: ReviewOrg | None, detail: str
) -> None:
    """A reply that names a campaign but cannot be believed: audited, the organisation's state unchanged."""
    append_entry(
        session,
        actor="system",
        action=AuditAction.ACCESS_REVIEW_REPLY_REFUSED,
        org=row.enterprise_number if row else None,
        login=None,
        document_sha256=None,
        reason=f"{code}: {detail}",
        details={
            "code": code,
            "campaign": row.campaign_id if row else None,
            "sender": sender,
            "message_id": message_id,
        },
        at=now,
    )


@dataclass
class TickReport:
    reminders: list[tuple[ReviewOrg, MailIntent]]
    #: organisations that became overdue in this tick
    newly_overdue: list[dict[str, Any]]
    suspended: list[str]

    @property
    def mails(self) -> tuple[MailIntent, ...]:
        """The reminder mails, in the order of :attr:`reminders`."""
        return tuple(mail for _, mail in self.reminders)


def tick(
    session: Session,
    *,
    now: datetime,
    reminder_days: Iterable[int] = DEFAULT_REMINDER_DAYS,
    suspend_overdue: bool = False,
) -> TickReport:
    """The daily run's step: reminders before the due date (once each), ``overdue`` after it.

    With ``suspend_overdue`` the overdue organisation's active accounts are suspended — never
    deleted — each with an audit entry naming the campaign.
    """
    today = now.date()
    points = sorted({int(d) for d in reminder_days if int(d) > 0})
    report = TickReport([], [], [])
    rows = session.exec(
        select(ReviewOrg, ReviewCampaign)
        .join(ReviewCampaign, col(ReviewCampaign.id) == col(ReviewOrg.campaign_id))
        .where(col(ReviewOrg.state).in_(_WAITING))
        .order_by(col(ReviewOrg.id))
    ).all()
    for row, campaign in rows:
        left = (campaign.due_date - today).days
        if left < 0:
            _overdue(session, row, campaign, now=now, suspend=suspend_overdue, report=report)
            continue
        # points already passed when the request left are not reminders (a 5-day campaign gets no 7-day one)
        sent_left = (campaign.due_date - row.sent_at.date()).days
        due_points = [d for d in points if left <= d < sent_left and d not in row.reminded]
        if not due_points:
            continue
        point = min(due_points)  # the most urgent one only: two reminders in one day say nothing more
        org = session.get(Organisation, row.enterprise_number)
        if org is None:
            continue
        accounts = active_accounts(session, row.enterprise_number)
        row.reminded = sorted({*row.reminded, *due_points})
        row.state = ReviewState.REMINDED.value
        session.add(row)
        append_entry(
            session,
            actor="system",
            action=AuditAction.ACCESS_REVIEW_REMINDED,
            org=row.enterprise_number,
            login=None,
            document_sha256=None,
            reason=f"access review {campaign.id}: reminder {point} day(s) before the due date",
            details={"campaign": campaign.id, "days_before": point, "due_date": campaign.due_date.isoformat()},
            at=now,
        )
        report.reminders.append(
            (
                row,
                _mail(
                    MailEvent.ACCESS_REVIEW_REMINDER,
                    row,
                    org,
                    accounts,
                    campaign.due_date,
                    f"access-review:{campaign.id}:{row.enterprise_number}:reminder:{point}",
                    days_left=left,
                ),
            )
        )
    return report


def _overdue(
    session: Session, row: ReviewOrg, campaign: ReviewCampaign, *, now: datetime, suspend: bool, report: TickReport
) -> None:
    row.state = ReviewState.OVERDUE.value
    row.overdue_at = now
    suspended: list[str] = []
    if suspend:
        for account in session.exec(
            select(Account).where(
                col(Account.enterprise_number) == row.enterprise_number,
                col(Account.status) == AccountStatus.ACTIVE.value,
            )
        ):
            account.status = AccountStatus.SUSPENDED
            account.updated_at = now
            session.add(account)
            suspended.append(account.login)
            append_entry(
                session,
                actor="system",
                action=AuditAction.ACCOUNT_SUSPENDED,
                org=row.enterprise_number,
                login=account.login,
                document_sha256=None,
                reason=f"access review {campaign.id} not answered by {campaign.due_date}: suspended",
                details={"campaign": campaign.id, "due_date": campaign.due_date.isoformat()},
                at=now,
            )
    row.suspended = len(suspended)
    session.add(row)
    append_entry(
        session,
        actor="system",
        action=AuditAction.ACCESS_REVIEW_OVERDUE,
        org=row.enterprise_number,
        login=None,
        document_sha256=None,
        reason=f"access review {campaign.id}: no answer by {campaign.due_date}",
        details={"campaign": campaign.id, "due_date": campaign.due_date.isoformat(), "suspended": suspended},
        at=now,
    )
    report.newly_overdue.append(
        {
            "org": row.enterprise_number,
            "campaign": campaign.id,
            "due_date": campaign.due_date.isoformat(),
            "suspended": len(suspended),
        }
    )
    report.suspended.extend(suspended)


def review_status(session: Session, *, campaign: int | None = None) -> dict[str, Any]:
    """Campaigns (newest first) and each organisation's state: what ``review-access status`` and a page show."""
    query = select(ReviewCampaign).order_by(col(ReviewCampaign.id).desc())
    if campaign is not None:
        query = query.where(col(ReviewCampaign.id) == campaign)
    out: list[dict[str, Any]] = []
    for c in session.exec(query).all():
        orgs = session.exec(
            select(ReviewOrg, Organisation.name)
            .join(Organisation, col(Organisation.enterprise_number) == col(ReviewOrg.enterprise_number))
            .where(col(ReviewOrg.campaign_id) == c.id)
            .order_by(col(ReviewOrg.enterprise_number))
        ).all()
        counts = {s.value: 0 for s in ReviewState}
        rows = []
        for r, name in orgs:
            counts[r.state] = counts.get(r.state, 0) + 1
            rows.append(
                {
                    "org": r.enterprise_number,
                    "name": name,
                    "campaign": c.id,
                    "state": r.state,
                    "code": r.code,
                    "recipient": r.mu_email,
                    "accounts": len(r.logins),
                    "sent_at": r.sent_at.isoformat(),
                    "reminded": list(r.reminded),
                    "answered_at": r.answered_at.isoformat() if r.answered_at else None,
                    "overdue_at": r.overdue_at.isoformat() if r.overdue_at else None,
                    "suspended": r.suspended,
                }
            )
        out.append(
            {
                "campaign": c.id,
                "started_at": c.started_at.isoformat(),
                "started_by": c.started_by,
                "due_date": c.due_date.isoformat(),
                "only_org": c.only_org,
                "counts": counts,
                "organisations": rows,
            }
        )
    overdue = [o for c in out for o in c["organisations"] if o["state"] == ReviewState.OVERDUE.value]
    return {"campaigns": out, "overdue": overdue}


def reinstate_account(
    session: Session, login: str, *, by: str, reason: str, now: datetime, signed: dict[str, str] | None = None
) -> Account:
    """Make a suspended account active again: a person's decision (docs/rules.md, the yearly access review).

    ``by`` is the staff member who decided (the caller checked the account is active), ``reason`` why
    (kept in the audit log). The entry ``account_reinstated`` carries the account's profile, scope and
    contracts, so that ``audit access`` counts the grant again from this moment. Only a suspended
    account can be reinstated: a revoked or expired one needs a new user fiche.
    """
    account = session.get(Account, login)
    if account is None:
        raise ProvisioningError("account-not-found", f"no account {login}", login=login[:80])
    if account.status != AccountStatus.SUSPENDED:
        raise ProvisioningError(
            "account-not-suspended",
            f"account {login} is {account.status}: only a suspended account can be reinstated",
            login=login,
            status=str(account.status),
        )
    if not reason.strip():
        raise ProvisioningError("reinstate-reason-missing", "say why the account is reinstated (--reason)")
    contracts = [
        c.contract_number for c in session.exec(select(AccountContract).where(col(AccountContract.login) == login))
    ]
    account.status = AccountStatus.ACTIVE
    account.updated_at = now
    session.add(account)
    append_entry(
        session,
        actor=by,
        action=AuditAction.ACCOUNT_REINSTATED,
        org=account.enterprise_number,
        login=login,
        document_sha256=None,
        reason=reason.strip()[:500],
        details={**account_details(account.profile, account.scope, contracts), **(signed or {})},
        at=now,
    )
    return account
