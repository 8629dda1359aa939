"""The pure dossier and trust rules of docs/rules.md: (state, form, provenance) → Plan, no I/O.

Each rule is one small function named after it; :func:`plan` strings them together. Reasons are
stable kebab-case codes (they reach the review queue, the audit log and the Master User's notice).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta

from extranet_intake.auditchain.chain import AuditAction
from extranet_intake.parsers.forms import FOREIGN_PLATFORM_PREFIXES, FormId
from extranet_intake.parsers.result import (
    ACTIVE_CONTENT_CODES,
    SIGNATURE_CODES,
    STRAY_PAGE_CODES,
    FieldValue,
    ParsedForm,
)
from extranet_intake.provisioning.models import AccountStatus, FormStatus, Profile, Scope, UserType
from extranet_intake.provisioning.plan import (
    AccountData,
    AccountSnapshot,
    AgreementData,
    AuditIntent,
    CreateAccount,
    DossierState,
    EndAccount,
    FormSnapshot,
    MailEvent,
    MailIntent,
    MailKind,
    MarkExpiryWarned,
    MasterUserData,
    MasterUserSnapshot,
    ModifyAccount,
    Op,
    OpenOrganisation,
    Plan,
    PlanOutcome,
    Provenance,
    QueueReview,
    RecordForm,
    RevokeLegacy,
    SetAgreement,
    SetMasterUser,
    new_account_ref,
)
from extranet_intake.provisioning.policy import EXPIRY_WARNING_DAYS

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "OCR_LOW_CONFIDENCE_CODES",
    "account_details",
    "accounts_needed",
    "agreement_data",
    "enterprise_number_of",
    "fiche_of",
    "master_user_data",
    "plan",
    "plan_expiries",
    "plan_review_rejection",
    "stored_reasons",
]


#: warning codes of the parsers meaning "a person must confirm the values read from the scan"
OCR_LOW_CONFIDENCE_CODES = frozenset({"ocr-low-confidence", "ocr-unreadable-field"})

_ACTIONS = ("new", "modify", "revoke")


# --- small helpers ----------------------------------------------------------------------------


def _text(fields: dict[str, FieldValue], name: str) -> str:
    value = fields.get(name)
    return value.strip() if isinstance(value, str) else ""


def _email_key(value: str | None) -> str:
    return (value or "").strip().lower()


def _contracts(fields: dict[str, FieldValue]) -> tuple[str, ...]:
    value = fields.get("contracts")
    if isinstance(value, list):
        return tuple(dict.fromkeys(c.strip() for c in value if c.strip()))
    return ()


def _end_date(fields: dict[str, FieldValue]) -> date | None:
    raw = _text(fields, "access_end_date")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def enterprise_number_of(form: ParsedForm) -> str:
    """The normalised enterprise number a form names ("" when it names none we can read)."""
    raw = _text(dict(form.fields), "org_enterprise_number")
    return raw if len(raw) == 10 and raw.isdigit() else ""


def account_details(profile: str, scope: str, contracts: Iterable[str]) -> dict[str, object]:
    """The audit ``details`` of account entries, from which ``audit access --at`` rebuilds who held what."""
    return {"profile": str(profile), "scope": str(scope), "contracts": sorted(contracts)}


def _account_data(fields: dict[str, FieldValue]) -> AccountData:
    scope = Scope(_text(fields, "scope") or Scope.ALL)
    return AccountData(
        last_name=_text(fields, "user_last_name"),
        first_name=_text(fields, "user_first_name"),
        email=_text(fields, "user_email"),
        phone=_text(fields, "user_phone"),
        language=_text(fields, "user_language") or "nl",
        user_type=UserType(_text(fields, "user_type") or UserType.INTERNAL),
        external_company=_text(fields, "external_company"),
        access_end_date=_end_date(fields),
        profile=Profile(_text(fields, "profile") or Profile.CONSULT),
        scope=scope,
        # contracts only count with a "selected" scope: "all" already covers every contract
        contracts=_contracts(fields) if scope is Scope.SELECTED else (),
    )


def agreement_data(fields: dict[str, FieldValue]) -> AgreementData:
    """The organisation's data of an EAP-AGR (docs/forms.md), the one place its field names are read."""
    return AgreementData(
        org_name=_text(fields, "org_name"),
        street=_text(fields, "org_street"),
        postcode=_text(fields, "org_postcode"),
        city=_text(fields, "org_city"),
        notification_email=_text(fields, "notification_email"),
        correspondence_language=_text(fields, "correspondence_language"),
    )


def master_user_data(fields: dict[str, FieldValue]) -> MasterUserData:
    """The Master User an EAP-MU names (docs/forms.md), the one place its field names are read."""
    return MasterUserData(
        org_name=_text(fields, "org_name"),
        last_name=_text(fields, "mu_last_name"),
        first_name=_text(fields, "mu_first_name"),
        function=_text(fields, "mu_function"),
        email=_text(fields, "mu_email"),
        phone=_text(fields, "mu_phone"),
        language=_text(fields, "mu_language") or "nl",
    )


def _person(data: AccountData) -> str:
    return f"{data.first_name} {data.last_name}".strip()


