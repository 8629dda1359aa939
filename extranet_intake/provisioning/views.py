"""Read-only views of dossiers and accounts for the team and auditors (no secret ever shown)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from extranet_intake.errors import ProvisioningError
from extranet_intake.parsers.forms import FormId
from extranet_intake.provisioning.models import (
    Account,
    AccountContract,
    AccountStatus,
    Credential,
    DossierForm,
    FormStatus,
    LegacyAccount,
    MasterUser,
    Organisation,
    OrgStatus,
)
from extranet_intake.reasons import reason_text

__all__ = ["OrgDossier", "OrgSummary", "UserView", "list_orgs", "list_users", "missing_of", "show_org", "show_user"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class OrgSummary:
    enterprise_number: str
    name: str
    status: str
    master_user: str
    active_accounts: int
    in_review: int
    missing: list[str]

    def as_dict(self) -> dict[str, Any]:
        return dict(_jsonable(asdict(self)))


@dataclass(frozen=True)
class UserView:
    login: str
    enterprise_number: str
    name: str
    email: str
    status: str
    profile: str
    scope: str
    contracts: list[str]
    user_type: str
    access_end_date: date | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    language: str = ""
    external_company: str = ""
    document_sha256: str = ""
    #: the latest temporary password's life (never the password or its hash)
    credentials: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(_jsonable(asdict(self)))


@dataclass(frozen=True)
class OrgDossier:
    summary: OrgSummary
    street: str
    postcode: str
    city: str
    notification_email: str | None
    correspondence_language: str | None
    opened_at: datetime | None
    master_user: dict[str, Any] | None
    forms: list[dict[str, Any]]
    accounts: list[UserView]
    legacy_accounts: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        out = dict(_jsonable({k: v for k, v in self.__dict__.items() if k not in ("summary", "accounts")}))
        return {**self.summary.as_dict(), **out, "accounts": [a.as_dict() for a in self.accounts]}


def missing_of(org: Organisation, forms: list[DossierForm], has_mu: bool) -> list[str]:
    """What the dossier still lacks before access opens (empty once open)."""
    if org.status == OrgStatus.OPEN:
        return []
    missing = []

    def state(form_id: str) -> str:
        statuses = {f.status for f in forms if f.form_id == form_id}
        return " (in review)" if FormStatus.IN_REVIEW in statuses else ""

    if org.agreement_sha256 is None:
        missing.append("approved EAP-AGR" + state(FormId.AGR))
    if not has_mu:
        missing.append("approved EAP-MU" + state(FormId.MU))
    if not any(f.form_id == FormId.USR and f.status == FormStatus.WAITING and f.action == "new" for f in forms):
        missing.append("valid EAP-USR (new)" + state(FormId.USR))
    return missing


def _mu(session: Session, en: str) -> MasterUser | None:
    return session.exec(
        select(MasterUser).where(col(MasterUser.enterprise_number) == en, col(MasterUser.is_current))
    ).first()


def _summary(session: Session, org: Organisation) -> tuple[OrgSummary, list[DossierForm], MasterUser | None]:
    forms = list(
        session.exec(
            select(DossierForm)
            .where(col(DossierForm.enterprise_number) == org.enterprise_number)
            .order_by(col(DossierForm.received_at))
        )
    )
    mu = _mu(session, org.enterprise_number)
    active = session.exec(
        select(func.count())
        .select_from(Account)
        .where(col(Account.enterprise_number) == org.enterprise_number, col(Account.status) == AccountStatus.ACTIVE)
    ).one()
    return (
        OrgSummary(
            enterprise_number=org.enterprise_number,
            name=org.name,
            status=str(org.status),
            master_user=f"{mu.first_name} {mu.last_name} <{mu.email}>" if mu else "",
            active_accounts=int(active),
            in_review=sum(1 for f in forms if f.status == FormStatus.IN_REVIEW),
            missing=missing_of(org, forms, mu is not None),
        ),
        forms,
        mu,
    )


def list_orgs(session: Session) -> list[OrgSummary]:
    return [
        _summary(session, org)[0]
        for org in session.exec(select(Organisation).order_by(col(Organisation.enterprise_number)))
    ]


def show_org(session: Session, enterprise_number: str) -> OrgDossier:
    org = session.get(Organisation, enterprise_number)
    if org is None:
        raise ProvisioningError(
            "org-not-found", f"no dossier for enterprise number {enterprise_number}", org=enterprise_number
        )
    summary, forms, mu = _summary(session, org)
    legacy = session.exec(
        select(LegacyAccount)
        .where(col(LegacyAccount.enterprise_number) == enterprise_number)
        .order_by(col(LegacyAccount.login))
    ).all()
    return OrgDossier(
        summary=summary,
        street=org.street,
        postcode=org.postcode,
        city=org.city,
        notification_email=org.notification_email,
        correspondence_language=org.correspondence_language,
        opened_at=org.opened_at if org.opened_at else None,
        master_user={
            "name": f"{mu.first_name} {mu.last_name}",
            "email": mu.email,
            "language": mu.language,
            "phone": mu.phone,
            "approved_by": mu.approved_by,
            "approved_at": mu.approved_at,
            "document_sha256": mu.document_sha256,
        }
        if mu
        else None,
        forms=[
            {
                "sha256": f.sha256,
                "form_id": f.form_id,
                "action": f.action,
                "status": str(f.status),
                "reason": f.reason,
                "reason_text": reason_text(f.reason),
                "channel": f.channel,
                "sender": f.sender,
                "received_at": f.received_at,
                "approved_by": f.approved_by,
                "login": f.login,
            }
            for f in forms
        ],
        accounts=list_users(session, org=enterprise_number),
        legacy_accounts=[
            {
                "login": la.login,
                "name": f"{la.first_name} {la.last_name}".strip(),
                "revoked_at": la.revoked_at if la.revoked_at else None,
            }
            for la in legacy
        ],
    )


def _user_view(session: Session, a: Account, contracts: list[str], *, with_credentials: bool) -> UserView:
    credentials: dict[str, Any] = {}
    if with_credentials:
        cred = session.exec(
            select(Credential).where(col(Credential.login) == a.login).order_by(col(Credential.id).desc())
        ).first()
        if cred is not None:
            credentials = {
                "issued_at": cred.issued_at,
                "expires_at": cred.expires_at,
                "used": cred.used_at is not None,
                "invalidated": cred.invalidated_at is not None,
                "must_change": cred.must_change,
            }
    return UserView(
        login=a.login,
        enterprise_number=a.enterprise_number,
        name=f"{a.first_name} {a.last_name}".strip(),
        email=a.email,
        status=str(a.status),
        profile=str(a.profile),
        scope=str(a.scope),
        contracts=contracts,
        user_type=str(a.user_type),
        access_end_date=a.access_end_date,
        created_at=a.created_at,
        updated_at=a.updated_at,
        ended_at=a.ended_at if a.ended_at else None,
        language=a.language,
        external_company=a.external_company,
        document_sha256=a.document_sha256,
        credentials=credentials,
    )


def list_users(session: Session, *, org: str | None = None) -> list[UserView]:
    query = select(Account).order_by(col(Account.enterprise_number), col(Account.login))
    links = select(AccountContract.login, AccountContract.contract_number)
    if org:
        query = query.where(col(Account.enterprise_number) == org)
        links = links.join(Account, col(Account.login) == col(AccountContract.login)).where(
            col(Account.enterprise_number) == org
        )
    contracts: dict[str, list[str]] = {}
    for login, number in session.exec(links):
        contracts.setdefault(login, []).append(number)
    return [
        _user_view(session, a, sorted(contracts.get(a.login, [])), with_credentials=False) for a in session.exec(query)
    ]


def show_user(session: Session, login: str) -> UserView:
    account = session.get(Account, login)
    if account is None:
        raise ProvisioningError("user-not-found", f"no account with login {login}", login=login)
    contracts = sorted(session.exec(select(AccountContract.contract_number).where(col(AccountContract.login) == login)))
    return _user_view(session, account, contracts, with_credentials=True)
