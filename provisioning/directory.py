"""Send-time lookups for the mailer (who may receive what, now) and the issuing of temporary passwords."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from errors import ProvisioningError
from provisioning.apply import Clock, invalidate_passwords
from provisioning.models import Account, AccountStatus, Credential, MasterUser, Organisation
from provisioning.passwords import DEFAULT_ARGON2, Argon2Params, generate_password, hash_password, verify_password
from provisioning.policy import CREDENTIALS_VALIDITY_HOURS

__all__ = [
    "DEFAULT_VALIDITY",
    "Contact",
    "issue_temporary_password",
    "master_user_contact",
    "notification_contact",
    "previous_user_contact",
    "store_temporary_password",
    "user_contact",
    "verify_password",
    "verify_temporary_password",
]

DEFAULT_VALIDITY = timedelta(hours=CREDENTIALS_VALIDITY_HOURS)


@dataclass(frozen=True)
class Contact:
    """The one address a purpose may reach, with the name and language to write in."""

    email: str
    name: str
    language: str


def user_contact(session: Session, login: str) -> Contact | None:
    """The account's ``user_email`` from its own fiche (credentials only); None unless active."""
    account = session.get(Account, login)
    if account is None or account.status != AccountStatus.ACTIVE:
        return None
    org = session.get(Organisation, account.enterprise_number)
    if org is not None and (org.notification_email or "").lower() == account.email.lower():
        # a later agreement made this the notification address (a distribution list): never credentials
        return None
    return Contact(account.email, f"{account.first_name} {account.last_name}".strip(), account.language)


def previous_user_contact(session: Session, login: str) -> Contact | None:
    """The address the account had before its last approved address change (old-address notice only).

    None unless the account is active and its address did change: this purpose never reaches the
    current address (that one gets the credentials) and never carries credentials itself.
    """
    account = session.get(Account, login)
    if account is None or account.status != AccountStatus.ACTIVE or not account.previous_email:
        return None
    if account.previous_email.lower() == account.email.lower():
        return None
    return Contact(account.previous_email, f"{account.first_name} {account.last_name}".strip(), account.language)


def notification_contact(session: Session, enterprise_number: str) -> Contact | None:
    """The agreement's ``notification_email`` (org notices; never credentials)."""
    org = session.get(Organisation, enterprise_number)
    if org is None or not org.notification_email:
        return None
    return Contact(org.notification_email, org.name, org.correspondence_language or "nl")


def master_user_contact(session: Session, enterprise_number: str) -> Contact | None:
    """The current Master User's ``mu_email``."""
    mu = session.exec(select(MasterUser).where(col(MasterUser.enterprise_number) == enterprise_number,
                                               col(MasterUser.is_current))).first()
    if mu is None:
        return None
    return Contact(mu.email, f"{mu.first_name} {mu.last_name}".strip(), mu.language)


def issue_temporary_password(session: Session, login: str, *, clock: Clock, rng: random.Random | None = None,
                             validity: timedelta = DEFAULT_VALIDITY, length: int = 20,
                             argon2: Argon2Params = DEFAULT_ARGON2) -> str:
    """Make a temporary password for ``login``; store only its argon2id hash; kill the previous one.

    Returns the plaintext for the caller to put in the credentials mail — and nowhere else. The
    password is single use and must be changed at first login. (The mailer makes and hashes it
    before its transaction instead, then calls :func:`store_temporary_password`.)
    """
    _active(session, login)
    plaintext = generate_password(length=length, rng=rng)
    store_temporary_password(session, login, hash_password(plaintext, argon2), clock=clock, validity=validity)
    return plaintext


def store_temporary_password(session: Session, login: str, password_hash: str, *, clock: Clock,
                             validity: timedelta = DEFAULT_VALIDITY) -> None:
    """Store the hash of a new temporary password for ``login`` and kill the previous one."""
    _active(session, login)
    now = clock()
    invalidate_passwords(session, login, now)
    session.add(Credential(login=login, password_hash=password_hash, issued_at=now,
                           expires_at=now + validity, must_change=True))
    session.flush()


def _active(session: Session, login: str) -> None:
    account = session.get(Account, login)
    if account is None or account.status != AccountStatus.ACTIVE:
        raise ProvisioningError("account-not-active", "credentials are issued only for an active account",
                                login=login)


def verify_temporary_password(session: Session, login: str, plaintext: str, *, clock: Clock) -> bool:
    """Check a first-login password: live (not invalidated, not used, not expired), then spend it."""
    now = clock()
    live = session.exec(select(Credential).where(col(Credential.login) == login,
                                                 col(Credential.invalidated_at).is_(None),
                                                 col(Credential.used_at).is_(None))).all()
    for cred in live:
        if cred.expires_at > now and verify_password(cred.password_hash, plaintext):
            cred.used_at = now
            session.add(cred)
            return True
    return False