def _record(
    form: ParsedForm,
    provenance: Provenance,
    en: str,
    status: FormStatus,
    reasons: Iterable[str],
    *,
    approved_by: str | None = None,
    login: str | None = None,
) -> RecordForm:
    return RecordForm(
        sha256=provenance.sha256,
        enterprise_number=en,
        form_id=form.form_id or "",
        status=status,
        reason=",".join(reasons),
        fields=dict(form.fields),
        provenance=provenance,
        warnings=tuple(w.as_dict() for w in form.warnings),
        approved_by=approved_by,
        login=login,
        signatures=tuple(v.as_dict() for v in form.signatures),
    )


def _mu_notice(state: DossierState, event: MailEvent, key: str, **params: object) -> tuple[MailIntent, ...]:
    # Every applied change is confirmed to the Master User (docs/rules.md §Trust): without one there is
    # nobody allowed to receive it, so no mail (refusals are told once one is approved: issue 16.4).
    if state.master_user is None:
        return ()
    return (
        MailIntent(
            kind=MailKind.MASTER_USER_NOTICE,
            event=event,
            enterprise_number=state.enterprise_number,
            login=None,
            params={"org_name": state.org_name, "enterprise_number": state.enterprise_number, **params},
            idempotency_key=key,
        ),
    )


_REVIEWER_PREFIX = "rejected-by-reviewer"


def stored_reasons(reason: str) -> list[str]:
    """The codes of a dossier row's stored reason (``"a,b"``, or ``"rejected-by-reviewer: CODE"``)."""
    text = reason.strip()
    if text.startswith(_REVIEWER_PREFIX + ":"):
        return [text.split(":", 1)[1].strip() or _REVIEWER_PREFIX]
    return [c.strip() for c in text.split(",") if c.strip()]


def fiche_of(
    form_id: str,
    fields: dict[str, FieldValue],
    provenance: Provenance,
    reasons: Iterable[str] = (),
    *,
    note: dict[str, str] | None = None,
) -> dict[str, object]:
    """What a mail about one fiche names so the Master User recognises it: the person (name and e-mail
    as written on it), the form and its action, the file name and the day it was received."""
    if form_id == FormId.MU:
        person, email = f"{_text(fields, 'mu_first_name')} {_text(fields, 'mu_last_name')}", _text(fields, "mu_email")
    elif form_id == FormId.AGR:
        person, email = _text(fields, "signatory_name"), ""
    else:
        person = f"{_text(fields, 'user_first_name')} {_text(fields, 'user_last_name')}"
        email = _text(fields, "user_email")
    action = _text(fields, "action")
    out: dict[str, object] = {
        "form": form_id,
        "action": action if action in _ACTIONS else "",
        "person": person.strip(),
        "email": email,
        "filename": provenance.filename,
        "received": provenance.received_at.date().isoformat(),
        "reasons": list(reasons),
    }
    if note:
        out["note"] = dict(note)
    return out


def _change(
    change: str, login: str, name: str, data: AccountData | None = None, fiche: dict[str, object] | None = None
) -> dict[str, object]:
    out: dict[str, object] = {"change": change, "login": login, "name": name}
    if data is not None:
        out.update(
            profile=str(data.profile),
            scope=str(data.scope),
            contracts=list(data.contracts),
            access_end_date=data.access_end_date.isoformat() if data.access_end_date else None,
        )
    if fiche is not None:
        # the fiche that asked for it, as the Master User knows it (issue 16.2)
        out.update({k: fiche[k] for k in ("form", "action", "email", "filename", "received")})
    return out


# --- the rules, one function each -------------------------------------------------------------


def rule_duplicate_once(state: DossierState, provenance: Provenance) -> bool:
    """The same document received twice (same SHA-256) is processed once."""
    return provenance.sha256 in state.seen


def rule_stray_page(form: ParsedForm, *, approved: bool) -> str | None:
    """A page of a stack that holds no form (blank, or something else) goes to a person, never dropped;
    once a person has looked at it, it is closed as the rejection it is."""
    if approved or not form.rejected or not form.errors:
        return None
    return form.errors[0].code if form.errors[0].code in STRAY_PAGE_CODES else None


def rule_other_platform_refused(form: ParsedForm) -> str | None:
    """Forms of Ethias Connect / Extranet Wettelijk Pensioen are refused: access is managed separately."""
    form_id = form.form_id or ""
    if form_id.startswith(FOREIGN_PLATFORM_PREFIXES):
        return "other-platform"
    if form.rejected:
        return form.errors[0].code if form.errors else "document-rejected"
    if form_id not in set(FormId):
        return "unknown-form"
    return None


def rule_needs_review(form: ParsedForm, *, approved: bool) -> list[str]:
    """Reasons a person must look before anything takes effect (empty: nothing to review)."""
    if approved:
        return []
    reasons: list[str] = [e.code for e in form.errors]
    # values read from a scan with low confidence wait, prefilled, for a person to confirm them
    reasons.extend(sorted({w.code for w in form.warnings if w.code in OCR_LOW_CONFIDENCE_CODES}))
    # a PDF with JavaScript, a launch action, embedded files or XFA never applies by itself (issue 13.6)
    reasons.extend(sorted({w.code for w in form.warnings if w.code in ACTIVE_CONTENT_CODES}))
    if form.form_id in (FormId.AGR, FormId.MU):
        # a digital signature's problems say what the reviewer must look at (issue 18.1)
        reasons.extend(sorted({w.code for w in form.warnings if w.code in SIGNATURE_CODES}))
        # signature and the signatory's authority are checked by the team (docs/rules.md §Trust)
        reasons.append("human-approval-required")
    return reasons


