"""The mailer's numeric defaults, in one place: its settings and the configuration's defaults read them here.

A light module (no imports), so that the configuration can read it without loading the mailer.
"""

from __future__ import annotations

__all__ = ["CONCURRENCY", "MAX_ATTEMPTS", "SMTP_PORT", "SMTP_TIMEOUT_SECONDS"]

#: a mail is tried this many times before its row is ``failed`` (docs/mail.md)
MAX_ATTEMPTS = 8
#: rows in flight at once, and SMTP connections the transport keeps
CONCURRENCY = 4
#: submission with STARTTLS
SMTP_PORT = 587
SMTP_TIMEOUT_SECONDS = 30.0
