"""The one error root of extranet-intake and its branch per stage; imports nothing of the project.

Every error carries a stable ``code`` (e.g. ``enterprise-number-checksum``) that scripts and the
audit log key on, plus the data a person needs to act (field, UID, recipient, SMTP code …).
Third-party errors are wrapped at the boundary with ``raise … from exc``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuditError",
    "ConfigError",
    "DatabaseError",
    "IntakeError",
    "MailerError",
    "ParseError",
    "ProvisioningError",
    "ReviewError",
    "SourceError",
    "StaffError",
    "StoreError",
]


class IntakeError(Exception):
    """Root of every error the product raises on purpose."""

    #: exit code the command line maps this branch to (docs/operations.md §Exit codes: 1 = failures, 2 = usage/config)
    exit_code = 1

    def __init__(self, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self) -> str:
        details = ", ".join(f"{k}={v}" for k, v in self.data.items() if v is not None)
        return f"[{self.code}] {self.message}" + (f" ({details})" if details else "")

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **{k: str(v) for k, v in self.data.items()}}


class ConfigError(IntakeError):
    """Configuration or usage error: stops the run before anything happens."""

    exit_code = 2


class ParseError(IntakeError):
    """A document could not be read as a form (corrupt, encrypted, hostile, other platform …)."""


class SourceError(IntakeError):
    """A mail source (IMAP, Maildir, drop folder) failed."""


class StoreError(IntakeError):
    """The document store could not keep or find an original."""


class ProvisioningError(IntakeError):
    """A plan could not be made or applied."""


class ReviewError(ProvisioningError):
    """A review-queue decision was refused (unknown item, already decided, invalid correction)."""


class AuditError(IntakeError):
    """The audit chain is broken, or a checkpoint cannot be made or checked."""


class MailerError(IntakeError):
    """A mail could not be queued or delivered (recipient refused, SMTP error, purpose mismatch)."""


class DatabaseError(IntakeError):
    """The database cannot be reached or stays locked (``database-unreachable``, ``database-locked``).

    Exit 2 like a configuration problem: nothing was done and a person must act; the daily run
    maps it to 1 (a run that could not happen is a failed run).
    """

    exit_code = 2


class StaffError(IntakeError):
    """A staff account could not be created, found or signed in (unknown, disabled, wrong password …)."""
