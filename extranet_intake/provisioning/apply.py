"""Applying a Plan: every write of one decision in the caller's transaction, idempotent by the plan's key."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import EntryFields, append_entries, canonical_details
from extranet_intake.auditchain.prepared import Prepared
from extranet_intake.errors import ProvisioningError
from extranet_intake.provisioning.logins import allocate_login
from extranet_intake.provisioning.models import (
    Account,
    AccountContract,
    AccountStatus,
    AppliedPlan,
    DossierForm,
    LegacyAccount,
    MasterUser,
    Organisation,
    OrgStatus,
    ReviewItem,
    ReviewStatus,
)
from extranet_intake.provisioning.passwords import invalidate_passwords
from extranet_intake.provisioning.plan import (
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

__all__ = ["Clock", "apply_plan", "apply_plan_and_commit"]

Clock = Callable[[], datetime]


def apply_plan(
    session: Session,
    plan: Plan,
    *,
    actor: str,
    clock: Clock,
    rng: random.Random | None = None,
    connection: Connection | None = None,
) -> list[MailIntent]:
    """Write the plan in the caller's transaction (the caller commits) and return the mails to queue.

    A plan whose key was applied before changes nothing and returns no mail: the same document,
    decision or daily check applied twice is applied once. ``connection`` is the session's own
    (``session.connection()``) when the caller already holds it.
    """
    if not plan.ops and not plan.audit:
        return []
    now = clock()
    session.flush()
    connection = connection or session.connection()  # the transaction's one connection, not asked per statement
    if not _claim(session, connection, plan.key, now):
        return []
    # logins first: the dossier rows and audit entries of the plan name the accounts it creates
    logins = {
        op.ref: allocate_login(session, rng=rng, connection=connection)
        for op in plan.ops
        if isinstance(op, CreateAccount)
    }
    for op in plan.ops:
        _apply_op(session, op, now=now, logins=logins, rng=rng, connection=connection)
    session.flush()
    # the plan's entries in one append: one head lock, one INSERT (docs/audit.md)
    append_entries(
        session,
        [
            EntryFields(
                at=now,
                actor=actor,
                action=entry.action,
                org=entry.enterprise_number or None,
                login=_resolve(entry.login, logins),
                document_sha256=entry.document_sha256,
                reason=entry.reason,
                details=canonical_details(entry.details),
            )
            for entry in plan.audit
        ],
        connection=connection,
    )
    return [_resolve_mail(m, logins) for m in plan.mails]


def apply_plan_and_commit(
    session: Session, plan: Plan, *, actor: str, clock: Clock, rng: random.Random | None = None
) -> list[MailIntent]:
    """:func:`apply_plan`, then commit (rolled back on any error)."""
    try:
        mails = apply_plan(session, plan, actor=actor, clock=clock, rng=rng)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return mails


# Core statements built once per dialect: a plan runs them every time, and building a statement
# (or an ORM object: a DossierForm costs about 275 µs) costs more than the database's work.
_T_PLAN = AppliedPlan.__table__  # type: ignore[attr-defined]
_T_FORM = DossierForm.__table__  # type: ignore[attr-defined]
_T_ACC = Account.__table__  # type: ignore[attr-defined]
_T_LINK = AccountContract.__table__  # type: ignore[attr-defined]
_INSERTS: dict[str, Any] = {"postgresql": pg_insert, "sqlite": sqlite_insert}
_STATEMENTS: dict[tuple[str, Any], Any] = {}
#: every column of a new account (the values of :func:`_apply_op`'s CreateAccount)
_ACCOUNT_KEYS = (
    "login",
    "enterprise_number",
    "source_sha256",
    "document_sha256",
    "created_at",
    "updated_at",
    "status",
    "ended_at",
    "expiry_warned_for",
    "previous_email",
    "last_name",
    "first_name",
    "email",
    "email_key",
    "phone",
    "language",
    "user_type",
    "external_company",
    "access_end_date",
    "profile",
    "scope",
)
#: every column of a dossier row (the values of :func:`_record_form`)
_FORM_KEYS = (
    "sha256",
    "enterprise_number",
    "form_id",
    "action",
    "channel",
    "sender",
    "authenticated",
    "message_id",
    "received_at",
    "filename",
    "status",
    "reason",
    "fields",
    "warnings",
    "signatures",
    "approved_by",
    "decided_at",
    "login",
)
# run on the driver's cursor (auditchain.prepared), in the session's transaction
_INSERT_ACCOUNT = Prepared(_T_ACC.insert(), column_keys=_ACCOUNT_KEYS)
_INSERT_LINK = Prepared(_T_LINK.insert(), column_keys=("login", "contract_number"))
#: the dossier row's columns a later decision on the same document rewrites (see :func:`_record_form`)
_FORM_ALWAYS = ("action", "status", "reason", "fields", "decided_at")


def _statement(connection: Connection, name: str, variant: Any = None) -> Any:
    dialect = connection.dialect.name
    key = (dialect, (name, variant))
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        insert = _INSERTS.get(dialect, sqlite_insert)
        if name == "claim":
            stmt = Prepared(
                insert(_T_PLAN)
                .values(key=bindparam("plan_key"), applied_at=bindparam("at"))
                .on_conflict_do_nothing()
                .returning(_T_PLAN.c.key)
            )
        else:  # "form": insert the dossier row, or rewrite the columns ``variant`` names
            ins = insert(_T_FORM)
            stmt = Prepared(
                ins.on_conflict_do_update(
                    index_elements=[_T_FORM.c.sha256], set_={c: ins.excluded[c] for c in variant}
                ),
                column_keys=_FORM_KEYS,
            )
        _STATEMENTS[key] = stmt
    return stmt


def _claim(session: Session, connection: Connection, key: str, now: datetime) -> bool:
    # INSERT … ON CONFLICT DO NOTHING: a second worker applying the same key waits for the first
    # to commit and then inserts nothing, instead of failing on the primary key.
    return bool(_statement(connection, "claim").execute(connection, {"plan_key": key, "at": now}))


def _core(session: Session, connection: Connection) -> Connection:
    """The session's connection for a Core write, after the ORM changes pending before it (kept in order).

    Straight on the connection: ``Session.execute`` adds ORM machinery a Core statement does not need.
    """
    session.flush()
    return connection


def _forget(session: Session, model: type[Any], key: Any) -> None:
    """Expire the session's copy of a row written through Core, so an ORM reader sees the new values."""
    if not len(session.identity_map):  # no ORM object in the session (a plan's usual case)
        return
    obj = session.identity_map.get(session.identity_key(model, key))
    if obj is not None and object_session(obj) is session:
        session.expire(obj)


