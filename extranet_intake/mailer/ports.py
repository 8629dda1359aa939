"""The ports through which the mailer reaches the rest of the product without importing it.

The application wiring implements them with provisioning queries; tests implement them with small
tables of their own. Every method receives the caller's session so its reads and writes share the
transaction the mailer is running in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from sqlmodel import Session

from extranet_intake.mailer.purposes import Purpose, Recipient

__all__ = ["AuditSink", "CredentialIssuer", "MailAction", "MailRecord", "PreparedIssuer", "RecipientDirectory"]


class MailAction(StrEnum):
    """The audit actions the mailer records (values are the audit log's action names)."""

    MAIL_QUEUED = "mail_queued"
    MAIL_SENT = "mail_sent"
    MAIL_FAILED = "mail_failed"
    MAIL_REFUSED = "mail_refused"
    #: a queued credentials mail replaced by a newer one for the same account before it went out
    MAIL_SUPERSEDED = "mail_superseded"
    CREDENTIALS_ISSUED = "credentials_issued"


class RecipientDirectory(Protocol):
    def recipient(self, session: Session, purpose: Purpose, ref: str) -> Recipient | None:
        """The one allowed recipient of ``purpose`` for ``ref`` as the database says now.

        credentials: ref = login → that account's ``user_email`` from its fiche;
        org_notice: ref = enterprise number → the agreement's ``notification_email``;
        master_user_notice: ref = enterprise number → the current Master User's ``mu_email``;
        old_address_notice: ref = login → that account's address before its last approved change.
        None when there is none (unknown/revoked account, no agreement, no Master User).
        """
        ...

    def hold(self, session: Session, wanted: Sequence[tuple[Purpose, str]]) -> object:
        """Load at once what ``recipient`` (and the audit) will read for these (purpose, ref) pairs, in
        one query per table, and return what keeps it loaded in ``session`` while it is referenced.

        A batch of mails then costs a query per table, not one per mail and per look-up (the session
        forgets an unmodified row as soon as nothing refers to it). Only a speed-up: ``recipient``
        answers the same with or without it.
        """
        ...


class CredentialIssuer(Protocol):
    @property
    def validity(self) -> timedelta:
        """How long a password this issuer makes stays valid; the credentials mail states this very value."""
        ...

    def issue(self, session: Session, login: str) -> str:
        """Make a new temporary password for ``login``, store only its hash, kill the previous one.

        Returns the plaintext, which the mailer puts in the message and nowhere else.
        """
        ...


@runtime_checkable
class PreparedIssuer(CredentialIssuer, Protocol):
    """An issuer whose password can be made and hashed before the sender opens its transaction.

    The hash is the slow part (tens of milliseconds of argon2id by design); made inside the
    transaction it held SQLite's write lock all that time, and on the event loop it stalled every
    other mail. The sender runs :attr:`hasher` in a process pool instead, then :meth:`store` in
    the transaction that also records the Message-ID — the crash-safety order does not change.
    """

    def generate(self) -> str:
        """A new temporary password (plaintext; cheap)."""
        ...

    @property
    def hasher(self) -> Callable[[str], str]:
        """plaintext → encoded hash; picklable (a module-level function or a partial of one)."""
        ...

    def store(self, session: Session, login: str, password_hash: str) -> None:
        """Store the hash as ``login``'s live temporary password and kill the previous one."""
        ...


@dataclass(frozen=True)
class MailRecord:
    """One audit entry about a mail, as :meth:`AuditSink.record` takes it (for :meth:`AuditSink.record_many`)."""

    action: MailAction
    purpose: Purpose
    ref: str
    actor: str
    reason: str
    details: dict[str, str]


class AuditSink(Protocol):
    def record(
        self,
        session: Session,
        *,
        action: MailAction,
        purpose: Purpose,
        ref: str,
        actor: str,
        reason: str,
        details: dict[str, str],
    ) -> None:
        """Append one audit entry in the caller's transaction; nothing passed here is a secret.

        ``actor`` is ``system`` or the team member who asked (re-issue); ``details`` carries the
        outbox id, event, idempotency key, recipient address and Message-ID where known.
        """
        ...

    def record_many(self, session: Session, records: Sequence[MailRecord]) -> None:
        """Append ``records`` in their order in the caller's transaction, as one ``record`` after another
        would (the chain's head is locked once for all of them)."""
        ...
