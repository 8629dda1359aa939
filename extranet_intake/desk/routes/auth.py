"""Sign-in and sign-out: ``/login`` (password and optional TOTP, throttled), ``/logout``, ``/`` (your room)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.desk.pages import render
from extranet_intake.desk.security import (
    ANON_CSRF_COOKIE,
    SESSION_COOKIE,
    Staff,
    client_address,
    cookie_secure,
    current_staff,
    desk_of,
    require,
    safe_next,
    session_token,
    sign,
)
from extranet_intake.errors import StaffError
from extranet_intake.provisioning.staff import (
    Role,
    StaffAccount,
    authenticate,
    clear_failures,
    count_failures,
    end_session,
    record_failure,
    start_session,
)

__all__ = ["audit_login", "finish_login", "router"]

router = APIRouter()

#: one message for every refusal, so the page does not tell which names exist or which part was wrong
LOGIN_REFUSED = "Sign-in refused: check your name, password and one-time code."
THROTTLED = "Too many failed attempts. Wait a few minutes and try again."


def _now() -> datetime:
    return datetime.now(UTC)


def _oidc_label(request: Request) -> str:
    oidc = desk_of(request).cfg.web.oidc
    return oidc.label if oidc.enabled else ""


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    if current_staff(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), oidc_label=_oidc_label(request))


def audit_login(session: Session, *, action: AuditAction, actor: str, reason: str, details: dict[str, Any]) -> None:
    append_entry(
        session,
        actor=actor,
        action=action,
        org=None,
        login=None,
        document_sha256=None,
        reason=reason,
        details=details,
        at=_now(),
    )


def finish_login(request: Request, session: Session, account: StaffAccount, *, method: str, next_path: str) -> Response:
    """Start a fresh session (never reuse a cookie from before sign-in), audit it, commit, redirect."""
    previous = session_token(request)
    if previous:
        end_session(session, previous)  # signing in again in one browser leaves no second live session
    token = start_session(session, account, method=method)
    audit_login(
        session,
        action=AuditAction.STAFF_LOGIN,
        actor=account.name,
        reason=method,
        details={"address": client_address(request), "role": str(account.role), "method": method},
    )
    session.commit()
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sign(desk_of(request).secret, token),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )
    response.delete_cookie(ANON_CSRF_COOKIE, path="/")
    return response


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    totp: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    desk = desk_of(request)
    web = desk.cfg.web
    name = name.strip().lower()[:200]
    address = client_address(request)
    keys = [f"name:{name}", f"addr:{address}"]
    window = timedelta(minutes=web.throttle_window_minutes)
    with Session(desk.engine) as session:
        throttled = (
            count_failures(session, keys[0], window=window) >= web.throttle_max_failures
            or count_failures(session, keys[1], window=window) >= web.throttle_max_failures_per_address
        )
        if throttled:
            # no password check at all while throttled: guessing gets no answer, right or wrong
            code = "staff-throttled"
        else:
            try:
                account = authenticate(session, name, password, totp or None)
            except StaffError as exc:
                code = exc.code
            else:
                clear_failures(session, keys[0])
                return finish_login(
                    request,
                    session,
                    account,
                    method="password+totp" if account.totp_secret else "password",
                    next_path=next,
                )
        record_failure(session, keys)
        audit_login(
            session,
            action=AuditAction.STAFF_LOGIN_FAILED,
            actor="desk",
            reason=code,
            details={"name": name, "address": address},
        )
        session.commit()
    return render(
        request,
        "login.html",
        status=429 if throttled else 401,
        next=safe_next(next),
        name=name,
        error=THROTTLED if throttled else LOGIN_REFUSED,
        oidc_label=_oidc_label(request),
    )


@router.post("/logout")
def logout(request: Request) -> Response:
    desk = desk_of(request)
    token = session_token(request)
    staff = current_staff(request)
    if token:
        with Session(desk.engine) as session:
            if end_session(session, token) is not None and staff is not None:
                audit_login(
                    session,
                    action=AuditAction.STAFF_LOGOUT,
                    actor=staff.name,
                    reason="logout",
                    details={"address": client_address(request)},
                )
            session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(
    request: Request, staff: Annotated[Staff, Depends(require(Role.REVIEWER, Role.AUDITOR, Role.ADMIN))]
) -> Response:
    room = desk_of(request).room_of(staff.role)
    if room is not None:
        return RedirectResponse(room.path, status_code=302)
    return render(request, "home.html")
