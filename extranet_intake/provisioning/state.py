"""Reading a dossier's state for the rules, under the organisation's lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlmodel import Session

from extranet_intake.auditchain.prepared import Prepared
from extranet_intake.parsers.forms import FormId
from extranet_intake.parsers.result import Channel, FieldValue
from extranet_intake.provisioning.models import (
    Account,
    AccountContract,
    AccountStatus,
    Contract,
    Credential,
    DossierForm,
    FormStatus,
    LegacyAccount,
    MasterUser,
    Organisation,
    OrgStatus,
    Profile,
    Scope,
)
from extranet_intake.provisioning.plan import (
    AccountSnapshot,
    DossierState,
    FormSnapshot,
    MasterUserSnapshot,
    Provenance,
)
from extranet_intake.provisioning.rules import accounts_needed, master_user_data

__all__ = ["load_state", "lock_dossier", "stored_provenance"]


def lock_dossier(
    session: Session, enterprise_number: str, *, now: datetime, connection: Connection | None = None
) -> Any:
    """Create the organisation row if needed, hold its lock until the transaction ends, and read it.

    Every plan of one organisation is made and applied under this lock, so two workers never both
    read "no account for this person yet". One upsert that always writes the row (``ON CONFLICT DO
    UPDATE`` of the key to itself) takes the lock on both databases: PostgreSQL's row lock, SQLite's
    write lock (waiting on busy_timeout — call this first in the transaction so the snapshot read
    afterwards is the newest). It returns the row's columns the rules read (for :func:`load_state`'s
    ``org``), as they are under the lock. ``connection`` is the session's own when the caller holds it.
    """
    connection = connection or session.connection()
    values = {
        "enterprise_number": enterprise_number,
        "status": OrgStatus.PENDING.value,
        "created_at": now,
        "name": "",
        "street": "",
        "postcode": "",
        "city": "",
    }
    return _LOCK_ORG.get(connection.dialect.name, _LOCK_ORG["sqlite"]).execute(connection, values)[0]


def stored_provenance(row: DossierForm) -> Provenance:
    return Provenance(
        sha256=row.sha256,
        channel=Channel(row.channel),
        sender=row.sender,
        authenticated=row.authenticated,
        received_at=row.received_at,
        message_id=row.message_id,
        filename=row.filename or "",
    )


# Statements built once: a document's state is read for every plan, and building SQLAlchemy
# statements costs more than running these small indexed queries.
_T_ORG = Organisation.__table__  # type: ignore[attr-defined]
_T_MU = MasterUser.__table__  # type: ignore[attr-defined]
_T_FORM = DossierForm.__table__  # type: ignore[attr-defined]
_T_ACC = Account.__table__  # type: ignore[attr-defined]
_T_LINK = AccountContract.__table__  # type: ignore[attr-defined]
_T_CON = Contract.__table__  # type: ignore[attr-defined]
_T_LEG = LegacyAccount.__table__  # type: ignore[attr-defined]
_T_CRED = Credential.__table__  # type: ignore[attr-defined]
_EN: Any = bindparam("en")
_SEEN_SQL = sa_select(_T_FORM.c.sha256).where(_T_FORM.c.sha256 == bindparam("sha"))
_ORG_SQL = sa_select(
    _T_ORG.c.name,
    _T_ORG.c.status,
    _T_ORG.c.notification_email,
    _T_ORG.c.correspondence_language,
    _T_ORG.c.agreement_sha256,
).where(_T_ORG.c.enterprise_number == _EN)
_MU_SQL = sa_select(_T_MU.c.email, _T_MU.c.first_name, _T_MU.c.last_name, _T_MU.c.language).where(
    _T_MU.c.enterprise_number == _EN, _T_MU.c.is_current
)
_FORMS_SQL = (
    sa_select(_T_FORM)
    .where(
        _T_FORM.c.enterprise_number == _EN, _T_FORM.c.status.in_([FormStatus.WAITING.value, FormStatus.IN_REVIEW.value])
    )
    .order_by(_T_FORM.c.received_at)
)
_REJECTED_SQL = (
    sa_select(_T_FORM)
    .where(_T_FORM.c.enterprise_number == _EN, _T_FORM.c.status == FormStatus.REJECTED.value)
    .order_by(_T_FORM.c.received_at)
)
_ACCOUNTS_SQL = sa_select(
    _T_ACC.c.login,
    _T_ACC.c.email,
    _T_ACC.c.status,
    _T_ACC.c.last_name,
    _T_ACC.c.first_name,
    _T_ACC.c.profile,
    _T_ACC.c.scope,
    _T_ACC.c.access_end_date,
    _T_ACC.c.expiry_warned_for,
    _T_ACC.c.source_sha256,
).where(_T_ACC.c.enterprise_number == _EN)
_ACTIVATED_SQL = (
    sa_select(_T_CRED.c.login)
    .distinct()
    .join(_T_ACC, _T_ACC.c.login == _T_CRED.c.login)
    .where(_T_ACC.c.enterprise_number == _EN, _T_CRED.c.used_at.is_not(None))
)
_LINKS_SQL = (
    sa_select(_T_LINK.c.login, _T_LINK.c.contract_number)
    .join(_T_ACC, _T_ACC.c.login == _T_LINK.c.login)
    .where(_T_ACC.c.enterprise_number == _EN)
)
# A form's plan looks at a handful of accounts, found through indexes (the primary key; the
# partial index of active addresses): its cost does not grow with the organisation's size.
_LOGINS: Any = bindparam("logins", expanding=True)
_ACCOUNT_BY_LOGIN_SQL = _ACCOUNTS_SQL.where(_T_ACC.c.login == bindparam("login"))
_ACCOUNTS_BY_EMAIL_SQL = _ACCOUNTS_SQL.where(
    _T_ACC.c.status == AccountStatus.ACTIVE.value, _T_ACC.c.email_key.in_(bindparam("keys", expanding=True))
)
_ACTIVATED_OF_SQL = (
    sa_select(_T_CRED.c.login).distinct().where(_T_CRED.c.login.in_(_LOGINS), _T_CRED.c.used_at.is_not(None))
)
_LINKS_OF_SQL = sa_select(_T_LINK.c.login, _T_LINK.c.contract_number).where(_T_LINK.c.login.in_(_LOGINS))
_CONTRACTS_SQL = sa_select(_T_CON.c.contract_number).where(_T_CON.c.enterprise_number == _EN)
_LEGACY_SQL = (
    sa_select(_T_LEG.c.login)
    .where(_T_LEG.c.enterprise_number == _EN, _T_LEG.c.revoked_at.is_(None))
    .order_by(_T_LEG.c.login)
)


_ORG_COLUMNS = (
    _T_ORG.c.name,
    _T_ORG.c.status,
    _T_ORG.c.notification_email,
    _T_ORG.c.correspondence_language,
    _T_ORG.c.agreement_sha256,
)
_LOCK_ORG = {
    name: Prepared(
        (
            lambda ins: ins.on_conflict_do_update(
                index_elements=[_T_ORG.c.enterprise_number], set_={"enterprise_number": ins.excluded.enterprise_number}
            ).returning(*_ORG_COLUMNS)
        )(insert(_T_ORG)),
        column_keys=("enterprise_number", "status", "created_at", "name", "street", "postcode", "city"),
    )
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
# the forms the rules look at and whether the document was seen before, in one read
_FORMS_OR_SEEN_SQL = (
    sa_select(_T_FORM)
    .where(
        or_(
            and_(
                _T_FORM.c.enterprise_number == _EN,
                _T_FORM.c.status.in_([FormStatus.WAITING.value, FormStatus.IN_REVIEW.value]),
            ),
            _T_FORM.c.sha256 == bindparam("sha"),
        )
    )
    .order_by(_T_FORM.c.received_at)
)
_OPEN_STATUSES = frozenset({FormStatus.WAITING.value, FormStatus.IN_REVIEW.value})


# run on the driver's cursor (auditchain.prepared): SQLAlchemy's per-execution work costs more than these reads
_SEEN = Prepared(_SEEN_SQL)
_ORG = Prepared(_ORG_SQL)
_MU = Prepared(_MU_SQL)
_FORMS = Prepared(_FORMS_SQL)
_REJECTED = Prepared(_REJECTED_SQL)
_ACCOUNTS = Prepared(_ACCOUNTS_SQL)
_ACTIVATED = Prepared(_ACTIVATED_SQL)
_LINKS = Prepared(_LINKS_SQL)
_ACCOUNT_BY_LOGIN = Prepared(_ACCOUNT_BY_LOGIN_SQL)
_ACCOUNTS_BY_EMAIL = Prepared(_ACCOUNTS_BY_EMAIL_SQL, expanding=("keys",))
_ACTIVATED_OF = Prepared(_ACTIVATED_OF_SQL, expanding=("logins",))
_LINKS_OF = Prepared(_LINKS_OF_SQL, expanding=("logins",))
_CONTRACTS = Prepared(_CONTRACTS_SQL)
_LEGACY = Prepared(_LEGACY_SQL)
_FORMS_OR_SEEN = Prepared(_FORMS_OR_SEEN_SQL)


def _first(rows: list[Any]) -> Any:
    return rows[0] if rows else None


def _provenance_of_row(row: Any) -> Provenance:
    return Provenance(
        sha256=row.sha256,
        channel=Channel(row.channel),
        sender=row.sender,
        authenticated=bool(row.authenticated),
        received_at=row.received_at,
        message_id=row.message_id,
        filename=row.filename or "",
    )


def _accounts_for(
    run: Any, enterprise_number: str, fields: dict[str, FieldValue], waiting: tuple[FormSnapshot, ...]
) -> list[Any]:
    login, keys = accounts_needed(fields, waiting)
    found: dict[str, Any] = {}
    if login:
        # Logins are stored upper-case (make_login), so the rule's case-insensitive match is the
        # primary key's equality with the upper-cased login.
        found.update((r.login, r) for r in run(_ACCOUNT_BY_LOGIN, {"en": enterprise_number, "login": login}))
    if keys:
        found.update((r.login, r) for r in run(_ACCOUNTS_BY_EMAIL, {"en": enterprise_number, "keys": sorted(keys)}))
    return list(found.values())


def load_state(
    session: Session,
    enterprise_number: str,
    *,
    sha256: str | None = None,
    fields: dict[str, FieldValue] | None = None,
    org: Any = None,
    connection: Connection | None = None,
) -> DossierState:
    """Everything the rules need about one organisation (and whether ``sha256`` was seen before).

    With ``fields`` (the form to plan), ``accounts`` holds only the accounts the rules can look at
    for it (see :func:`provisioning.rules.accounts_needed`); without, every account (the expiry pass).
    ``org`` is the row :func:`lock_dossier` returned, when the caller locked (it is then not read again).
    ``connection`` is the session's own when the caller holds it.
    """
    session.flush()  # Core reads below do not autoflush pending ORM changes of this transaction
    connection = connection or session.connection()

    def run(stmt: Prepared, params: dict[str, Any]) -> list[Any]:
        return stmt.execute(connection, params)

    seen: frozenset[str] = frozenset()
    params: dict[str, Any] = {"en": enterprise_number}
    forms: Sequence[Any]
    if org is None and enterprise_number:
        org = _first(run(_ORG, params))
    if org is not None and sha256 is not None:
        rows = run(_FORMS_OR_SEEN, {"en": enterprise_number, "sha": sha256})
        seen = frozenset({sha256}) if any(f.sha256 == sha256 for f in rows) else seen
        forms = [f for f in rows if f.enterprise_number == enterprise_number and f.status in _OPEN_STATUSES]
    else:
        if sha256 is not None and run(_SEEN, {"sha": sha256}):
            seen = frozenset({sha256})
        if org is None:
            return DossierState(enterprise_number=enterprise_number, seen=seen)
        forms = run(_FORMS, params)

    mu = _first(run(_MU, params))
    pending_mu = [f for f in forms if f.form_id == FormId.MU and f.status == FormStatus.IN_REVIEW]
    waiting = tuple(
        FormSnapshot(
            sha256=f.sha256,
            form_id=f.form_id,
            status=FormStatus(f.status),
            fields=dict(f.fields),
            provenance=_provenance_of_row(f),
            approved_by=f.approved_by,
        )
        for f in forms
        if f.status == FormStatus.WAITING
    )
    # Without a Master User nobody could be told of a refused fiche: they wait for the first one.
    unreported = (
        tuple(
            FormSnapshot(
                sha256=f.sha256,
                form_id=f.form_id,
                status=FormStatus(f.status),
                fields=dict(f.fields),
                provenance=_provenance_of_row(f),
                reason=f.reason,
            )
            for f in run(_REJECTED, params)
        )
        if mu is None
        else ()
    )
    links: dict[str, list[str]] = {}
    activated: frozenset[str] = frozenset()
    if fields is None:
        accounts = run(_ACCOUNTS, params)
        if accounts:
            for login, number in run(_LINKS, params):
                links.setdefault(login, []).append(number)
            activated = frozenset(r[0] for r in run(_ACTIVATED, params))
    else:
        accounts = _accounts_for(run, enterprise_number, fields, waiting)
        if accounts:
            logins: dict[str, Any] = {"logins": [r.login for r in accounts]}
            for login, number in run(_LINKS_OF, logins):
                links.setdefault(login, []).append(number)
            activated = frozenset(r[0] for r in run(_ACTIVATED_OF, logins))
    contracts = frozenset(r[0] for r in run(_CONTRACTS, params))
    # only an opening revokes legacy accounts, and an open dossier never opens again
    legacy = tuple(r[0] for r in run(_LEGACY, params)) if org.status != OrgStatus.OPEN else ()

    return DossierState(
        enterprise_number=enterprise_number,
        org_name=org.name,
        is_open=org.status == OrgStatus.OPEN,
        notification_email=org.notification_email,
        correspondence_language=org.correspondence_language,
        has_agreement=org.agreement_sha256 is not None,
        master_user=MasterUserSnapshot(
            email=mu.email, name=f"{mu.first_name} {mu.last_name}".strip(), language=mu.language
        )
        if mu
        else None,
        pending_mu_email=master_user_data(dict(pending_mu[-1].fields)).email or None if pending_mu else None,
        accounts=tuple(
            AccountSnapshot(
                login=r.login,
                email=r.email,
                status=AccountStatus(r.status),
                last_name=r.last_name,
                first_name=r.first_name,
                profile=Profile(r.profile),
                scope=Scope(r.scope),
                contracts=tuple(sorted(links.get(r.login, []))),
                access_end_date=r.access_end_date,
                expiry_warned_for=r.expiry_warned_for,
                source_sha256=r.source_sha256,
                activated=r.login in activated,
            )
            for r in accounts
        ),
        contracts=contracts,
        legacy_logins=legacy,
        waiting=waiting,
        unreported_rejections=unreported,
        seen=seen,
    )