def rule_master_user_authority(state: DossierState, provenance: Provenance) -> str | None:
    """An EAP-USR applies by itself only when mailed, authenticated, from the current MU address.

    While the dossier is being opened, the address of the Master User named in the pending EAP-MU
    counts too (the fiche then waits, and counts once that EAP-MU is approved). Before any EAP-MU
    has arrived, an authenticated fiche waits as well: it counts only if its sender turns out to be
    the Master User approved later, and goes to review otherwise (docs/rules.md §The dossier: any order of arrival).
    Returns the reason it must go to review instead, or None.
    """
    if provenance.channel != "email" or not provenance.sender:
        return "not-mailed-by-master-user"
    if not provenance.authenticated:
        return "sender-not-authenticated"
    sender = _email_key(provenance.sender)
    if state.master_user is not None and sender == _email_key(state.master_user.email):
        return None
    if not state.is_open and state.pending_mu_email:
        return None if sender == _email_key(state.pending_mu_email) else "sender-not-master-user"
    if not state.is_open and state.master_user is None:
        return None  # provisional: checked again by rule_dossier_complete once the EAP-MU is approved
    return "sender-not-master-user"


def _trusted_now(state: DossierState, snap: FormSnapshot) -> bool:
    """A waiting fiche counts once the approved Master User's address is the one that sent it."""
    if snap.approved_by:
        return True
    p = snap.provenance
    return (
        p.channel == "email"
        and p.authenticated
        and state.master_user is not None
        and _email_key(p.sender) == _email_key(state.master_user.email)
    )


def rule_contracts_of_own_organisation(state: DossierState, data: AccountData) -> list[str]:
    """A contract outside the organisation's register is an error (no cross-organisation access)."""
    if data.scope is Scope.SELECTED and not data.contracts:
        return ["contracts-missing"]
    return ["contract-not-in-register"] if any(c not in state.contracts for c in data.contracts) else []


def rule_notification_address_never_user(state: DossierState, data: AccountData) -> list[str]:
    """A distribution list must never receive credentials: a user address ≠ the notification address."""
    if state.notification_email and _email_key(data.email) == _email_key(state.notification_email):
        return ["user-email-is-notification-address"]
    return []


def rule_one_person_one_account(
    state: DossierState, data: AccountData, *, except_login: str | None = None, also: Iterable[str] = ()
) -> list[str]:
    """A user_email already used by another active account of the organisation is an error."""
    key = _email_key(data.email)
    taken = {
        _email_key(a.email) for a in state.accounts if a.status is AccountStatus.ACTIVE and a.login != except_login
    }
    return ["user-email-in-use"] if key in taken or key in set(also) else []


def rule_external_end_date(data: AccountData, *, today: date) -> list[str]:
    """An external user needs an end date; an end date must lie in the future."""
    errors = []
    if data.user_type is UserType.EXTERNAL and data.access_end_date is None:
        errors.append("access-end-date-missing")
    if data.access_end_date is not None and data.access_end_date <= today:
        errors.append("access-end-date-past")
    return errors


def _user_errors(
    state: DossierState, data: AccountData, *, today: date, except_login: str | None = None, also: Iterable[str] = ()
) -> list[str]:
    if not data.email:
        return ["user-email-missing"]
    return [
        *rule_contracts_of_own_organisation(state, data),
        *rule_notification_address_never_user(state, data),
        *rule_one_person_one_account(state, data, except_login=except_login, also=also),
        *rule_external_end_date(data, today=today),
    ]


def rule_find_account(state: DossierState, fields: dict[str, FieldValue]) -> tuple[AccountSnapshot | None, str]:
    """modify/revoke find the user by login, else by e-mail within the organisation; none or several → review."""
    login = _text(fields, "login")
    if login:
        # only this organisation's accounts are in the state: a login of another org is "not found"
        hits = [a for a in state.accounts if a.login.upper() == login.upper()]
    else:
        key = _email_key(_text(fields, "user_email"))
        hits = [a for a in state.accounts if key and _email_key(a.email) == key and a.status is AccountStatus.ACTIVE]
    if not hits:
        return None, "user-not-found"
    if len(hits) > 1:
        return None, "user-ambiguous"
    return hits[0], ""


def accounts_needed(fields: dict[str, FieldValue], waiting: Iterable[FormSnapshot]) -> tuple[str, frozenset[str]]:
    """The accounts the rules can look at when planning this form: (upper-cased login, e-mail keys).

    ``rule_find_account`` looks for the form's login (any status) or its user_email (active), and
    ``rule_one_person_one_account`` compares the user_email of the form and of each waiting fiche
    (checked again on opening) with the active accounts: no other account can change a plan.
    """
    emails = {_email_key(_text(fields, "user_email"))}
    emails.update(_email_key(_text(w.fields, "user_email")) for w in waiting)
    emails.discard("")
    return _text(fields, "login").upper(), frozenset(emails)


