"""Login allocation: opaque, unique, never derived from the e-mail, never reused (legacy logins included)."""

from __future__ import annotations

import random
import secrets

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from extranet_intake.auditchain.prepared import Prepared
from extranet_intake.errors import ProvisioningError
from extranet_intake.provisioning.models import Account, LegacyAccount

__all__ = ["LOGIN_ALPHABET", "LOGIN_PREFIX", "allocate_login", "make_login"]

LOGIN_PREFIX = "EAP"
#: Crockford base32: no I, L, O, U, so a login read aloud or retyped from a letter stays unambiguous
LOGIN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LOGIN_RANDOM_CHARS = 8  # 32**8 ≈ 10**12 logins: a collision is rare, and checked anyway

_SYSTEM_RANDOM = secrets.SystemRandom()


def make_login(rng: random.Random) -> str:
    """A candidate login: the prefix and random characters, nothing taken from the person."""
    if rng is _SYSTEM_RANDOM:
        # the same uniform draw in one call to the system's source, not one per character: five
        # random bits per character of the 32-letter alphabet
        bits = secrets.randbits(5 * LOGIN_RANDOM_CHARS)
        return LOGIN_PREFIX + "".join(LOGIN_ALPHABET[(bits >> (5 * i)) & 31] for i in range(LOGIN_RANDOM_CHARS))
    return LOGIN_PREFIX + "".join(rng.choice(LOGIN_ALPHABET) for _ in range(LOGIN_RANDOM_CHARS))


_ACCOUNT = Account.__table__  # type: ignore[attr-defined]
_LEGACY = LegacyAccount.__table__  # type: ignore[attr-defined]
#: built once, one round trip: every new account asks it at least once
#: (run on the driver's cursor, auditchain.prepared)
_TAKEN = Prepared(
    select(
        or_(
            exists().where(_ACCOUNT.c.login == bindparam("login")),
            exists().where(func.upper(_LEGACY.c.login) == bindparam("upper")),
        )
    )
)


def _taken(connection: Connection, login: str) -> bool:
    # Accounts and legacy accounts are never deleted, so these two tables are every login ever
    # issued; compared case-insensitively because the old Extranet's logins were typed by hand.
    # New accounts only ever get upper-case logins from make_login, and a legacy import refuses a
    # login equal to one of them in any case, so the primary key answers for accounts (and the
    # expression index on upper(login) for legacy ones).
    return bool(_TAKEN.execute(connection, {"login": login, "upper": login.upper()})[0][0])


def allocate_login(
    session: Session, *, rng: random.Random | None = None, attempts: int = 20, connection: Connection | None = None
) -> str:
    """A login never issued before (the account's primary key still guards a race between workers).

    ``connection`` is the session's own (``session.connection()``) when the caller already holds it.
    """
    source = rng or _SYSTEM_RANDOM
    connection = connection or session.connection()
    for _ in range(attempts):
        login = make_login(source)
        if not _taken(connection, login):
            return login
    raise ProvisioningError("login-space-exhausted", "no free login found", attempts=attempts)
