"""OpenID Connect sign-in (authorization code flow with PKCE and nonce): ``/auth/oidc/login`` and its callback.

The provider's discovery document gives the endpoints; authlib makes the authorization URL and exchanges the
code; the ID token is verified against the provider's JWKS (issuer, audience, expiry, nonce). A person is let
in only when an active staff account is bound to the token's subject, or has its e-mail (then bound to it):
an unknown subject is refused, never created.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditAction
from extranet_intake.desk.pages import render
from extranet_intake.desk.routes.auth import LOGIN_REFUSED, audit_login, finish_login
from extranet_intake.desk.security import client_address, cookie_secure, desk_of, safe_next, sign, unsign
from extranet_intake.errors import StaffError
from extranet_intake.intake.config import OidcConfig
from extranet_intake.provisioning.staff import Role, StaffAccount, find_by_oidc

__all__ = ["router"]

router = APIRouter()

STATE_COOKIE = "desk_oidc"
#: how long a person may spend at the provider between leaving the desk and coming back
STATE_SECONDS = 600
_TIMEOUT = 10.0


def _config(request: Request) -> OidcConfig:
    oidc = desk_of(request).cfg.web.oidc
    if not oidc.enabled:
        raise HTTPException(status_code=404, detail="OpenID Connect sign-in is not configured")
    return oidc


def _discovery(issuer: str) -> dict[str, Any]:
    response = httpx.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=_TIMEOUT)
    response.raise_for_status()
    doc: dict[str, Any] = response.json()
    # OpenID Connect Discovery §4.3: the document must name the issuer we asked, or tokens could be mixed up
    if doc.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise StaffError("staff-oidc-discovery", "the provider's discovery document names another issuer")
    return doc


def _client(request: Request, oidc: OidcConfig) -> OAuth2Client:
    cfg = desk_of(request).cfg
    secret = cfg.secret(oidc.client_secret_env, key="web.oidc.client_secret_env")
    return OAuth2Client(
        client_id=oidc.client_id,
        client_secret=secret,
        scope="openid email profile",
        redirect_uri=str(request.url_for("oidc_callback")),
        code_challenge_method="S256",
        timeout=_TIMEOUT,
    )


@router.get("/auth/oidc/login")
def oidc_login(request: Request, next: str = "/") -> Response:
    oidc = _config(request)
    try:
        endpoints = _discovery(oidc.issuer)
    except (httpx.HTTPError, ValueError, StaffError) as exc:
        raise HTTPException(status_code=502, detail="the identity provider does not answer") from exc
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    with _client(request, oidc) as client:
        url, _ = client.create_authorization_url(
            endpoints["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
    payload = json.dumps(
        {"s": state, "n": nonce, "v": verifier, "next": safe_next(next), "exp": int(time.time()) + STATE_SECONDS}
    )
    response = RedirectResponse(url, status_code=302)
    # SameSite=Lax: the provider's redirect back is a top-level GET, which carries a Lax cookie
    response.set_cookie(
        STATE_COOKIE,
        sign(desk_of(request).secret, base64.urlsafe_b64encode(payload.encode()).decode()),
        httponly=True,
        samesite="lax",
        max_age=STATE_SECONDS,
        secure=cookie_secure(request),
        path="/auth/oidc/",
    )
    return response


def _role_from_claims(oidc: OidcConfig, claims: dict[str, Any]) -> Role | None:
    value = claims.get(oidc.role_claim)
    values = {value} if isinstance(value, str) else {v for v in value or () if isinstance(v, str)}
    for role in (Role.ADMIN, Role.AUDITOR, Role.REVIEWER):
        if values & set(getattr(oidc.roles, role.value)):
            return role
    return None


def _refuse(request: Request, session: Session, code: str, details: dict[str, Any]) -> Response:
    audit_login(
        session,
        action=AuditAction.STAFF_LOGIN_FAILED,
        actor="desk",
        reason=code,
        details={**details, "address": client_address(request), "method": "oidc"},
    )
    session.commit()
    response = render(request, "login.html", status=403, next="/", error=LOGIN_REFUSED, oidc_label="")
    response.delete_cookie(STATE_COOKIE, path="/auth/oidc/")
    return response


@router.get("/auth/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    oidc = _config(request)
    desk = desk_of(request)
    raw = unsign(desk.secret, request.cookies.get(STATE_COOKIE))
    saved: dict[str, Any] = json.loads(base64.urlsafe_b64decode(raw)) if raw else {}
    with Session(desk.engine) as session:
        # the state ties this answer to a sign-in this browser started (no login CSRF, no replay)
        if not saved or not state or not secrets.compare_digest(state, saved["s"]) or saved["exp"] < time.time():
            return _refuse(request, session, "staff-oidc-state", {})
        if error or not code:
            return _refuse(request, session, "staff-oidc-denied", {"error": error[:100]})
        try:
            endpoints = _discovery(oidc.issuer)
            with _client(request, oidc) as client:
                token = client.fetch_token(endpoints["token_endpoint"], code=code, code_verifier=saved["v"])
            keys = KeySet.import_key_set(httpx.get(endpoints["jwks_uri"], timeout=_TIMEOUT).json())
            decoded = jwt.decode(str(token["id_token"]), keys)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": endpoints["issuer"]},
                aud={"essential": True, "value": oidc.client_id},
                nonce={"essential": True, "value": saved["n"]},
                sub={"essential": True},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (httpx.HTTPError, OAuthError, JoseError, KeyError, ValueError, StaffError) as exc:
            return _refuse(request, session, "staff-oidc-token", {"error": type(exc).__name__})
        claims: dict[str, Any] = dict(decoded.claims)
        subject, email = str(claims["sub"]), claims.get("email")
        try:
            account: StaffAccount = find_by_oidc(
                session, subject=subject, email=email if isinstance(email, str) else None
            )
        except StaffError as exc:
            return _refuse(request, session, exc.code, {"subject": subject[:200]})
        if oidc.role_claim:
            # the provider decides the role today; the account only says who the person is
            role = _role_from_claims(oidc, claims)
            if role is None:
                return _refuse(request, session, "staff-oidc-no-role", {"subject": subject[:200]})
            if role != account.role:
                account.role = role
                session.add(account)
        response = finish_login(request, session, account, method="oidc", next_path=saved["next"])
    response.delete_cookie(STATE_COOKIE, path="/auth/oidc/")
    return response
