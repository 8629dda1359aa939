"""Staff identity: accounts of the people who use the desk (roles, argon2id passwords, TOTP, OIDC subject), their
web sessions, and the failed-login counters that throttle guessing.

Sessions and failures live in the database, not in a process, so several web processes behind a load
balancer share them. A session's cookie carries a random token; only its SHA-256 is stored, so a copy of
the database does not let anyone ride a session.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pyotp
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.errors import StaffError
from extranet_intake.provisioning.passwords import generate_password, hash_password, verify_password

__all__ = [
    "LANGUAGES",
    "LoginFailure",
    "Role",
    "SessionInfo",
    "StaffAccount",
    "StaffSession",
    "add_staff",
    "authenticate",
    "clear_failures",
    "count_failures",
    "disable_staff",
    "end_session",
    "enrol_totp",
    "find_active",
    "find_by_oidc",
    "list_staff",
    "load_session",
    "record_failure",
    "reset_staff_password",
    "start_session",
    "token_hash",
]

Clock = Callable[[], datetime]

LANGUAGES = ("nl", "fr")
#: a login name: typed by hand, shown in the audit log, used as ``--by`` on the command line
_NAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")
#: verified against when the name is unknown, so that a wrong name costs as long as a wrong password
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


class Role(StrEnum):
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


def _now() -> datetime:
    return datetime.now(UTC)


class StaffAccount(SQLModel, table=True):
    __tablename__ = "staff_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=200)
    role: Role = Field(sa_type=sa.String(16), max_length=16)
    language: str = Field(default="nl", max_length=2)
    #: argon2id; empty for an account that signs in only through OpenID Connect
    password_hash: str = Field(default="", max_length=200)
    #: base32 TOTP secret (RFC 6238); never shown after enrolment
    totp_secret: str | None = Field(default=None, max_length=64)
    oidc_subject: str | None = Field(default=None, max_length=255, unique=True)
    email: str | None = Field(default=None, max_length=320, index=True)
    active: bool = True
    created_at: datetime
    disabled_at: datetime | None = None


class StaffSession(SQLModel, table=True):
    """One signed-in browser. Idle and absolute expiry are checked on every request."""

    __tablename__ = "staff_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(foreign_key="staff_account.id", index=True)
    created_at: datetime
    last_seen_at: datetime
    #: how the person signed in: password, password+totp, oidc
    method: str = Field(default="password", max_length=20)


class LoginFailure(SQLModel, table=True):
    """One failed sign-in, keyed ``name:<name>`` and ``addr:<address>``; counted over a sliding window."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400, index=True)
    at: datetime = Field(index=True)


# --- accounts ----------------------------------------------------------------------------------------


def _check(name: str, role: str, language: str) -> Role:
    if not _NAME.fullmatch(name):
        raise StaffError(
            "staff-name-invalid",
            "a staff name is 2-64 characters: lower-case letters, digits, . _ -, starting with a letter",
            name=name[:80],
        )
    try:
        parsed = Role(role)
    except ValueError:
        raise StaffError(
            "staff-role-invalid", f"role must be one of {', '.join(r.value for r in Role)}", role=role
        ) from None
    if language not in LANGUAGES:
        raise StaffError("staff-language-invalid", "language must be nl or fr", language=language)
    return parsed


def add_staff(
    session: Session,
    name: str,
    *,
    role: Role | str,
    display_name: str = "",
    language: str = "nl",
    email: str | None = None,
    oidc_subject: str | None = None,
    password: str | None = None,
    actor: str,
    clock: Clock = _now,
) -> tuple[StaffAccount, str]:
    """Create an account; returns it and its initial password (generated unless given), to be shown once.

    Audited as ``staff_added`` by ``actor`` (who gave the role: docs/audit.md), never with the password."""
    parsed = _check(name, str(role), language)
    plain = password if password is not None else generate_password(length=20)
    account = StaffAccount(
        name=name,
        display_name=display_name or name,
        role=parsed,
        language=language,
        password_hash=hash_password(plain),
        email=email or None,
        oidc_subject=oidc_subject or None,
        created_at=clock(),
    )
    session.add(account)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise StaffError(
            "staff-name-taken", "a staff account with this name or OpenID subject exists", name=name
        ) from exc
    _audit(
        session,
        AuditAction.STAFF_ADDED,
        account,
        actor=actor,
        at=account.created_at,
        details={"language": language, "email": account.email, "oidc": bool(account.oidc_subject)},
    )
    return account, plain


def list_staff(session: Session) -> list[StaffAccount]:
    return list(session.exec(select(StaffAccount).order_by(col(StaffAccount.name))))


def _get(session: Session, name: str) -> StaffAccount:
    account = session.exec(select(StaffAccount).where(col(StaffAccount.name) == name)).first()
    if account is None:
        raise StaffError("staff-unknown", "no staff account has this name", name=name[:80])
    return account


def find_active(session: Session, name: str) -> StaffAccount:
    """The active account called ``name`` (``--by`` of the command line names one)."""
    account = _get(session, name)
    if not account.active:
        raise StaffError("staff-disabled", "this staff account is disabled", name=name)
    return account


def find_by_oidc(session: Session, *, subject: str, email: str | None) -> StaffAccount:
    """The active account bound to an OpenID subject, else the one with that e-mail (then bound to the subject)."""
    account = session.exec(select(StaffAccount).where(col(StaffAccount.oidc_subject) == subject)).first()
    if account is None and email:
        candidates = list(
            session.exec(
                select(StaffAccount).where(
                    sa.func.lower(col(StaffAccount.email)) == email.lower(), col(StaffAccount.oidc_subject).is_(None)
                )
            )
        )
        # two accounts with one address would let the provider pick which: refuse instead
        if len(candidates) == 1:
            account = candidates[0]
            account.oidc_subject = subject
            session.add(account)
    if account is None:
        raise StaffError("staff-oidc-unknown", "no staff account matches this OpenID Connect identity")
    if not account.active:
        raise StaffError("staff-disabled", "this staff account is disabled", name=account.name)
    return account