def _resolve(login: str | None, logins: dict[str, str]) -> str | None:
    return logins.get(login, login) if login else login


def _resolve_any(value: Any, logins: dict[str, str]) -> Any:
    # a plain string inside a list or dict (most of a mail's values) is resolved in place, without a call
    if isinstance(value, str):
        return logins.get(value, value)
    if isinstance(value, list):
        return [logins.get(v, v) if v.__class__ is str else _resolve_any(v, logins) for v in value]
    if isinstance(value, dict):
        return {k: logins.get(v, v) if v.__class__ is str else _resolve_any(v, logins) for k, v in value.items()}
    return value


def _resolve_mail(mail: MailIntent, logins: dict[str, str]) -> MailIntent:
    if not logins:
        return mail
    return replace(mail, login=_resolve(mail.login, logins), params=_resolve_any(mail.params, logins))


def _apply_op(
    session: Session,
    op: Op,
    *,
    now: datetime,
    logins: dict[str, str],
    rng: random.Random | None,
    connection: Connection,
) -> None:
    match op:
        case RecordForm():
            _record_form(session, connection, op, now=now, logins=logins)
        case QueueReview():
            item = session.exec(select(ReviewItem).where(col(ReviewItem.document_sha256) == op.sha256)).first()
            if item is None:
                item = ReviewItem(
                    document_sha256=op.sha256,
                    enterprise_number=op.enterprise_number,
                    form_id=op.form_id,
                    created_at=now,
                )
            item.reasons, item.fields, item.errors = list(op.reasons), dict(op.fields), list(op.errors)
            item.status, item.decided_at, item.decided_by, item.decision_reason = ReviewStatus.OPEN, None, None, None
            session.add(item)
        case SetAgreement():
            org = _org(session, op.enterprise_number)
            agreement = op.data
            org.name = agreement.org_name or org.name
            org.street, org.postcode, org.city = agreement.street, agreement.postcode, agreement.city
            org.notification_email = agreement.notification_email or None
            org.correspondence_language = agreement.correspondence_language or None
            org.agreement_sha256, org.agreement_approved_at = op.sha256, now
            session.add(org)
        case SetMasterUser():
            org = _org(session, op.enterprise_number)
            mu = op.data
            if not org.name:
                org.name = mu.org_name
                session.add(org)
            session.execute(
                update(MasterUser)
                .where(col(MasterUser.enterprise_number) == op.enterprise_number, col(MasterUser.is_current))
                .values(is_current=False, replaced_at=now)
            )
            session.flush()
            session.add(
                MasterUser(
                    enterprise_number=op.enterprise_number,
                    last_name=mu.last_name,
                    first_name=mu.first_name,
                    function=mu.function,
                    email=mu.email,
                    phone=mu.phone,
                    language=mu.language,
                    document_sha256=op.sha256,
                    approved_by=op.approved_by or "system",
                    approved_at=now,
                    is_current=True,
                )
            )
        case OpenOrganisation():
            org = _org(session, op.enterprise_number)
            org.status, org.opened_at = OrgStatus.OPEN, now
            session.add(org)
        case CreateAccount():
            # a login allocate_login has just found free: no row of the session, no contracts yet
            login = logins[op.ref]
            _core(session, connection)
            _INSERT_ACCOUNT.execute(
                connection,
                {
                    "login": login,
                    "enterprise_number": op.enterprise_number,
                    "source_sha256": op.sha256,
                    "document_sha256": op.sha256,
                    "created_at": now,
                    "updated_at": now,
                    "status": AccountStatus.ACTIVE,
                    "ended_at": None,
                    "expiry_warned_for": None,
                    "previous_email": "",
                    **_account_columns(op.data),
                },
            )
            if op.data.contracts:
                _INSERT_LINK.executemany(
                    connection, [{"login": login, "contract_number": n} for n in op.data.contracts]
                )
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


