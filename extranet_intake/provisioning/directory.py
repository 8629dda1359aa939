"""Send-time lookups for the mailer: who may receive what, now (temporary passwords: :mod:`provisioning.passwords`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from extranet_intake.provisioning.models import Account, AccountStatus, MasterUser, Organisation

__all__ = ["Contact", "master_user_contact", "notification_contact", "previous_user_contact", "user_contact"]


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
    mu = session.exec(
        select(MasterUser).where(col(MasterUser.enterprise_number) == enterprise_number, col(MasterUser.is_current))
    ).first()
    if mu is None:
        return None
    return Contact(mu.email, f"{mu.first_name} {mu.last_name}".strip(), mu.language)