def _end_all(session: Session, staff_id: int) -> None:
    session.execute(sa.delete(StaffSession).where(col(StaffSession.staff_id) == staff_id))


def disable_staff(session: Session, name: str, *, actor: str, clock: Clock = _now) -> StaffAccount:
    """Disable an account and end its sessions at once (audited as ``staff_disabled`` by ``actor``)."""
    account = _get(session, name)
    account.active = False
    account.disabled_at = clock()
    session.add(account)
    _end_all(session, account.id or 0)
    _audit(session, AuditAction.STAFF_DISABLED, account, actor=actor, at=account.disabled_at)
    return account


def reset_staff_password(
    session: Session, name: str, *, actor: str, password: str | None = None, clock: Clock = _now
) -> str:
    """A new password (generated unless given), returned once; every session of the account ends.

    Audited as ``staff_password_reset`` by ``actor``, never with the password."""
    account = _get(session, name)
    plain = password if password is not None else generate_password(length=20)
    account.password_hash = hash_password(plain)
    session.add(account)
    _end_all(session, account.id or 0)
    _audit(session, AuditAction.STAFF_PASSWORD_RESET, account, actor=actor, at=clock())
    return plain


def enrol_totp(
    session: Session, name: str, *, actor: str, issuer: str = "extranet-intake desk", clock: Clock = _now
) -> str:
    """Give the account a new TOTP secret; returns the otpauth:// URI (to show once, as text or QR code).

    Audited as ``staff_totp_enrolled`` by ``actor``, never with the secret."""
    account = _get(session, name)
    secret = pyotp.random_base32()
    account.totp_secret = secret
    session.add(account)
    _audit(session, AuditAction.STAFF_TOTP_ENROLLED, account, actor=actor, at=clock())
    return pyotp.TOTP(secret).provisioning_uri(name=account.name, issuer_name=issuer)


def _audit(
    session: Session,
    action: AuditAction,
    account: StaffAccount,
    *,
    actor: str,
    at: datetime,
    details: dict[str, object] | None = None,
) -> None:
    """One audit entry for a change to a staff account: who (``actor``) did what to whom (``staff``)."""
    append_entry(
        session,
        actor=actor,
        action=action,
        org=None,
        login=None,
        document_sha256=None,
        reason=str(account.role),
        details={"staff": account.name, "role": str(account.role), **(details or {})},
        at=at,
    )


def authenticate(session: Session, name: str, password: str, totp: str | None = None) -> StaffAccount:
    """The account when name, password (and TOTP when enrolled) are right; a coded ``StaffError`` otherwise.

    The codes differ for the audit log; the page shows one message for all, so it does not tell which
    names exist.
    """
    account = session.exec(select(StaffAccount).where(col(StaffAccount.name) == name)).first()
    if account is None:
        verify_password(_DUMMY_HASH, password)
        raise StaffError("staff-unknown", "no staff account has this name", name=name[:80])
    if not account.password_hash or not verify_password(account.password_hash, password):
        raise StaffError("staff-bad-password", "wrong password", name=name)
    if not account.active:
        raise StaffError("staff-disabled", "this staff account is disabled", name=name)
    if account.totp_secret:
        if not totp:
            raise StaffError("staff-totp-required", "a one-time code is required", name=name)
        # valid_window=1: one step of clock drift either way (RFC 6238 §5.2)
        if not pyotp.TOTP(account.totp_secret).verify(totp.strip(), valid_window=1):
            raise StaffError("staff-totp-invalid", "wrong one-time code", name=name)
    return account


# --- sessions ----------------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    token: str
    staff_id: int
    created_at: datetime


def start_session(session: Session, account: StaffAccount, *, method: str = "password", clock: Clock = _now) -> str:
    """A new session for ``account``; returns the random token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = clock()
    session.add(
        StaffSession(
            token_hash=token_hash(token), staff_id=account.id or 0, created_at=now, last_seen_at=now, method=method
        )
    )
    return token


def load_session(
    session: Session, token: str, *, idle: timedelta, absolute: timedelta, clock: Clock = _now
) -> StaffAccount | None:
    """The active account of a live session, refreshing its idle clock; expired sessions are deleted."""
    row = session.get(StaffSession, token_hash(token))
    if row is None:
        return None
    now = clock()
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        session.delete(row)
        return None
    account = session.get(StaffAccount, row.staff_id)
    if account is None or not account.active:
        session.delete(row)
        return None
    # one write a minute at most: a page with many requests need not write each time
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
        session.add(row)
    return account


def end_session(session: Session, token: str) -> int | None:
    """Delete a session; returns its staff id (None when it did not exist)."""
    row = session.get(StaffSession, token_hash(token))
    if row is None:
        return None
    session.delete(row)
    return row.staff_id


# --- throttling --------------------------------------------------------------------------------------


def record_failure(session: Session, keys: list[str], *, clock: Clock = _now) -> None:
    now = clock()
    for key in keys:
        session.add(LoginFailure(key=key[:400], at=now))


def count_failures(session: Session, key: str, *, window: timedelta, clock: Clock = _now) -> int:
    since = clock() - window
    return int(
        session.exec(
            select(sa.func.count())
            .select_from(LoginFailure)
            .where(col(LoginFailure.key) == key[:400], col(LoginFailure.at) >= since)
        ).one()
    )


def clear_failures(session: Session, key: str) -> None:
    session.execute(sa.delete(LoginFailure).where(col(LoginFailure.key) == key[:400]))