def rule_dossier_complete(state: DossierState) -> tuple[FormSnapshot, ...]:
    """Access opens when an approved EAP-AGR, an approved EAP-MU and ≥1 valid EAP-USR (new) are present.

    Returns the fiches that will get accounts (empty: the dossier stays pending).
    """
    if state.is_open or not state.has_agreement or state.master_user is None:
        return ()
    return tuple(
        s
        for s in state.waiting
        if s.form_id == FormId.USR and _text(s.fields, "action") == "new" and _trusted_now(state, s)
    )


# --- plans ------------------------------------------------------------------------------------


def plan(
    state: DossierState, form: ParsedForm, provenance: Provenance, *, today: date, approved_by: str | None = None
) -> Plan:
    """Decide what one document does to its organisation's dossier.

    ``approved_by`` is the reviewer who approved it from the review queue (None: it just arrived).
    """
    en = state.enterprise_number
    key = f"review:{provenance.sha256}" if approved_by else f"doc:{provenance.sha256}"
    sha = provenance.sha256

    if not approved_by and rule_duplicate_once(state, provenance):
        return Plan(
            key=f"duplicate:{sha}",
            outcome=PlanOutcome.DUPLICATE,
            enterprise_number=en or None,
            reasons=("duplicate-document",),
        )

    stray = rule_stray_page(form, approved=bool(approved_by))
    if stray is not None:
        return _to_review(form, provenance, key, en, [stray])

    refused = rule_other_platform_refused(form)
    if refused is not None:
        return _rejected(state, form, provenance, key, [refused])

    review = rule_needs_review(form, approved=bool(approved_by))
    if not en:
        review = [*review, "enterprise-number-unreadable"] if "enterprise-number-unreadable" not in review else review
    if review:
        return _to_review(form, provenance, key, en, review)

    received = AuditIntent(
        AuditAction.REVIEW_APPROVED if approved_by else AuditAction.FORM_PARSED,
        f"{form.form_id} accepted" + (f" by {approved_by}" if approved_by else ""),
        en,
        document_sha256=sha,
        details={"form_id": form.form_id, **_signature_details(form)},
    )
    if form.form_id == FormId.AGR:
        return _agreement(state, form, provenance, key, received, approved_by or "", today=today)
    if form.form_id == FormId.MU:
        return _master_user(state, form, provenance, key, received, approved_by or "", today=today)
    return _user_fiche(state, form, provenance, key, received, today=today, approved_by=approved_by)


def _signature_details(form: ParsedForm) -> dict[str, object]:
    """The verdicts on the document's digital signatures, for the audit entry that lets it take effect."""
    return {"signatures": [v.as_dict() for v in form.signatures]} if form.signatures else {}


def _rejected(
    state: DossierState,
    form: ParsedForm,
    provenance: Provenance,
    key: str,
    reasons: list[str],
    *,
    approved_by: str | None = None,
) -> Plan:
    en = state.enterprise_number
    ops: tuple[Op, ...] = (_record(form, provenance, en, FormStatus.REJECTED, reasons, approved_by=approved_by),)
    audit = (
        AuditIntent(
            AuditAction.DOCUMENT_REJECTED,
            ", ".join(reasons),
            en or None,
            document_sha256=provenance.sha256,
            details={"form_id": form.form_id, "reasons": reasons},
        ),
    )
    mails = (
        _mu_notice(
            state,
            MailEvent.FORM_REJECTED,
            f"form-rejected:{provenance.sha256}",
            document=form.form_id or "",
            reasons=reasons,
            received=provenance.received_at.date().isoformat(),
            fiches=[fiche_of(form.form_id or "", dict(form.fields), provenance, reasons)],
        )
        if en
        else ()
    )
    return Plan(
        key=key,
        outcome=PlanOutcome.REJECTED,
        enterprise_number=en or None,
        ops=ops,
        audit=audit,
        mails=mails,
        reasons=tuple(reasons),
    )


def _to_review(form: ParsedForm, provenance: Provenance, key: str, en: str, reasons: list[str]) -> Plan:
    ops: tuple[Op, ...] = (
        _record(form, provenance, en, FormStatus.IN_REVIEW, reasons),
        QueueReview(
            sha256=provenance.sha256,
            enterprise_number=en,
            form_id=form.form_id or "",
            reasons=tuple(reasons),
            fields=dict(form.fields),
            # the value as read of a refused field: a reviewer's correction is audited against it
            errors=tuple({**e.as_dict(), "read": e.value} if e.value is not None else e.as_dict() for e in form.errors),
        ),
    )
    details: dict[str, object] = {"form_id": form.form_id, "reasons": reasons}
    active = [w.as_dict() for w in form.warnings if w.code in ACTIVE_CONTENT_CODES]
    signature_problems = [w.as_dict() for w in form.warnings if w.code in SIGNATURE_CODES]
    if active or signature_problems:
        # the chain keeps why in words, not only the code (issue 13.6)
        details["warnings"] = [*active, *signature_problems]
    if form.signatures:
        details["signatures"] = [v.as_dict() for v in form.signatures]
    audit = (
        AuditIntent(
            AuditAction.REVIEW_QUEUED,
            ", ".join(reasons),
            en or None,
            document_sha256=provenance.sha256,
            details=details,
        ),
    )
    return Plan(
        key=key, outcome=PlanOutcome.REVIEW, enterprise_number=en or None, ops=ops, audit=audit, reasons=tuple(reasons)
    )