def _record_form(
    session: Session, connection: Connection, op: RecordForm, *, now: datetime, logins: dict[str, str]
) -> None:
    """Insert the dossier row, or rewrite what a new decision on the same document changes: one upsert.

    A later decision keeps the row's provenance, and keeps its warnings, signature verdicts,
    approver and account when the new decision has none of them.
    """
    p = op.provenance
    login = _resolve(op.login, logins) if op.login else None
    values = {
        "sha256": op.sha256,
        "enterprise_number": op.enterprise_number,
        "form_id": op.form_id,
        "action": op.action,
        "channel": str(p.channel),
        "sender": p.sender,
        "authenticated": p.authenticated,
        "message_id": p.message_id,
        "received_at": p.received_at,
        "filename": p.filename[:255],
        "status": op.status,
        "reason": op.reason,
        "fields": dict(op.fields),
        "warnings": list(op.warnings),
        "signatures": list(op.signatures),
        "approved_by": op.approved_by or None,
        "decided_at": now,
        "login": login,
    }
    rewrite = (
        *_FORM_ALWAYS,
        *(
            name
            for name, given in (
                ("warnings", op.warnings),
                ("signatures", op.signatures),
                ("approved_by", op.approved_by),
                ("login", login),
            )
            if given
        ),
    )
    _statement(connection, "form", rewrite).execute(_core(session, connection), values)
    _forget(session, DossierForm, op.sha256)


def _org(session: Session, enterprise_number: str) -> Organisation:
    org = session.get(Organisation, enterprise_number)
    if org is None:
        raise ProvisioningError(
            "org-not-locked", "the organisation row must exist (lock_dossier first)", org=enterprise_number
        )
    return org


def _account(session: Session, login: str) -> Account:
    account = session.get(Account, login)
    if account is None:
        raise ProvisioningError("account-not-found", "no such account", login=login)
    return account


def _account_columns(data: AccountData) -> dict[str, Any]:
    return {
        "last_name": data.last_name,
        "first_name": data.first_name,
        "email": data.email,
        "email_key": data.email.strip().lower(),
        "phone": data.phone,
        "language": data.language,
        "user_type": data.user_type,
        "external_company": data.external_company,
        "access_end_date": data.access_end_date,
        "profile": data.profile,
        "scope": data.scope,
    }


def _set_contracts(session: Session, login: str, contracts: tuple[str, ...]) -> None:
    # modify replaces the whole scope (docs/rules.md §Provisioning): the old list goes, the fiche's list comes
    session.execute(delete(AccountContract).where(col(AccountContract.login) == login))
    for number in contracts:
        session.add(AccountContract(login=login, contract_number=number))
