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
    "driver_failure",
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


#: words in a driver's message meaning another process holds the lock (SQLite, PostgreSQL)
_LOCKED_MARKERS = (
    "database is locked",
    "database table is locked",
    "lock timeout",
    "could not obtain lock",
    "canceling statement due to lock timeout",
)
#: sqlite3 also calls these an OperationalError: a schema problem, not an unreachable database
_SCHEMA_MARKERS = ("no such table", "no such column", "syntax error")


def driver_failure(kind: str, message: str, *, url: str = "", lost: bool = False) -> DatabaseError | None:
    """The coded error for a database driver's failure that a person acts on; None for anything else.

    ``kind`` is the driver exception's class name (``OperationalError`` …), ``message`` its text, ``url``
    where (without its password), ``lost`` whether the connection was found dead. Shared by the
    SQLAlchemy engines and the bare read-only connections so that both say the same (docs/operations.md).
    """
    text = message.strip()
    first = text.splitlines()[0][:300] if text else kind
    where = {"url": url} if url else {}
    if any(m in text.lower() for m in _LOCKED_MARKERS):
        return DatabaseError("database-locked", f"the database stayed locked by another process: {first}", **where)
    schema = any(m in text.lower() for m in _SCHEMA_MARKERS)
    if (kind in ("OperationalError", "InterfaceError") and not schema) or lost:
        return DatabaseError("database-unreachable", f"cannot use the database: {first}", **where)
    return None


class StaffError(IntakeError):
    """A staff account could not be created, found or signed in (unknown, disabled, wrong password …)."""