def _agreement(
    state: DossierState,
    form: ParsedForm,
    provenance: Provenance,
    key: str,
    received: AuditIntent,
    approved_by: str,
    *,
    today: date,
) -> Plan:
    """A new EAP-AGR replaces the agreement data."""
    en, data = state.enterprise_number, agreement_data(dict(form.fields))
    ops: list[Op] = [
        _record(form, provenance, en, FormStatus.APPLIED, [], approved_by=approved_by),
        SetAgreement(en, data, provenance.sha256),
    ]
    audit = [
        received,
        AuditIntent(AuditAction.AGREEMENT_REPLACED, "agreement data replaced", en, document_sha256=provenance.sha256),
    ]
    after = replace(
        state,
        has_agreement=True,
        notification_email=data.notification_email,
        correspondence_language=data.correspondence_language,
        org_name=data.org_name or state.org_name,
    )
    mails = (
        list(
            _mu_notice(
                after,
                MailEvent.CHANGES_APPLIED,
                f"changes:{key}",
                changes=[{"change": "agreement_replaced", "login": "", "name": ""}],
            )
        )
        if state.is_open
        else []
    )
    return _with_opening(after, key, ops, audit, mails, provenance.sha256, today=today)


def _master_user(
    state: DossierState,
    form: ParsedForm,
    provenance: Provenance,
    key: str,
    received: AuditIntent,
    approved_by: str,
    *,
    today: date,
) -> Plan:
    """A new EAP-MU replaces the Master User."""
    en, data = state.enterprise_number, master_user_data(dict(form.fields))
    mu = MasterUserSnapshot(email=data.email, name=data.name, language=data.language)
    ops: list[Op] = [
        _record(form, provenance, en, FormStatus.APPLIED, [], approved_by=approved_by),
        SetMasterUser(en, data, provenance.sha256, approved_by),
    ]
    audit = [
        received,
        AuditIntent(
            AuditAction.MASTER_USER_REPLACED, f"Master User is now {mu.name}", en, document_sha256=provenance.sha256
        ),
    ]
    after = replace(state, master_user=mu, pending_mu_email=None, org_name=state.org_name or data.org_name)
    mails = (
        list(
            _mu_notice(
                after,
                MailEvent.CHANGES_APPLIED,
                f"changes:{key}",
                changes=[{"change": "master_user_replaced", "login": "", "name": mu.name}],
            )
        )
        if state.is_open
        else []
    )
    if state.master_user is None and state.unreported_rejections:
        # The first Master User hears, in one mail, of every fiche refused while nobody could be told.
        fiches = [
            fiche_of(s.form_id, s.fields, s.provenance, stored_reasons(s.reason)) for s in state.unreported_rejections
        ]
        codes = sorted({c for s in state.unreported_rejections for c in stored_reasons(s.reason)})
        mails.extend(
            _mu_notice(
                after,
                MailEvent.FORM_REJECTED,
                f"rejected-before-opening:{en}:{provenance.sha256}",
                document="",
                reasons=codes,
                fiches=fiches,
            )
        )
    # Fiches that waited on the strength of the pending EAP-MU's address but were not sent from
    # the address finally approved lose that trust: a person must look at them.
    for snap in after.waiting:
        if snap.form_id == FormId.USR and not _trusted_now(after, snap):
            reasons = ["sender-not-master-user"]
            ops.append(
                RecordForm(
                    sha256=snap.sha256,
                    enterprise_number=en,
                    form_id=snap.form_id,
                    status=FormStatus.IN_REVIEW,
                    reason=",".join(reasons),
                    fields=snap.fields,
                    provenance=snap.provenance,
                )
            )
            ops.append(
                QueueReview(
                    sha256=snap.sha256,
                    enterprise_number=en,
                    form_id=snap.form_id,
                    reasons=tuple(reasons),
                    fields=snap.fields,
                )
            )
            audit.append(
                AuditIntent(
                    AuditAction.REVIEW_QUEUED,
                    "sender-not-master-user",
                    en,
                    document_sha256=snap.sha256,
                    details={"reasons": reasons},
                )
            )
    after = replace(after, waiting=tuple(s for s in after.waiting if _trusted_now(after, s) or s.form_id != FormId.USR))
    return _with_opening(after, key, ops, audit, mails, provenance.sha256, today=today)


