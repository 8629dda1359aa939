"""The values rules work on and produce: provenance, dossier state, plan operations, audit and mail intents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from extranet_intake.auditchain.chain import AuditAction
from extranet_intake.parsers.result import Channel, FieldValue
from extranet_intake.provisioning.models import AccountStatus, FormStatus, Profile, Scope, UserType

__all__ = [
    "KIND_OF",
    "AccountData",
    "AccountSnapshot",
    "AuditIntent",
    "CreateAccount",
    "DossierState",
    "EndAccount",
    "FormSnapshot",
    "MailEvent",
    "MailIntent",
    "MailKind",
    "MarkExpiryWarned",
    "MasterUserSnapshot",
    "ModifyAccount",
    "Op",
    "OpenOrganisation",
    "Plan",
    "PlanOutcome",
    "Provenance",
    "QueueReview",
    "RecordForm",
    "RevokeLegacy",
    "SetAgreement",
    "SetMasterUser",
    "new_account_ref",
]


@dataclass(frozen=True)
class Provenance:
    """Where a document came from, as intake established it (``authenticated``: DMARC pass from the
    trusted gateway, or ``require_dmarc`` off)."""

    sha256: str
    channel: Channel
    sender: str | None
    authenticated: bool
    received_at: datetime
    message_id: str | None = None
    #: the name the file arrived under (attachment or dropped file), for people to recognise it
    filename: str = ""


class MailKind(StrEnum):
    """The mail purposes (values are the mailer's purpose names)."""

    CREDENTIALS = "credentials"
    ORG_NOTICE = "org_notice"
    MASTER_USER_NOTICE = "master_user_notice"
    #: to the address an account had before an approved address change: a notice, never credentials
    OLD_ADDRESS_NOTICE = "old_address_notice"


class MailEvent(StrEnum):
    """Events a decision asks the mailer to tell (values are the mailer's event names)."""

    ACCOUNT_OPENED = "account_opened"
    CREDENTIALS_REISSUED = "credentials_reissued"
    ACCESS_OPENED = "access_opened"
    CHANGES_APPLIED = "changes_applied"
    FORM_REJECTED = "form_rejected"
    EXPIRY_COMING = "expiry_coming"
    EMAIL_CHANGED = "email_changed"
    ACCESS_REVIEW = "access_review"
    ACCESS_REVIEW_REMINDER = "access_review_reminder"
    #: the team's notices to every organisation with open access (``notify``), not a plan's
    NEW_DOCUMENTS = "new_documents"
    NEW_FEATURES = "new_features"


#: the purpose each event belongs to; equal to the mailer's own table (tests/unit/test_layers.py), so a
#: plan can never queue an event under a purpose the mailer would refuse at send time
KIND_OF: dict[MailEvent, MailKind] = {
    MailEvent.ACCOUNT_OPENED: MailKind.CREDENTIALS,
    MailEvent.CREDENTIALS_REISSUED: MailKind.CREDENTIALS,
    MailEvent.ACCESS_OPENED: MailKind.ORG_NOTICE,
    MailEvent.CHANGES_APPLIED: MailKind.MASTER_USER_NOTICE,
    MailEvent.FORM_REJECTED: MailKind.MASTER_USER_NOTICE,
    MailEvent.EXPIRY_COMING: MailKind.MASTER_USER_NOTICE,
    MailEvent.EMAIL_CHANGED: MailKind.OLD_ADDRESS_NOTICE,
    MailEvent.ACCESS_REVIEW: MailKind.MASTER_USER_NOTICE,
    MailEvent.ACCESS_REVIEW_REMINDER: MailKind.MASTER_USER_NOTICE,
    MailEvent.NEW_DOCUMENTS: MailKind.ORG_NOTICE,
    MailEvent.NEW_FEATURES: MailKind.ORG_NOTICE,
}


@dataclass(frozen=True)
class MailIntent:
    """A mail to queue. ``params`` never hold a secret; credentials are made at sending time.

    ``login`` may name a not-yet-allocated account as :func:`new_account_ref` (its fiche's
    SHA-256); :func:`provisioning.apply.apply_plan` replaces it with the real login.
    """

    kind: MailKind
    event: MailEvent
    enterprise_number: str
    login: str | None
    params: dict[str, Any]
    idempotency_key: str

    def __post_init__(self) -> None:
        if KIND_OF[self.event] is not self.kind:
            raise ValueError(f"mail event {self.event} belongs to {KIND_OF[self.event]}, not {self.kind}")

    @property
    def ref(self) -> str:
        """What the mailer resolves the recipient from: the login for mails about one account, else the org."""
        if self.kind in (MailKind.CREDENTIALS, MailKind.OLD_ADDRESS_NOTICE):
            return self.login or ""
        return self.enterprise_number


@dataclass(frozen=True)
class AuditIntent:
    action: AuditAction
    reason: str
    enterprise_number: str | None
    login: str | None = None
    document_sha256: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def new_account_ref(fiche_sha256: str) -> str:
    """Placeholder login of the account a fiche will create, resolved when the plan is applied."""
    return f"new:{fiche_sha256}"


# --- operations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordForm:
    """Insert or update the dossier row of a document."""

    sha256: str
    enterprise_number: str
    form_id: str
    status: FormStatus
    reason: str
    fields: dict[str, FieldValue]
    provenance: Provenance
    warnings: tuple[dict[str, Any], ...] = ()
    approved_by: str | None = None
    login: str | None = None
    #: the verdicts on the document's digital signatures (SignatureVerdict.as_dict)
    signatures: tuple[dict[str, Any], ...] = ()

    @property
    def action(self) -> str | None:
        """A fiche's action (new, modify, revoke; docs/forms.md), kept on the dossier row; None for other forms."""
        value = self.fields.get("action")
        return str(value) if value else None


@dataclass(frozen=True)
class QueueReview:
    sha256: str
    enterprise_number: str
    form_id: str
    reasons: tuple[str, ...]
    fields: dict[str, FieldValue]
    errors: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class AgreementData:
    """What an EAP-AGR says about its organisation, read once from the form (provisioning.rules.agreement_data)."""

    org_name: str
    street: str
    postcode: str
    city: str
    notification_email: str
    correspondence_language: str


@dataclass(frozen=True)
class MasterUserData:
    """The person an EAP-MU names, read once from the form (provisioning.rules.master_user_data)."""

    org_name: str
    last_name: str
    first_name: str
    function: str
    email: str
    phone: str
    language: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class SetAgreement:
    enterprise_number: str
    data: AgreementData
    sha256: str


@dataclass(frozen=True)
class SetMasterUser:
    enterprise_number: str
    data: MasterUserData
    sha256: str
    approved_by: str


@dataclass(frozen=True)
class OpenOrganisation:
    enterprise_number: str


@dataclass(frozen=True)
class AccountData:
    last_name: str
    first_name: str
    email: str
    phone: str
    language: str
    user_type: UserType
    external_company: str
    access_end_date: date | None
    profile: Profile
    scope: Scope
    contracts: tuple[str, ...]


@dataclass(frozen=True)
class CreateAccount:
    ref: str  # new_account_ref(fiche sha256)
    enterprise_number: str
    data: AccountData
    sha256: str


@dataclass(frozen=True)
class ModifyAccount:
    login: str
    data: AccountData
    sha256: str
    #: the fiche moves the account to another address: temporary passwords not used yet (mailed to
    #: the old one) die
    email_changed: bool = False


@dataclass(frozen=True)
class EndAccount:
    login: str
    status: AccountStatus  # REVOKED or EXPIRED
    sha256: str | None


@dataclass(frozen=True)
class RevokeLegacy:
    login: str


@dataclass(frozen=True)
class MarkExpiryWarned:
    login: str
    end_date: date


Op = (
    RecordForm
    | QueueReview
    | SetAgreement
    | SetMasterUser
    | OpenOrganisation
    | CreateAccount
    | ModifyAccount
    | EndAccount
    | RevokeLegacy
    | MarkExpiryWarned
)


class PlanOutcome(StrEnum):
    APPLIED = "applied"  # changed accesses (or agreement / Master User)
    WAITING = "waiting"  # accepted; waits for the dossier to be complete
    REVIEW = "review"  # queued for a person
    REJECTED = "rejected"  # refused with reasons; never provisions
    DUPLICATE = "duplicate"  # same SHA-256 seen before: nothing happens
    NOTHING = "nothing"  # a daily check found nothing to do


@dataclass(frozen=True)
class Plan:
    """What a rule decided: operations in order, the audit entries and the mails that follow them.

    ``key`` is unique per decision (document, review decision, daily check): applying a plan whose
    key was applied before changes nothing.
    """

    key: str
    outcome: PlanOutcome
    enterprise_number: str | None
    ops: tuple[Op, ...] = ()
    audit: tuple[AuditIntent, ...] = ()
    mails: tuple[MailIntent, ...] = ()
    reasons: tuple[str, ...] = ()


# --- state ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterUserSnapshot:
    email: str
    name: str
    language: str


@dataclass(frozen=True)
class AccountSnapshot:
    login: str
    email: str
    status: AccountStatus
    last_name: str
    first_name: str
    profile: Profile
    scope: Scope
    contracts: tuple[str, ...]
    access_end_date: date | None
    expiry_warned_for: date | None = None
    source_sha256: str = ""
    #: a temporary password of this account was used (the person has logged in)
    activated: bool = False


@dataclass(frozen=True)
class FormSnapshot:
    """A form of the dossier that waits (status WAITING) for the dossier to open, or was refused."""

    sha256: str
    form_id: str
    status: FormStatus
    fields: dict[str, FieldValue]
    provenance: Provenance
    approved_by: str | None = None
    #: why it was refused (stored codes), for a form of ``DossierState.unreported_rejections``
    reason: str = ""


@dataclass(frozen=True)
class DossierState:
    """Everything the rules may know about one organisation, read in the applying transaction."""

    enterprise_number: str
    org_name: str = ""
    is_open: bool = False
    notification_email: str | None = None
    correspondence_language: str | None = None
    has_agreement: bool = False
    master_user: MasterUserSnapshot | None = None
    #: the e-mail of the newest EAP-MU fiche still in review (docs/rules.md §Trust: fiches mailed from it count
    #: as the Master User's once that fiche is approved)
    pending_mu_email: str | None = None
    accounts: tuple[AccountSnapshot, ...] = ()
    contracts: frozenset[str] = frozenset()
    legacy_logins: tuple[str, ...] = ()  # not yet revoked
    waiting: tuple[FormSnapshot, ...] = ()
    #: forms refused while the dossier had no Master User yet: nobody could be told (issue 16.4)
    unreported_rejections: tuple[FormSnapshot, ...] = ()
    #: SHA-256 values of every document already in the dossier (the duplicate rule)
    seen: frozenset[str] = frozenset()
