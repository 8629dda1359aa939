"""Mail purposes, the one recipient kind each is bound to, the events each may carry and their params.

docs/mail.md "One purpose, one recipient": every mail has a purpose and each purpose has exactly one
allowed recipient. The binding lives here, once; nothing else in the mailer decides who may receive what.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from extranet_intake.errors import MailerError

__all__ = [
    "EVENTS",
    "RECIPIENT_OF",
    "Event",
    "EventSpec",
    "Language",
    "Purpose",
    "Recipient",
    "RecipientKind",
    "check_params",
    "clean_text",
    "spec_of",
]


class Purpose(StrEnum):
    CREDENTIALS = "credentials"
    ORG_NOTICE = "org_notice"
    MASTER_USER_NOTICE = "master_user_notice"
    #: an account's address was changed (approved by a person): its old address is told, without
    #: credentials, so that a change its owner did not ask for does not go unnoticed (issue 13.5)
    OLD_ADDRESS_NOTICE = "old_address_notice"


class RecipientKind(StrEnum):
    #: the account's personal address from its own user fiche — used for nothing else (docs/mail.md)
    USER_EMAIL = "user_email"
    #: the agreement's notification address (often a distribution list: never credentials)
    NOTIFICATION_EMAIL = "notification_email"
    #: the current Master User's address from the approved Master User fiche
    MU_EMAIL = "mu_email"
    #: the address the account's fiche gave before its last approved address change
    PREVIOUS_USER_EMAIL = "previous_user_email"


RECIPIENT_OF: Mapping[Purpose, RecipientKind] = {
    Purpose.CREDENTIALS: RecipientKind.USER_EMAIL,
    Purpose.ORG_NOTICE: RecipientKind.NOTIFICATION_EMAIL,
    Purpose.MASTER_USER_NOTICE: RecipientKind.MU_EMAIL,
    Purpose.OLD_ADDRESS_NOTICE: RecipientKind.PREVIOUS_USER_EMAIL,
}


class Language(StrEnum):
    NL = "nl"
    FR = "fr"


class Event(StrEnum):
    ACCOUNT_OPENED = "account_opened"
    CREDENTIALS_REISSUED = "credentials_reissued"
    ACCESS_OPENED = "access_opened"
    NEW_DOCUMENTS = "new_documents"
    NEW_FEATURES = "new_features"
    CHANGES_APPLIED = "changes_applied"
    FORM_REJECTED = "form_rejected"
    EXPIRY_COMING = "expiry_coming"
    EMAIL_CHANGED = "email_changed"
    #: the yearly access review: the organisation's active accounts, to confirm by a reply (issue 18.2)
    ACCESS_REVIEW = "access_review"
    ACCESS_REVIEW_REMINDER = "access_review_reminder"


@dataclass(frozen=True)
class EventSpec:
    purpose: Purpose
    #: params the template needs (all required)
    required: frozenset[str]
    #: params the template may use
    optional: frozenset[str] = frozenset()


def _spec(purpose: Purpose, required: set[str], optional: set[str] | None = None) -> EventSpec:
    return EventSpec(purpose, frozenset(required), frozenset(optional or set()))


EVENTS: Mapping[Event, EventSpec] = {
    # credentials: the login travels in params; the password never does — it is made at send time
    # ``master_user``: the name of whom the person may call if the mail was not expected
    Event.ACCOUNT_OPENED: _spec(Purpose.CREDENTIALS, {"login"}, {"org_name", "enterprise_number", "master_user"}),
    Event.CREDENTIALS_REISSUED: _spec(Purpose.CREDENTIALS, {"login"}, {"org_name", "enterprise_number", "master_user"}),
    Event.ACCESS_OPENED: _spec(Purpose.ORG_NOTICE, {"org_name"}, {"accounts", "enterprise_number"}),
    Event.NEW_DOCUMENTS: _spec(Purpose.ORG_NOTICE, {"org_name", "documents"}, {"enterprise_number"}),
    Event.NEW_FEATURES: _spec(Purpose.ORG_NOTICE, {"org_name", "features"}, {"enterprise_number"}),
    Event.CHANGES_APPLIED: _spec(Purpose.MASTER_USER_NOTICE, {"org_name", "changes"}, {"enterprise_number"}),
    # ``fiches``: each refused fiche as the Master User knows it (person, e-mail, form, action, file,
    # day received, reason codes, the reviewer's note in both languages); the words of the codes
    # come from the reason catalogue when rendered. ``document``/``reasons`` alone: rows queued before.
    Event.FORM_REJECTED: _spec(
        Purpose.MASTER_USER_NOTICE, {"org_name", "document", "reasons"}, {"received", "fiches", "enterprise_number"}
    ),
    Event.EXPIRY_COMING: _spec(Purpose.MASTER_USER_NOTICE, {"org_name", "accounts"}, {"enterprise_number"}),
    # the login only: never a password, nor the new address (the old box may no longer be the user's)
    Event.EMAIL_CHANGED: _spec(Purpose.OLD_ADDRESS_NOTICE, {"login"}, {"org_name", "enterprise_number"}),
    # ``review_code`` is a correlation reference printed in the mail, not a secret: a reply is
    # believed for its DMARC-authenticated sender, the code only says which organisation it answers
    Event.ACCESS_REVIEW: _spec(Purpose.MASTER_USER_NOTICE, {"org_name", "accounts", "due_date", "review_code"}),
    Event.ACCESS_REVIEW_REMINDER: _spec(
        Purpose.MASTER_USER_NOTICE, {"org_name", "accounts", "due_date", "review_code"}, {"days_left"}
    ),
}

# Param names that would mean a secret is being queued: the outbox must never hold one (docs/mail.md).
_SECRET_WORDS = ("password", "passwd", "wachtwoord", "mot_de_passe", "secret", "token", "hash")


@dataclass(frozen=True)
class Recipient:
    """The one address a purpose may reach, as the directory resolved it from the database."""

    address: str
    name: str
    language: Language


def spec_of(purpose: Purpose, event: Event) -> EventSpec:
    spec = EVENTS[event]
    if spec.purpose is not purpose:
        raise MailerError(
            "mail-event-purpose", f"event {event} does not belong to purpose {purpose}", purpose=purpose, event=event
        )
    return spec


def check_params(purpose: Purpose, event: Event, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return a JSON-safe copy of ``params`` or raise: unknown/missing keys, secrets, odd values."""
    spec = spec_of(purpose, event)
    keys = set(params)
    for key in keys:
        if any(word in key.lower() for word in _SECRET_WORDS):
            # the key name only: its value may be the very secret that must not reach an error
            raise MailerError("mail-params-secret", "a mail parameter looks like a secret", key=key)
    missing = spec.required - keys
    unknown = keys - spec.required - spec.optional
    if missing or unknown:
        raise MailerError(
            "mail-params-invalid",
            f"parameters for {event} do not match its template",
            missing=",".join(sorted(missing)) or None,
            unknown=",".join(sorted(unknown)) or None,
        )
    return {k: _json_safe(v, k) for k, v in params.items()}


def _json_safe(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return clean_text(value, multiline=True)
    if isinstance(value, list | tuple):
        return [_json_safe(v, f"{path}[]") for v in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str) or any(word in k.lower() for word in _SECRET_WORDS):
                raise MailerError("mail-params-secret", "a mail parameter looks like a secret", key=f"{path}.{k}")
            out[k] = _json_safe(v, f"{path}.{k}")
        return out
    raise MailerError("mail-params-invalid", "mail parameters must be JSON data", key=path, type=type(value).__name__)


def clean_text(value: str, *, multiline: bool = False, limit: int = 2000) -> str:
    """NFC text without control, format (bidi overrides, zero-width) or separator characters.

    Names come from scanned or typed forms; a CR/LF would start a new header and a U+202E would
    make an address read backwards, so both go before anything reaches a message.
    """
    out = []
    for ch in unicodedata.normalize("NFC", value):
        cat = unicodedata.category(ch)
        if ch == "\n" and multiline:
            out.append(ch)
        elif ch in "\t\r\n\u2028\u2029\x85" or cat in ("Zl", "Zp"):
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    text = "".join(out)
    if multiline:
        text = "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()
    else:
        text = " ".join(text.split())
    return text[:limit]