def _user_fiche(
    state: DossierState,
    form: ParsedForm,
    provenance: Provenance,
    key: str,
    received: AuditIntent,
    *,
    today: date,
    approved_by: str | None,
) -> Plan:
    en, f, sha = state.enterprise_number, dict(form.fields), provenance.sha256
    action = _text(f, "action")
    if action not in _ACTIONS:
        return _to_review(form, provenance, key, en, ["action-missing"])
    if not approved_by:
        untrusted = rule_master_user_authority(state, provenance)
        if untrusted:
            return _to_review(form, provenance, key, en, [untrusted])

    if action == "new":
        data = _account_data(f)
        errors = _user_errors(state, data, today=today)
        if errors:
            return _rejected(state, form, provenance, key, errors, approved_by=approved_by)
        if not state.is_open:
            ops: list[Op] = [
                _record(form, provenance, en, FormStatus.WAITING, ["dossier-incomplete"], approved_by=approved_by)
            ]
            snap = FormSnapshot(
                sha256=sha,
                form_id=FormId.USR,
                status=FormStatus.WAITING,
                fields=f,
                provenance=provenance,
                approved_by=approved_by,
            )
            after = replace(state, waiting=(*state.waiting, snap))
            return _with_opening(after, key, ops, [received], [], sha, today=today, waiting_outcome=True)
        ref = new_account_ref(sha)
        ops = [
            _record(form, provenance, en, FormStatus.APPLIED, [], approved_by=approved_by, login=ref),
            CreateAccount(ref, en, data, sha),
        ]
        audit = [received, _account_created(en, ref, data, sha)]
        mails = [
            _credentials(state, ref, sha),
            *_mu_notice(
                state,
                MailEvent.CHANGES_APPLIED,
                f"changes:{key}",
                changes=[
                    _change("account_created", ref, _person(data), data, fiche_of(form.form_id or "", f, provenance))
                ],
            ),
        ]
        return Plan(
            key=key,
            outcome=PlanOutcome.APPLIED,
            enterprise_number=en,
            ops=tuple(ops),
            audit=tuple(audit),
            mails=tuple(mails),
        )

    account, missing = rule_find_account(state, f)
    if account is None:
        return (
            _to_review(form, provenance, key, en, [missing])
            if not approved_by
            else _rejected(state, form, provenance, key, [missing], approved_by=approved_by)
        )
    if account.status is not AccountStatus.ACTIVE:
        return _rejected(state, form, provenance, key, ["account-not-active"], approved_by=approved_by)

    if action == "modify":
        data = _account_data(f)
        errors = _user_errors(state, data, today=today, except_login=account.login)
        if errors:
            return _rejected(state, form, provenance, key, errors, approved_by=approved_by)
        moved = data.email.casefold() != account.email.casefold()
        if moved and not approved_by:
            # Where the credentials go is the account-takeover path (one forged or mistaken fiche
            # and a stranger gets the password): even the trusted Master User's fiche waits for a
            # person (issue 13.5).
            return _to_review(form, provenance, key, en, ["email-change-needs-review"])
        ops = [
            _record(form, provenance, en, FormStatus.APPLIED, [], approved_by=approved_by, login=account.login),
            ModifyAccount(account.login, data, sha, email_changed=moved),
        ]
        audit = [
            received,
            AuditIntent(
                AuditAction.ACCOUNT_MODIFIED,
                "fiche replaces profile, scope, contracts, e-mail and end date",
                en,
                login=account.login,
                document_sha256=sha,
                details={
                    **account_details(data.profile, data.scope, data.contracts),
                    **({"email_changed": True} if moved else {}),
                },
            ),
        ]
        mails = list(
            _mu_notice(
                state,
                MailEvent.CHANGES_APPLIED,
                f"changes:{key}",
                changes=[
                    _change(
                        "account_modified",
                        account.login,
                        _person(data),
                        data,
                        fiche_of(form.form_id or "", f, provenance),
                    )
                ],
            )
        )
        if moved:
            # the old address learns of the change (no credentials): if it was not asked for, its
            # owner can still say so
            mails.insert(
                0,
                MailIntent(
                    kind=MailKind.OLD_ADDRESS_NOTICE,
                    event=MailEvent.EMAIL_CHANGED,
                    enterprise_number=en,
                    login=account.login,
                    params={"login": account.login, "org_name": state.org_name, "enterprise_number": en},
                    idempotency_key=f"old-address:{sha}",
                ),
            )
        if moved:
            # A person approved the move (issue 13.5): credentials go to the new address, whether or not
            # the user ever logged in; unused ones mailed to the old address (a typo, someone else's box)
            # die with this fiche, and the old address is told above, without credentials.
            mails.insert(
                0,
                MailIntent(
                    kind=MailKind.CREDENTIALS,
                    event=MailEvent.CREDENTIALS_REISSUED,
                    enterprise_number=en,
                    login=account.login,
                    params={
                        "login": account.login,
                        "org_name": state.org_name,
                        "enterprise_number": en,
                        **({"master_user": state.master_user.name} if state.master_user else {}),
                    },
                    idempotency_key=f"credentials:{sha}",
                ),
            )
        return Plan(
            key=key,
            outcome=PlanOutcome.APPLIED,
            enterprise_number=en,
            ops=tuple(ops),
            audit=tuple(audit),
            mails=tuple(mails),
        )

    # revoke: at once
    name = f"{account.first_name} {account.last_name}".strip()
    ops = [
        _record(form, provenance, en, FormStatus.APPLIED, [], approved_by=approved_by, login=account.login),
        EndAccount(account.login, AccountStatus.REVOKED, sha),
    ]
    audit = [
        received,
        AuditIntent(
            AuditAction.ACCOUNT_REVOKED,
            "revoked by user fiche",
            en,
            login=account.login,
            document_sha256=sha,
            details=account_details(account.profile, account.scope, account.contracts),
        ),
    ]
    mails = list(
        _mu_notice(
            state,
            MailEvent.CHANGES_APPLIED,
            f"changes:{key}",
            changes=[
                _change("account_revoked", account.login, name, fiche=fiche_of(form.form_id or "", f, provenance))
            ],
        )
    )
    return Plan(
        key=key,
        outcome=PlanOutcome.APPLIED,
        enterprise_number=en,
        ops=tuple(ops),
        audit=tuple(audit),
        mails=tuple(mails),
    )


