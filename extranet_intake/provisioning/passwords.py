"""Every password of the product in one place: generate, hash, verify, store, invalidate, re-issue.

Temporary passwords (docs/mail.md "Temporary passwords"): random, without look-alike characters,
single use, dead after the validity (72 hours by default), stored only as an argon2id hash. A new
one (a first issue or a re-issue) kills every live one of the account; an approved address change
or a revoked account kills them too (:func:`invalidate_passwords`, called by
:mod:`provisioning.apply`). Staff passwords (:mod:`provisioning.staff`) use the same generator and
hash.

The mailer makes the password when it sends the credentials mail, through its ``PreparedIssuer``
port (``mailer/ports.py``), which :class:`TemporaryPasswordIssuer` implements without the mailer
importing provisioning: the plaintext is made and hashed — in the sender's process pool, before
its write transaction — and only :meth:`TemporaryPasswordIssuer.store` runs inside it. A re-issue
(``users reissue``) only queues a new credentials mail; its password is made the same way when it
is sent, and that kills the previous one.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import update
from sqlmodel import Session, col, select

from extranet_intake.argon2id import DEFAULT_ARGON2, Argon2Params, hash_password
from extranet_intake.argon2id import hasher as _hasher
from extranet_intake.errors import ProvisioningError
from extranet_intake.provisioning.models import Account, AccountStatus, Credential
from extranet_intake.provisioning.policy import CREDENTIALS_VALIDITY_HOURS

__all__ = [
    "DEFAULT_ARGON2",
    "DEFAULT_VALIDITY",
    "MIN_PASSWORD_LENGTH",
    "PASSWORD_ALPHABET",
    "Argon2Params",
    "TemporaryPasswordIssuer",
    "generate_password",
    "hash_password",
    "invalidate_passwords",
    "issue_temporary_password",
    "store_temporary_password",
    "verify_password",
    "verify_temporary_password",
]

Clock = Callable[[], datetime]

DEFAULT_VALIDITY = timedelta(hours=CREDENTIALS_VALIDITY_HOURS)

MIN_PASSWORD_LENGTH = 16
#: letters and digits without look-alikes (0/O/o, 1/l/I/i, 5/S, 2/Z, 8/B, u/v …): read from a
#: mail and typed by hand, a password must not be ambiguous
PASSWORD_ALPHABET = "abcdefghjkmnpqrstwxyzACDEFGHJKLMNPQRTWXY3479"  # noqa: S105 - an alphabet, not a password


_SYSTEM_RANDOM = secrets.SystemRandom()


def generate_password(*, length: int = 20, rng: random.Random | None = None) -> str:
    """A random password of ``length`` (≥ 16) characters from :data:`PASSWORD_ALPHABET`."""
    source = rng or _SYSTEM_RANDOM
    return "".join(source.choice(PASSWORD_ALPHABET) for _ in range(max(length, MIN_PASSWORD_LENGTH)))


def verify_password(password_hash: str, plaintext: str) -> bool:
    """True when ``plaintext`` matches; a malformed hash is simply no match."""
    try:
        return _hasher(DEFAULT_ARGON2).verify(password_hash, plaintext)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ------------------------------------------------------------------------------ temporary passwords


def invalidate_passwords(session: Session, login: str, now: datetime, *, unused_only: bool = False) -> None:
    """Kill the live temporary passwords of ``login`` (or only those never used), in the caller's
    transaction."""
    query = update(Credential).where(col(Credential.login) == login, col(Credential.invalidated_at).is_(None))
    if unused_only:
        query = query.where(col(Credential.used_at).is_(None))
    session.execute(query.values(invalidated_at=now))


def issue_temporary_password(
    session: Session,
    login: str,
    *,
    clock: Clock,
    rng: random.Random | None = None,
    validity: timedelta = DEFAULT_VALIDITY,
    length: int = 20,
    argon2: Argon2Params = DEFAULT_ARGON2,
) -> str:
    """Make a temporary password for ``login``; store only its argon2id hash; kill the previous one.

    Returns the plaintext for the caller to put in the credentials mail — and nowhere else. The
    password is single use and must be changed at first login. (The mailer makes and hashes it
    before its transaction instead, then calls :func:`store_temporary_password`.)
    """
    _active(session, login)
    plaintext = generate_password(length=length, rng=rng)
    store_temporary_password(session, login, hash_password(plaintext, argon2), clock=clock, validity=validity)
    return plaintext


def store_temporary_password(
    session: Session, login: str, password_hash: str, *, clock: Clock, validity: timedelta = DEFAULT_VALIDITY
) -> None:
    """Store the hash of a new temporary password for ``login`` and kill the previous one."""
    _active(session, login)
    now = clock()
    invalidate_passwords(session, login, now)
    session.add(
        Credential(login=login, password_hash=password_hash, issued_at=now, expires_at=now + validity, must_change=True)
    )
    session.flush()


def _active(session: Session, login: str) -> None:
    account = session.get(Account, login)
    if account is None or account.status != AccountStatus.ACTIVE:
        raise ProvisioningError("account-not-active", "credentials are issued only for an active account", login=login)


def verify_temporary_password(session: Session, login: str, plaintext: str, *, clock: Clock) -> bool:
    """Check a first-login password: live (not invalidated, not used, not expired), then spend it."""
    now = clock()
    live = session.exec(
        select(Credential).where(
            col(Credential.login) == login, col(Credential.invalidated_at).is_(None), col(Credential.used_at).is_(None)
        )
    ).all()
    for cred in live:
        if cred.expires_at > now and verify_password(cred.password_hash, plaintext):
            cred.used_at = now
            session.add(cred)
            return True
    return False


@dataclass(frozen=True)
class TemporaryPasswordIssuer:
    """The mailer's ``PreparedIssuer`` port (``mailer/ports.py``), met structurally: the mailer imports none
    of this, the application wiring (``intake/wiring.py``) hands it over."""

    clock: Clock
    validity: timedelta = DEFAULT_VALIDITY
    length: int = 20
    rng: random.Random | None = None
    argon2: Argon2Params = DEFAULT_ARGON2

    def issue(self, session: Session, login: str) -> str:
        return issue_temporary_password(
            session,
            login,
            clock=self.clock,
            rng=self.rng,
            validity=self.validity,
            length=self.length,
            argon2=self.argon2,
        )

    def generate(self) -> str:
        return generate_password(length=self.length, rng=self.rng)

    @property
    def hasher(self) -> Callable[[str], str]:
        """A partial of the module-level :func:`hash_password`: it pickles into the sender's process pool."""
        return partial(hash_password, params=self.argon2)

    def store(self, session: Session, login: str, password_hash: str) -> None:
        store_temporary_password(session, login, password_hash, clock=self.clock, validity=self.validity)
