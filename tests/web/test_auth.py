"""Sign-in security of the desk: CSRF, redirects, headers, cookies, expiry, disabled accounts, throttling, TOTP,
escaping, and the audit entries of every sign-in, failure and sign-out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import Session
from starlette.testclient import TestClient

from extranet_intake.auditchain.chain import AuditAction, iter_entries
from extranet_intake.desk.app import SECURITY_HEADERS
from extranet_intake.provisioning.staff import Role, StaffSession, disable_staff, enrol_totp
from tests.web.conftest import PASSWORD, LoginAs, create_staff, csrf_of, make_client, post_login, signed_in


def _audit(engine: sa.Engine, *actions: AuditAction) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return list(iter_entries(conn, actions=actions))


# --- CSRF ---------------------------------------------------------------------------------------------


def test_post_without_csrf_token_is_refused(client: TestClient, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "rita", Role.REVIEWER)
    client.get("/login")  # has the anonymous CSRF cookie, but sends no token
    response = client.post("/login", data={"name": "rita", "password": PASSWORD})
    assert response.status_code == 403
    assert "desk_session" not in response.cookies
    response = client.post("/login", data={"name": "rita", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403


def test_signed_in_post_needs_the_session_token(client: TestClient, login_as: LoginAs, web_app: FastAPI) -> None:
    login_as(client, Role.REVIEWER)
    assert client.post("/logout").status_code == 403
    # the token of another browser does not fit this session
    with make_client(web_app) as other:
        foreign = csrf_of(other, "/login")
    assert client.post("/logout", data={"csrf_token": foreign}).status_code == 403
    assert signed_in(client)  # still signed in
    assert client.post("/logout", data={"csrf_token": csrf_of(client, "/")}).status_code == 303
    assert client.get("/").status_code == 302


# --- redirects after sign-in ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "http:/evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
    ],
)
def test_no_open_redirect_after_login(client: TestClient, web_engine: sa.Engine, target: str) -> None:
    create_staff(web_engine, "rita", Role.REVIEWER)
    page = client.get("/login", params={"next": target})
    assert "evil.example" not in page.text
    response = post_login(client, "rita", next_path=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_local_next_is_kept(client: TestClient, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "rita", Role.REVIEWER)
    first = client.get("/")
    assert first.status_code == 302
    assert first.headers["location"] == "/login?next=/"
    response = post_login(client, "rita", next_path="/healthz?x=1")
    assert response.headers["location"] == "/healthz?x=1"


# --- headers and cookies ----------------------------------------------------------------------------------


def test_security_headers_on_every_page(client: TestClient, login_as: LoginAs) -> None:
    anonymous = [client.get(p) for p in ("/login", "/", "/healthz", "/readyz", "/static/app.css", "/nowhere")]
    login_as(client, Role.AUDITOR)
    signed_in = [client.get("/"), client.get("/nowhere")]
    for response in [*anonymous, *signed_in]:
        for name, value in SECURITY_HEADERS:
            assert response.headers.get(name.decode()) == value.decode(), (response.url, name)
    csp = anonymous[0].headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert anonymous[0].headers["cache-control"] == "no-store"


def test_no_inline_script_or_style_in_pages(client: TestClient, login_as: LoginAs) -> None:
    pages = [client.get("/login").text]
    login_as(client, Role.ADMIN)
    pages.append(client.get("/").text)
    for html in pages:
        assert "<script>" not in html
        assert "<style" not in html
        assert " style=" not in html
        assert "onclick" not in html


def _set_cookie(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    (line,) = [h for h in headers if h.startswith(name + "=")]
    return str(line).lower()


def test_session_cookie_flags(web_app: FastAPI, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "rita", Role.REVIEWER)
    with make_client(web_app) as plain:
        cookie = _set_cookie(post_login(plain, "rita"), "desk_session")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP (development): a Secure cookie would never come back
    with make_client(web_app, base_url="https://testserver") as tls:
        cookie = _set_cookie(post_login(tls, "rita"), "desk_session")
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_cookie_secure_true_even_over_http(web_app: FastAPI, web_engine: sa.Engine) -> None:
    web_app.state.desk.cfg.web.cookie_secure = "true"
    create_staff(web_engine, "rita", Role.REVIEWER)
    with make_client(web_app) as plain:
        response = plain.get("/login")
        assert "secure" in _set_cookie(response, "desk_csrf")
        # so the browser never sends it back over plain HTTP, and a sign-in there fails its CSRF check
        token = csrf_of(plain)
        refused = plain.post("/login", data={"csrf_token": token, "name": "rita", "password": PASSWORD})
        assert refused.status_code == 403


# --- session expiry, disabled accounts ------------------------------------------------------------------


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
def test_expired_session_goes_to_login(
    client: TestClient, login_as: LoginAs, web_engine: sa.Engine, column: str
) -> None:
    login_as(client, Role.REVIEWER)
    assert signed_in(client)
    # idle for longer than session_idle_minutes (30), or older than session_max_hours (10)
    age = timedelta(minutes=31) if column == "last_seen_at" else timedelta(hours=11)
    with Session(web_engine) as session:
        session.execute(sa.update(StaffSession).values({column: datetime.now(UTC) - age}))
        session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/login")
    with Session(web_engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(StaffSession)).scalar_one() == 0


def test_disabled_staff_cannot_sign_in_and_loses_its_session(
    client: TestClient, login_as: LoginAs, web_app: FastAPI, web_engine: sa.Engine
) -> None:
    login_as(client, Role.REVIEWER, name="rita")
    with Session(web_engine) as session:
        disable_staff(session, "rita", actor="os:ops")
        session.commit()
    assert client.get("/").status_code == 302
    with make_client(web_app) as fresh:
        response = post_login(fresh, "rita")
        assert response.status_code == 401
        assert "desk_session" not in response.cookies
    failed = _audit(web_engine, AuditAction.STAFF_LOGIN_FAILED)
    assert [e["reason"] for e in failed] == ["staff-disabled"]


# --- throttling ------------------------------------------------------------------------------------------


def test_throttled_after_n_failures_per_name(client: TestClient, web_app: FastAPI, web_engine: sa.Engine) -> None:
    web_app.state.desk.cfg.web.throttle_max_failures = 3
    create_staff(web_engine, "rita", Role.REVIEWER)
    for _ in range(3):
        assert post_login(client, "rita", "wrong").status_code == 401
    # now even the right password is refused, without being checked
    response = post_login(client, "rita")
    assert response.status_code == 429
    assert "desk_session" not in response.cookies
    reasons = [e["reason"] for e in _audit(web_engine, AuditAction.STAFF_LOGIN_FAILED)]
    assert reasons == ["staff-bad-password"] * 3 + ["staff-throttled"]
    # the counter is in the database: a second process (here: a second app) refuses too
    from extranet_intake.desk.app import create_app
    from tests.web.conftest import SECRET

    other = create_app(web_app.state.desk.cfg, secret=SECRET, engine=web_engine)
    with make_client(other) as second:
        assert post_login(second, "rita").status_code == 429


def test_throttled_per_client_address(client: TestClient, web_app: FastAPI, web_engine: sa.Engine) -> None:
    web_app.state.desk.cfg.web.throttle_max_failures_per_address = 4
    create_staff(web_engine, "rita", Role.REVIEWER)
    for name in ("a1", "a2", "a3", "a4"):  # spraying names from one address
        assert post_login(client, name, "guess").status_code == 401
    assert post_login(client, "rita").status_code == 429


def test_success_clears_the_name_counter(client: TestClient, web_engine: sa.Engine, web_app: FastAPI) -> None:
    web_app.state.desk.cfg.web.throttle_max_failures = 3
    create_staff(web_engine, "rita", Role.REVIEWER)
    for _ in range(2):
        post_login(client, "rita", "wrong")
    assert post_login(client, "rita").status_code == 303
    with make_client(web_app) as again:
        for _ in range(2):
            post_login(again, "rita", "wrong")
        assert post_login(again, "rita").status_code == 303


# --- TOTP ------------------------------------------------------------------------------------------------


def test_totp_is_required_once_enrolled(client: TestClient, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "rita", Role.REVIEWER)
    with Session(web_engine) as session:
        uri = enrol_totp(session, "rita", actor="os:ops")
        session.commit()
    secret = pyotp.parse_uri(uri).secret
    assert post_login(client, "rita").status_code == 401
    assert (
        post_login(client, "rita", totp="000000" if pyotp.TOTP(secret).now() != "000000" else "111111").status_code
        == 401
    )
    response = post_login(client, "rita", totp=pyotp.TOTP(secret).now())
    assert response.status_code == 303
    reasons = [e["reason"] for e in _audit(web_engine, AuditAction.STAFF_LOGIN_FAILED, AuditAction.STAFF_LOGIN)]
    assert reasons == ["staff-totp-required", "staff-totp-invalid", "password+totp"]


# --- escaping, secrecy, audit ----------------------------------------------------------------------------


def test_script_in_a_name_renders_as_text(client: TestClient, login_as: LoginAs) -> None:
    evil = "<script>alert(1)</script>\x1b[31m"
    login_as(client, Role.AUDITOR, display_name=evil)
    html = client.get("/", follow_redirects=True).text  # the room of the role shows the name in its header
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    with make_client(client.app) as anon:  # type: ignore[arg-type]
        refused = post_login(anon, "<script>alert(2)</script>", "x")
    assert "<script>alert(2)" not in refused.text
    assert "&lt;script&gt;alert(2)" in refused.text


def test_password_never_in_a_response(client: TestClient, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "rita", Role.REVIEWER)
    refused = post_login(client, "rita", "Secret-Guess-123")
    assert "Secret-Guess-123" not in refused.text
    accepted = post_login(client, "rita")
    assert PASSWORD not in accepted.text
    assert PASSWORD not in str(accepted.headers)


def test_login_failure_logout_are_audited(client: TestClient, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "rita", Role.REVIEWER)
    post_login(client, "ghost", "x")
    post_login(client, "rita")
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    entries = _audit(web_engine, AuditAction.STAFF_LOGIN, AuditAction.STAFF_LOGIN_FAILED, AuditAction.STAFF_LOGOUT)
    assert [(e["action"], e["actor"], e["reason"]) for e in entries] == [
        ("staff_login_failed", "desk", "staff-unknown"),
        ("staff_login", "rita", "password"),
        ("staff_logout", "rita", "logout"),
    ]
    assert json.loads(str(entries[0]["details"]))["name"] == "ghost"
    assert PASSWORD not in str(entries)


# --- metrics ---------------------------------------------------------------------------------------------


def test_metrics_for_admins_and_the_bearer_token(
    client: TestClient, login_as: LoginAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/metrics").status_code == 401
    monkeypatch.setenv("EXTRANET_METRICS_TOKEN", "scrape-token-123")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
    assert scraped.status_code == 200
    assert "extranet_intake_review_backlog 0.0" in scraped.text
    login_as(client, Role.ADMIN)
    page = client.get("/metrics")
    assert page.status_code == 200
    assert 'desk_staff_active{role="admin"} 1' in page.text
    assert "desk_sessions_active 1" in page.text


def test_signing_in_again_replaces_the_session(client: TestClient, login_as: LoginAs, web_engine: sa.Engine) -> None:
    login_as(client, Role.REVIEWER, name="rita")
    first = client.cookies["desk_session"]
    create_staff(web_engine, "anne", Role.AUDITOR)
    token = csrf_of(client, "/")
    response = client.post("/login", data={"csrf_token": token, "name": "anne", "password": PASSWORD})
    assert response.status_code == 303
    assert client.cookies["desk_session"] != first
    with Session(web_engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(StaffSession)).scalar_one() == 1
