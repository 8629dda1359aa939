"""The provisioning tables: organisations, Master Users, contracts, accounts, credentials, dossier, review."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, column, func, text
from sqlmodel import Field, SQLModel

# defined beside the listing that `review list` runs without importing this module (docs/operations.md)
from extranet_intake.provisioning.review_list import ReviewStatus

__all__ = [
    "Account",
    "AccountContract",
    "AccountStatus",
    "AppliedPlan",
    "Contract",
    "Credential",
    "DossierForm",
    "FormStatus",
    "LegacyAccount",
    "MasterUser",
    "OrgStatus",
    "Organisation",
    "Profile",
    "ReviewApproval",
    "ReviewItem",
    "ReviewStatus",
    "Scope",
    "UserType",
]


class OrgStatus(StrEnum):
    PENDING = "pending"  # dossier incomplete: forms wait, nothing is provisioned
    OPEN = "open"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    #: the Master User did not answer an access review in time (``[access_review] suspend_overdue``):
    #: no login, kept whole — never deleted — until a person restores or ends it
    SUSPENDED = "suspended"


class Profile(StrEnum):
    CONSULT = "consult"
    CONSULT_INPUT = "consult_input"


class Scope(StrEnum):
    ALL = "all"
    SELECTED = "selected"


class UserType(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"


class FormStatus(StrEnum):
    IN_REVIEW = "in_review"  # waits for a person in the review queue
    WAITING = "waiting"  # accepted, waits until the dossier is complete
    APPLIED = "applied"  # took effect
    REJECTED = "rejected"  # by a rule or by a reviewer; never provisions


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"

    enterprise_number: str = Field(primary_key=True, max_length=10)
    name: str = Field(default="", max_length=120)
    street: str = Field(default="", max_length=120)
    postcode: str = Field(default="", max_length=10)
    city: str = Field(default="", max_length=80)
    #: the agreement's address for org notices; never receives credentials
    notification_email: str | None = Field(default=None, max_length=254)
    correspondence_language: str | None = Field(default=None, max_length=2)
    agreement_sha256: str | None = Field(default=None, max_length=64)
    agreement_approved_at: datetime | None = None
    status: OrgStatus = Field(sa_type=String(16), default=OrgStatus.PENDING, max_length=16)
    opened_at: datetime | None = None
    created_at: datetime


class MasterUser(SQLModel, table=True):
    """Every Master User an organisation ever had; exactly one row per org is ``is_current``."""

    __tablename__ = "master_user"
    __table_args__ = (
        Index(
            "ix_master_user_current",
            "enterprise_number",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_number: str = Field(foreign_key="organisation.enterprise_number", index=True, max_length=10)
    last_name: str = Field(max_length=120)
    first_name: str = Field(max_length=120)
    function: str = Field(default="", max_length=120)
    email: str = Field(max_length=254)
    phone: str = Field(default="", max_length=30)
    language: str = Field(max_length=2)
    document_sha256: str = Field(max_length=64)
    approved_by: str = Field(max_length=120)
    approved_at: datetime
    is_current: bool = True
    replaced_at: datetime | None = None


class Contract(SQLModel, table=True):
    """The contract register of the policy administration system (which contract is whose)."""

    __tablename__ = "contract"

    contract_number: str = Field(primary_key=True, max_length=20)
    enterprise_number: str = Field(index=True, max_length=10)
    contract_name: str = Field(default="", max_length=200)
    imported_at: datetime


class LegacyAccount(SQLModel, table=True):
    """Accounts of the old Extranet; revoked when the organisation's new access opens."""

    __tablename__ = "legacy_account"
    __table_args__ = (
        # Login allocation asks "was this login ever issued, in any case?" for every new account:
        # without this index that is a scan of the whole old Extranet (+10 ms a plan at 50,000 rows).
        Index("ix_legacy_account_login_upper", func.upper(column("login"))),
    )

    login: str = Field(primary_key=True, max_length=40)
    enterprise_number: str = Field(index=True, max_length=10)
    last_name: str = Field(default="", max_length=120)
    first_name: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=254)
    imported_at: datetime
    revoked_at: datetime | None = None


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = (
        # One person, one account: the database refuses a second active account with the same
        # address in an organisation even when two workers race past the rule check.
        Index(
            "ix_account_active_email",
            "enterprise_number",
            "email_key",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    login: str = Field(primary_key=True, max_length=40)
    enterprise_number: str = Field(foreign_key="organisation.enterprise_number", index=True, max_length=10)
    last_name: str = Field(max_length=120)
    first_name: str = Field(max_length=120)
    email: str = Field(max_length=254)
    #: lower-cased ``email``: the key of "one person, one account"
    email_key: str = Field(max_length=254)
    phone: str = Field(default="", max_length=30)
    language: str = Field(max_length=2)
    user_type: UserType = Field(sa_type=String(16), max_length=16)
    external_company: str = Field(default="", max_length=120)
    access_end_date: date | None = None
    profile: Profile = Field(sa_type=String(16), max_length=16)
    scope: Scope = Field(sa_type=String(16), max_length=16)
    status: AccountStatus = Field(sa_type=String(16), default=AccountStatus.ACTIVE, max_length=16)
    #: the fiche that created the account: one fiche never makes two accounts
    source_sha256: str = Field(unique=True, max_length=64)
    document_sha256: str = Field(max_length=64)
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    expiry_warned_for: date | None = None
    #: the address this account had before its last approved address change: the only recipient of
    #: the old-address notice (never of credentials); "" when the address never changed
    previous_email: str = Field(default="", max_length=254)


class AccountContract(SQLModel, table=True):
    __tablename__ = "account_contract"

    login: str = Field(foreign_key="account.login", primary_key=True, max_length=40)
    contract_number: str = Field(primary_key=True, max_length=20)


class Credential(SQLModel, table=True):
    """Temporary passwords: only the argon2id hash (its parameters inside), never the plaintext."""

    __tablename__ = "credential"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(foreign_key="account.login", index=True, max_length=40)
    password_hash: str = Field(max_length=255)
    issued_at: datetime
    expires_at: datetime
    must_change: bool = True
    used_at: datetime | None = None
    invalidated_at: datetime | None = None


class DossierForm(SQLModel, table=True):
    """Every form received for an organisation (by SHA-256: the same document is processed once)."""

    __tablename__ = "dossier_form"

    sha256: str = Field(primary_key=True, max_length=64)
    enterprise_number: str = Field(index=True, max_length=10)
    form_id: str = Field(max_length=16)
    action: str | None = Field(default=None, max_length=16)
    channel: str = Field(max_length=16)
    sender: str | None = Field(default=None, max_length=254)
    authenticated: bool = False
    message_id: str | None = Field(default=None, max_length=998)
    received_at: datetime
    #: the attachment's or dropped file's name as it arrived ("" when it had none)
    filename: str = Field(default="", max_length=255)
    status: FormStatus = Field(sa_type=String(16), max_length=16)
    #: why it waits, was refused, or went to review (stable codes, comma separated)
    reason: str = Field(default="", max_length=500)
    fields: dict[str, Any] = _json()
    warnings: list[dict[str, Any]] = _json_list()
    #: the verdict on each digital signature of the document (parsers.result.SignatureVerdict.as_dict)
    signatures: list[dict[str, Any]] = _json_list()
    approved_by: str | None = Field(default=None, max_length=120)
    decided_at: datetime | None = None
    #: the account this fiche created or changed
    login: str | None = Field(default=None, max_length=40)


class ReviewItem(SQLModel, table=True):
    __tablename__ = "review_item"
    __table_args__ = (UniqueConstraint("document_sha256", name="uq_review_item_document"),)

    id: int | None = Field(default=None, primary_key=True)
    document_sha256: str = Field(foreign_key="dossier_form.sha256", max_length=64)
    enterprise_number: str = Field(index=True, max_length=10)
    form_id: str = Field(max_length=16)
    #: why a person must look (stable codes)
    reasons: list[str] = _json_list()
    #: the prefilled values (OCR or parsed) shown to the reviewer
    fields: dict[str, Any] = _json()
    errors: list[dict[str, Any]] = _json_list()
    status: ReviewStatus = Field(sa_type=String(16), default=ReviewStatus.OPEN, index=True, max_length=16)
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=120)
    decision_reason: str | None = Field(default=None, max_length=500)
    corrections: dict[str, Any] = _json()


class ReviewApproval(SQLModel, table=True):
    """One person's approval of a review item's values as they stood (four eyes: distinct people).

    ``values_sha256`` names the values approved; an approval counts only while the item's values are
    still those (a correction by a later approver makes earlier approvals stale, never deleted).
    """

    __tablename__ = "review_approval"
    __table_args__ = (
        UniqueConstraint("review_item_id", "approver", "values_sha256", name="uq_review_approval_person"),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_item_id: int = Field(foreign_key="review_item.id", index=True)
    approver: str = Field(max_length=120)
    approved_at: datetime
    values_sha256: str = Field(max_length=64)
    corrections: dict[str, Any] = _json()
    reason: str | None = Field(default=None, max_length=500)


class AppliedPlan(SQLModel, table=True):
    """One row per applied plan: a unique key makes applying the same plan twice a no-op."""

    __tablename__ = "applied_plan"

    key: str = Field(primary_key=True, max_length=200)
    applied_at: datetime
