"""Who is asking: signed cookies, the session behind them, CSRF tokens, safe redirects and ``require(*roles)``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request
from sqlmodel import Session

from extranet_intake.provisioning.staff import Role, StaffAccount, load_session

if TYPE_CHECKING:
    from extranet_intake.desk.app import Desk

__all__ = [
    "ANON_CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "LoginRequired",
    "Staff",
    "check_csrf",
    "client_address",
    "cookie_secure",
    "csrf_token",
    "current_staff",
    "desk_of",
    "login_url",
    "require",
    "safe_next",
    "session_token",
    "sign",
    "unsign",
]

SESSION_COOKIE = "desk_session"
#: before sign-in there is no session: the login form's CSRF token is bound to this random cookie instead
ANON_CSRF_COOKIE = "desk_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Staff:
    id: int
    name: str
    display_name: str
    role: Role
    language: str

    @classmethod
    def of(cls, account: StaffAccount) -> Staff:
        return cls(
            id=account.id or 0,
            name=account.name,
            display_name=account.display_name,
            role=Role(account.role),
            language=account.language,
        )


class LoginRequired(Exception):
    """An anonymous GET of a protected page: answered with a redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


# --- signed values -------------------------------------------------------------------------------------


def _mac(secret: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(secret, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret: bytes, value: str) -> str:
    return f"{value}.{_mac(secret, 'cookie', value)}"


def unsign(secret: bytes, signed: str | None) -> str | None:
    if not signed or "." not in signed:
        return None
    value, _, mac = signed.rpartition(".")
    return value if hmac.compare_digest(mac, _mac(secret, "cookie", value)) else None


def session_token(request: Request) -> str | None:
    """The token of the (signature-checked, not necessarily live) session cookie."""
    return unsign(desk_of(request).secret, request.cookies.get(SESSION_COOKIE))


# --- sessions ------------------------------------------------------------------------------------------


def current_staff(request: Request) -> Staff | None:
    """The signed-in person of this request (looked up once per request; expired sessions are ended)."""
    if hasattr(request.state, "staff"):
        cached: Staff | None = request.state.staff
        return cached
    staff: Staff | None = None
    token = session_token(request)
    if token:
        desk = desk_of(request)
        with Session(desk.engine) as session:
            account = load_session(
                session,
                token,
                idle=timedelta(minutes=desk.cfg.web.session_idle_minutes),
                absolute=timedelta(hours=desk.cfg.web.session_max_hours),
            )
            staff = Staff.of(account) if account else None
            session.commit()
    request.state.staff = staff
    return staff


def require(*roles: Role) -> Callable[[Request], Staff]:
    """A dependency admitting only the listed roles (admin is not implied): anonymous GET → 302 to /login."""
    allowed = frozenset(roles)

    def dependency(request: Request) -> Staff:
        staff = current_staff(request)
        if staff is None:
            if request.method in ("GET", "HEAD"):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise LoginRequired(target)
            raise HTTPException(status_code=401, detail="sign in first")
        if staff.role not in allowed:
            raise HTTPException(status_code=403, detail="your role may not open this page")
        return staff

    return dependency


# --- CSRF ----------------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The token forms of this request must carry: bound to the session, or before sign-in to a random cookie."""
    desk = desk_of(request)
    token = session_token(request)
    if token:
        return _mac(desk.secret, "csrf-session", token)
    anon = unsign(desk.secret, request.cookies.get(ANON_CSRF_COOKIE)) or getattr(request.state, "new_anon_csrf", None)
    if anon is None:
        anon = secrets.token_urlsafe(24)
        request.state.new_anon_csrf = anon  # render() sets the cookie on its response
    return _mac(desk.secret, "csrf-anon", anon)


def _expected_csrf(request: Request) -> str | None:
    desk = desk_of(request)
    token = session_token(request)
    if token:
        return _mac(desk.secret, "csrf-session", token)
    anon = unsign(desk.secret, request.cookies.get(ANON_CSRF_COOKIE))
    return _mac(desk.secret, "csrf-anon", anon) if anon else None


async def check_csrf(request: Request) -> None:
    """App-wide dependency: every unsafe method carries the token (form field or header), else 403."""
    if request.method in SAFE_METHODS:
        return
    if request.url.path in desk_of(request).csrf_exempt:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = _expected_csrf(request)
    if not sent or expected is None or not hmac.compare_digest(sent, expected):
        raise HTTPException(status_code=403, detail="the form expired or did not come from this site; reload it")


# --- small helpers ------------------------------------------------------------------------------------


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in; anything else (another host, a scheme, ``//host``) becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(c in value for c in "\\\r\n\t") or any(ord(c) < 32 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="/")


def cookie_secure(request: Request) -> bool:
    mode = desk_of(request).cfg.web.cookie_secure
    if mode == "auto":
        return request.url.scheme == "https"
    return mode == "true"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
