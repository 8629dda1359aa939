"""Applying a Plan: every write of one decision in the caller's transaction, idempotent by the plan's key."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from auditchain.chain import append_entry
from errors import ProvisioningError
from provisioning.logins import allocate_login
from provisioning.models import (
    Account,
    AccountContract,
    AccountStatus,
    AppliedPlan,
    Credential,
    DossierForm,
    LegacyAccount,
    MasterUser,
    Organisation,
    OrgStatus,
    ReviewItem,
    ReviewStatus,
)
from provisioning.plan import (
    AccountData,
    CreateAccount,
    EndAccount,
    MailIntent,
    MarkExpiryWarned,
    ModifyAccount,
    Op,
    OpenOrganisation,
    Plan,
    QueueReview,
    RecordForm,
    RevokeLegacy,
    SetAgreement,
    SetMasterUser,
)

__all__ = ["Clock", "apply_plan", "apply_plan_and_commit", "invalidate_passwords"]

Clock = Callable[[], datetime]


def apply_plan(session: Session, plan: Plan, *, actor: str, clock: Clock,
               rng: random.Random | None = None) -> list[MailIntent]:
    """Write the plan in the caller's transaction (the caller commits) and return the mails to queue.

    A plan whose key was applied before changes nothing and returns no mail: the same document,
    decision or daily check applied twice is applied once.
    """
    if not plan.ops and not plan.audit:
        return []
    now = clock()
    if not _claim(session, plan.key, now):
        return []
    # logins first: the dossier rows and audit entries of the plan name the accounts it creates
    logins = {op.ref: allocate_login(session, rng=rng) for op in plan.ops if isinstance(op, CreateAccount)}
    for op in plan.ops:
        _apply_op(session, op, now=now, logins=logins, rng=rng)
    session.flush()
    for entry in plan.audit:
        append_entry(session, actor=actor, action=entry.action, org=entry.enterprise_number or None,
                     login=_resolve(entry.login, logins), document_sha256=entry.document_sha256,
                     reason=entry.reason, details=entry.details, at=now)
    return [_resolve_mail(m, logins) for m in plan.mails]


def apply_plan_and_commit(session: Session, plan: Plan, *, actor: str, clock: Clock,
                          rng: random.Random | None = None) -> list[MailIntent]:
    """:func:`apply_plan`, then commit (rolled back on any error)."""
    try:
        mails = apply_plan(session, plan, actor=actor, clock=clock, rng=rng)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return mails


def invalidate_passwords(session: Session, login: str, now: datetime, *, unused_only: bool = False) -> None:
    """Kill the live temporary passwords of ``login`` (or only those never used), in the caller's
    transaction."""
    query = update(Credential).where(col(Credential.login) == login, col(Credential.invalidated_at).is_(None))
    if unused_only:
        query = query.where(col(Credential.used_at).is_(None))
    session.execute(query.values(invalidated_at=now))


def _claim(session: Session, key: str, now: datetime) -> bool:
    # INSERT … ON CONFLICT DO NOTHING: a second worker applying the same key waits for the first
    # to commit and then inserts nothing, instead of failing on the primary key.
    table = AppliedPlan.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).values(key=key, applied_at=now).on_conflict_do_nothing().returning(table.c.key)
    return session.execute(stmt).first() is not None


def _resolve(login: str | None, logins: dict[str, str]) -> str | None:
    return logins.get(login, login) if login else login


def _resolve_any(value: Any, logins: dict[str, str]) -> Any:
    if isinstance(value, str):
        return logins.get(value, value)
    if isinstance(value, list):
        return [_resolve_any(v, logins) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_any(v, logins) for k, v in value.items()}
    return value


def _resolve_mail(mail: MailIntent, logins: dict[str, str]) -> MailIntent:
    if not logins:
        return mail
    return replace(mail, login=_resolve(mail.login, logins), params=_resolve_any(mail.params, logins))


def _apply_op(session: Session, op: Op, *, now: datetime, logins: dict[str, str],
              rng: random.Random | None) -> None:
    match op:
        case RecordForm():
            _record_form(session, op, now=now, logins=logins)
        case QueueReview():
            item = session.exec(select(ReviewItem).where(col(ReviewItem.document_sha256) == op.sha256)).first()
            if item is None:
                item = ReviewItem(document_sha256=op.sha256, enterprise_number=op.enterprise_number,
                                  form_id=op.form_id, created_at=now)
            item.reasons, item.fields, item.errors = list(op.reasons), dict(op.fields), list(op.errors)
            item.status, item.decided_at, item.decided_by, item.decision_reason = ReviewStatus.OPEN, None, None, None
            session.add(item)
        case SetAgreement():
            org = _org(session, op.enterprise_number)
            f = op.fields
            org.name = str(f.get("org_name") or org.name)
            org.street = str(f.get("org_street") or "")
            org.postcode = str(f.get("org_postcode") or "")
            org.city = str(f.get("org_city") or "")
            org.notification_email = str(f.get("notification_email") or "") or None
            org.correspondence_language = str(f.get("correspondence_language") or "") or None
            org.agreement_sha256, org.agreement_approved_at = op.sha256, now
            session.add(org)
        case SetMasterUser():
            org = _org(session, op.enterprise_number)
            if not org.name:
                org.name = str(op.fields.get("org_name") or "")
                session.add(org)
            session.execute(update(MasterUser).where(col(MasterUser.enterprise_number) == op.enterprise_number,
                                                     col(MasterUser.is_current)).values(is_current=False,
                                                                                        replaced_at=now))
            session.flush()
            f = op.fields
            session.add(MasterUser(
                enterprise_number=op.enterprise_number, last_name=str(f.get("mu_last_name") or ""),
                first_name=str(f.get("mu_first_name") or ""), function=str(f.get("mu_function") or ""),
                email=str(f.get("mu_email") or ""), phone=str(f.get("mu_phone") or ""),
                language=str(f.get("mu_language") or "nl"), document_sha256=op.sha256,
                approved_by=op.approved_by or "system", approved_at=now, is_current=True))
        case OpenOrganisation():
            org = _org(session, op.enterprise_number)
            org.status, org.opened_at = OrgStatus.OPEN, now
            session.add(org)
        case CreateAccount():
            login = logins[op.ref]
            account = Account(login=login, enterprise_number=op.enterprise_number, source_sha256=op.sha256,
                              document_sha256=op.sha256, created_at=now, updated_at=now,
                              status=AccountStatus.ACTIVE, **_account_columns(op.data))
            session.add(account)
            session.flush()
            _set_contracts(session, login, op.data.contracts)
        case ModifyAccount():
            account = _account(session, op.login)
            if op.email_changed:
                # the one recipient of the old-address notice (issue 13.5), kept before it is replaced
                account.previous_email = account.email
            for name, value in _account_columns(op.data).items():
                setattr(account, name, value)
            account.document_sha256, account.updated_at = op.sha256, now
            account.expiry_warned_for = None
            session.add(account)
            _set_contracts(session, op.login, op.data.contracts)
            if op.email_changed:  # the temporary passwords mailed to the old address die
                invalidate_passwords(session, op.login, now, unused_only=True)
        case EndAccount():
            account = _account(session, op.login)
            account.status, account.ended_at, account.updated_at = op.status, now, now
            if op.sha256:
                account.document_sha256 = op.sha256
            session.add(account)
            # a revoked account's pending temporary password dies with it
            invalidate_passwords(session, op.login, now)
        case RevokeLegacy():
            legacy = session.get(LegacyAccount, op.login)
            if legacy is not None and legacy.revoked_at is None:
                legacy.revoked_at = now
                session.add(legacy)
        case MarkExpiryWarned():
            account = _account(session, op.login)
            account.expiry_warned_for = op.end_date
            session.add(account)


def _record_form(session: Session, op: RecordForm, *, now: datetime, logins: dict[str, str]) -> None:
    row = session.get(DossierForm, op.sha256)
    p = op.provenance
    if row is None:
        row = DossierForm(sha256=op.sha256, enterprise_number=op.enterprise_number, form_id=op.form_id,
                          channel=str(p.channel), sender=p.sender, authenticated=p.authenticated,
                          message_id=p.message_id, received_at=p.received_at, status=op.status,
                          filename=p.filename[:255])
    row.action = str(op.fields.get("action") or "") or None
    row.status, row.reason, row.fields = op.status, op.reason, dict(op.fields)
    row.warnings = list(op.warnings) or row.warnings
    row.signatures = list(op.signatures) or row.signatures
    if op.approved_by:
        row.approved_by = op.approved_by
    row.decided_at = now
    if op.login:
        row.login = _resolve(op.login, logins)
    session.add(row)


def _org(session: Session, enterprise_number: str) -> Organisation:
    org = session.get(Organisation, enterprise_number)
    if org is None:
        raise ProvisioningError("org-not-locked", "the organisation row must exist (lock_dossier first)",
                                org=enterprise_number)
    return org


def _account(session: Session, login: str) -> Account:
    account = session.get(Account, login)
    if account is None:
        raise ProvisioningError("account-not-found", "no such account", login=login)
    return account


def _account_columns(data: AccountData) -> dict[str, Any]:
    return {"last_name": data.last_name, "first_name": data.first_name, "email": data.email,
            "email_key": data.email.strip().lower(), "phone": data.phone, "language": data.language,
            "user_type": data.user_type, "external_company": data.external_company,
            "access_end_date": data.access_end_date, "profile": data.profile, "scope": data.scope}


def _set_contracts(session: Session, login: str, contracts: tuple[str, ...]) -> None:
    # modify replaces the whole scope (docs/rules.md §Provisioning): the old list goes, the fiche's list comes
    session.execute(delete(AccountContract).where(col(AccountContract.login) == login))
    for number in contracts:
        session.add(AccountContract(login=login, contract_number=number))
