"""Defaults of the provisioning policy that the configuration may change (docs/rules.md, docs/mail.md).

One place for each, read by the rules and by the configuration's defaults alike.
"""

from __future__ import annotations

__all__ = ["CREDENTIALS_VALIDITY_HOURS", "EXPIRY_WARNING_DAYS"]

#: a temporary password dies this many hours after it is issued (docs/mail.md "Temporary passwords")
CREDENTIALS_VALIDITY_HOURS = 72
#: the Master User is warned this many days before an account's access_end_date (docs/rules.md)
EXPIRY_WARNING_DAYS = 14