def _account_created(en: str, ref: str, data: AccountData, sha: str) -> AuditIntent:
    return AuditIntent(
        AuditAction.ACCOUNT_CREATED,
        "account created from user fiche",
        en,
        login=ref,
        document_sha256=sha,
        details=account_details(data.profile, data.scope, data.contracts),
    )


def _credentials(state: DossierState, ref: str, sha: str) -> MailIntent:
    params: dict[str, object] = {"login": ref, "org_name": state.org_name, "enterprise_number": state.enterprise_number}
    if state.master_user is not None:
        params["master_user"] = state.master_user.name  # whom to call if the mail was not expected
    return MailIntent(
        kind=MailKind.CREDENTIALS,
        event=MailEvent.ACCOUNT_OPENED,
        enterprise_number=state.enterprise_number,
        login=ref,
        params=params,
        idempotency_key=f"credentials:{sha}",
    )


def _with_opening(
    state: DossierState,
    key: str,
    ops: list[Op],
    audit: list[AuditIntent],
    mails: list[MailIntent],
    sha: str,
    *,
    today: date,
    waiting_outcome: bool = False,
) -> Plan:
    """Finish a plan; if the dossier is now complete, open it (docs/rules.md §The dossier)."""
    en = state.enterprise_number
    ready = rule_dossier_complete(state)
    if not ready:
        outcome = PlanOutcome.WAITING if waiting_outcome else PlanOutcome.APPLIED
        return Plan(
            key=key,
            outcome=outcome,
            enterprise_number=en,
            ops=tuple(ops),
            audit=tuple(audit),
            mails=tuple(mails),
            reasons=("dossier-incomplete",) if waiting_outcome else (),
        )
    # On opening: each pending user gets an account, legacy accounts go, the notification address
    # hears that access is active (never credentials), the Master User gets the list of changes.
    changes: list[dict[str, object]] = []
    created = 0
    emails: list[str] = []
    for snap in ready:
        data = _account_data(snap.fields)
        # the rules are checked again: the agreement's notification address may be known only now
        errors = _user_errors(state, data, today=today, also=emails)
        if errors:
            ops.append(
                RecordForm(
                    sha256=snap.sha256,
                    enterprise_number=en,
                    form_id=snap.form_id,
                    status=FormStatus.REJECTED,
                    reason=",".join(errors),
                    fields=snap.fields,
                    provenance=snap.provenance,
                    approved_by=snap.approved_by,
                )
            )
            audit.append(
                AuditIntent(
                    AuditAction.DOCUMENT_REJECTED,
                    ", ".join(errors),
                    en,
                    document_sha256=snap.sha256,
                    details={"reasons": errors},
                )
            )
            mails.extend(
                _mu_notice(
                    state,
                    MailEvent.FORM_REJECTED,
                    f"form-rejected:{snap.sha256}",
                    document=snap.form_id,
                    reasons=errors,
                    received=snap.provenance.received_at.date().isoformat(),
                    fiches=[fiche_of(snap.form_id, snap.fields, snap.provenance, errors)],
                )
            )
            continue
        emails.append(_email_key(data.email))
        ref = new_account_ref(snap.sha256)
        ops.append(
            RecordForm(
                sha256=snap.sha256,
                enterprise_number=en,
                form_id=snap.form_id,
                status=FormStatus.APPLIED,
                reason="",
                fields=snap.fields,
                provenance=snap.provenance,
                approved_by=snap.approved_by,
                login=ref,
            )
        )
        ops.append(CreateAccount(ref, en, data, snap.sha256))
        audit.append(_account_created(en, ref, data, snap.sha256))
        mails.append(_credentials(state, ref, snap.sha256))
        changes.append(
            _change("account_created", ref, _person(data), data, fiche_of(snap.form_id, snap.fields, snap.provenance))
        )
        created += 1
    if not created:
        return Plan(
            key=key,
            outcome=PlanOutcome.WAITING if waiting_outcome else PlanOutcome.APPLIED,
            enterprise_number=en,
            ops=tuple(ops),
            audit=tuple(audit),
            mails=tuple(mails),
        )
    ops.append(OpenOrganisation(en))
    audit.append(
        AuditIntent(
            AuditAction.DOSSIER_OPENED,
            "agreement, Master User and user fiche present",
            en,
            document_sha256=sha,
            details={"accounts": created},
        )
    )
    for login in state.legacy_logins:
        ops.append(RevokeLegacy(login))
        audit.append(
            AuditIntent(
                AuditAction.LEGACY_REVOKED,
                "old Extranet account revoked on opening",
                en,
                login=login,
                details={"profile": "legacy", "scope": "all", "contracts": []},
            )
        )
        changes.append({"change": "legacy_revoked", "login": login, "name": ""})
    if state.notification_email:
        mails.append(
            MailIntent(
                kind=MailKind.ORG_NOTICE,
                event=MailEvent.ACCESS_OPENED,
                enterprise_number=en,
                login=None,
                params={"org_name": state.org_name, "accounts": created},
                idempotency_key=f"access-opened:{en}",
            )
        )
    mails.extend(_mu_notice(state, MailEvent.CHANGES_APPLIED, f"changes:{key}", changes=changes))
    return Plan(
        key=key,
        outcome=PlanOutcome.APPLIED,
        enterprise_number=en,
        ops=tuple(ops),
        audit=tuple(audit),
        mails=tuple(mails),
    )


