"""Reading a dossier's state for the rules, under the organisation's lock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from parsers.forms import FormId
from parsers.result import Channel
from provisioning.models import (
    Account,
    AccountContract,
    AccountStatus,
    Contract,
    DossierForm,
    FormStatus,
    LegacyAccount,
    MasterUser,
    Organisation,
    OrgStatus,
    Profile,
    Scope,
)
from provisioning.plan import AccountSnapshot, DossierState, FormSnapshot, MasterUserSnapshot, Provenance

__all__ = ["aware", "load_state", "lock_dossier", "provenance_of"]


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def lock_dossier(session: Session, enterprise_number: str, *, now: datetime) -> None:
    """Create the organisation row if needed and hold its lock until the transaction ends.

    Every plan of one organisation is made and applied under this lock, so two workers never both
    read "no account for this person yet" (PostgreSQL: the row lock; SQLite: the write below takes
    the database write lock, waiting on busy_timeout — call this first in the transaction so the
    snapshot read afterwards is the newest).
    """
    table = Organisation.__table__  # type: ignore[attr-defined]
    values = {"enterprise_number": enterprise_number, "status": OrgStatus.PENDING.value, "created_at": now,
              "name": "", "street": "", "postcode": "", "city": ""}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
        session.execute(sa_select(table.c.enterprise_number)
                        .where(table.c.enterprise_number == enterprise_number).with_for_update())
    else:
        session.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
        # INSERT OR IGNORE takes no lock when the row exists; this no-op UPDATE always does
        session.execute(update(table).where(table.c.enterprise_number == enterprise_number)
                        .values(enterprise_number=enterprise_number))


def provenance_of(row: DossierForm) -> Provenance:
    return Provenance(sha256=row.sha256, channel=Channel(row.channel), sender=row.sender,
                      authenticated=row.authenticated, received_at=aware(row.received_at),
                      message_id=row.message_id)


def load_state(session: Session, enterprise_number: str, *, sha256: str | None = None) -> DossierState:
    """Everything the rules need about one organisation (and whether ``sha256`` was seen before)."""
    seen: frozenset[str] = frozenset()
    if sha256 is not None and session.get(DossierForm, sha256) is not None:
        seen = frozenset({sha256})
    if not enterprise_number:
        return DossierState(enterprise_number="", seen=seen)
    org = session.get(Organisation, enterprise_number)
    if org is None:
        return DossierState(enterprise_number=enterprise_number, seen=seen)

    mu = session.exec(select(MasterUser).where(col(MasterUser.enterprise_number) == enterprise_number,
                                               col(MasterUser.is_current))).first()
    forms = session.exec(
        select(DossierForm).where(col(DossierForm.enterprise_number) == enterprise_number,
                                  col(DossierForm.status).in_([FormStatus.WAITING, FormStatus.IN_REVIEW]))
        .order_by(col(DossierForm.received_at))).all()
    pending_mu = [f for f in forms if f.form_id == FormId.MU and f.status == FormStatus.IN_REVIEW]
    waiting = tuple(FormSnapshot(sha256=f.sha256, form_id=f.form_id, status=FormStatus(f.status), fields=f.fields,
                                 provenance=provenance_of(f), approved_by=f.approved_by)
                    for f in forms if f.status == FormStatus.WAITING)

    # Core rows, not ORM objects: an organisation may have hundreds of accounts and this runs once
    # per document
    a = Account.__table__.c  # type: ignore[attr-defined]
    accounts = session.execute(
        sa_select(a.login, a.email, a.status, a.last_name, a.first_name, a.profile, a.scope, a.access_end_date,
                  a.expiry_warned_for, a.source_sha256).where(a.enterprise_number == enterprise_number)).all()
    links: dict[str, list[str]] = {}
    if accounts:
        ac = AccountContract.__table__.c  # type: ignore[attr-defined]
        for login, number in session.execute(
                sa_select(ac.login, ac.contract_number).join(Account.__table__, a.login == ac.login)  # type: ignore[attr-defined]
                .where(a.enterprise_number == enterprise_number)):
            links.setdefault(login, []).append(number)
    contracts = frozenset(session.exec(select(Contract.contract_number).where(
        col(Contract.enterprise_number) == enterprise_number)))
    legacy = tuple(session.exec(select(LegacyAccount.login).where(
        col(LegacyAccount.enterprise_number) == enterprise_number,
        col(LegacyAccount.revoked_at).is_(None)).order_by(col(LegacyAccount.login))))

    return DossierState(
        enterprise_number=enterprise_number,
        org_name=org.name,
        is_open=org.status == OrgStatus.OPEN,
        notification_email=org.notification_email,
        correspondence_language=org.correspondence_language,
        has_agreement=org.agreement_sha256 is not None,
        master_user=MasterUserSnapshot(email=mu.email, name=f"{mu.first_name} {mu.last_name}".strip(),
                                       language=mu.language) if mu else None,
        pending_mu_email=str(pending_mu[-1].fields.get("mu_email") or "") or None if pending_mu else None,
        accounts=tuple(AccountSnapshot(
            login=r.login, email=r.email, status=AccountStatus(r.status), last_name=r.last_name,
            first_name=r.first_name, profile=Profile(r.profile), scope=Scope(r.scope),
            contracts=tuple(sorted(links.get(r.login, []))), access_end_date=r.access_end_date,
            expiry_warned_for=r.expiry_warned_for, source_sha256=r.source_sha256) for r in accounts),
        contracts=contracts,
        legacy_logins=legacy,
        waiting=waiting,
        seen=seen,
    )