def plan_review_rejection(
    state: DossierState,
    *,
    sha256: str,
    form_id: str,
    reviewer: str,
    reason: str,
    received: date,
    note: dict[str, str] | None = None,
    fiche: dict[str, object] | None = None,
) -> Plan:
    """A reviewer refuses a form: it never provisions, and the Master User hears why (and the note, if any)."""
    en = state.enterprise_number
    code = reason or _REVIEWER_PREFIX
    details: dict[str, object] = {"form_id": form_id, "reviewer": reviewer}
    if note:
        details["note"] = dict(note)
    audit = (AuditIntent(AuditAction.REVIEW_REJECTED, code, en or None, document_sha256=sha256, details=details),)
    told = {**(fiche or {"form": form_id, "received": received.isoformat()}), "reasons": [code]}
    if note:
        told["note"] = dict(note)
    mails = (
        _mu_notice(
            state,
            MailEvent.FORM_REJECTED,
            f"form-rejected:{sha256}",
            document=form_id,
            reasons=[code],
            received=received.isoformat(),
            fiches=[told],
        )
        if en
        else ()
    )
    return Plan(
        key=f"review:{sha256}",
        outcome=PlanOutcome.REJECTED,
        enterprise_number=en or None,
        audit=audit,
        mails=mails,
        reasons=(reason,),
    )


def plan_expiries(state: DossierState, *, today: date, warning_days: int = EXPIRY_WARNING_DAYS) -> Plan:
    """Accounts past their access_end_date are revoked; the Master User is warned ``warning_days`` before."""
    en = state.enterprise_number
    ops: list[Op] = []
    audit: list[AuditIntent] = []
    warned: list[dict[str, object]] = []
    ended: list[dict[str, object]] = []
    for a in state.accounts:
        if a.status is not AccountStatus.ACTIVE or a.access_end_date is None:
            continue
        name = f"{a.first_name} {a.last_name}".strip()
        if a.access_end_date < today:
            ops.append(EndAccount(a.login, AccountStatus.EXPIRED, None))
            audit.append(
                AuditIntent(
                    AuditAction.ACCOUNT_EXPIRED,
                    f"access_end_date {a.access_end_date} passed",
                    en,
                    login=a.login,
                    document_sha256=a.source_sha256 or None,
                    details=account_details(a.profile, a.scope, a.contracts),
                )
            )
            ended.append({"change": "account_expired", "login": a.login, "name": name})
        elif a.access_end_date - today <= timedelta(days=warning_days) and a.expiry_warned_for != a.access_end_date:
            ops.append(MarkExpiryWarned(a.login, a.access_end_date))
            audit.append(
                AuditIntent(
                    AuditAction.EXPIRY_WARNED,
                    f"access ends on {a.access_end_date}",
                    en,
                    login=a.login,
                    details={"access_end_date": a.access_end_date.isoformat()},
                )
            )
            warned.append({"login": a.login, "name": name, "access_end_date": a.access_end_date.isoformat()})
    if not ops:
        return Plan(key=f"expiry:{en}:{today.isoformat()}", outcome=PlanOutcome.NOTHING, enterprise_number=en)
    # Keyed by what is done, not only the day: a second run the same day that finds new work (an end
    # date set by a modify this morning) gets a plan of its own instead of colliding with the first.
    work = hashlib.sha256("\n".join(sorted(repr(op) for op in ops)).encode()).hexdigest()[:16]
    day = f"{en}:{today.isoformat()}:{work}"
    mails = [
        *(_mu_notice(state, MailEvent.EXPIRY_COMING, f"expiry:{day}", accounts=warned) if warned else ()),
        *(_mu_notice(state, MailEvent.CHANGES_APPLIED, f"expired:{day}", changes=ended) if ended else ()),
    ]
    return Plan(
        key=f"expiry:{day}",
        outcome=PlanOutcome.APPLIED,
        enterprise_number=en,
        ops=tuple(ops),
        audit=tuple(audit),
        mails=tuple(mails),
    )
