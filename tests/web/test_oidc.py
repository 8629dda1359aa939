"""OpenID Connect sign-in against a real local provider (oidc-provider-mock on a loopback port, in a thread).

The test registers the desk as a client (a real client secret), sends the browser's requests through the
authorization endpoint, and lets the desk exchange the code and verify the signed ID token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import Session, select
from starlette.testclient import TestClient

from extranet_intake.auditchain.chain import AuditAction, iter_entries
from extranet_intake.desk.app import create_app
from extranet_intake.intake.config import Config
from extranet_intake.provisioning.staff import Role, StaffAccount, disable_staff
from tests.web.conftest import SECRET, create_staff, free_port, make_client, signed_in

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")

CALLBACK = "http://testserver/auth/oidc/callback"
USERS = {
    "sub-alice": {"email": "alice@insurer.example", "groups": ["pension-review"]},
    "sub-audrey": {"email": "audrey@insurer.example", "groups": ["pension-audit", "staff"]},
    "sub-nogroup": {"email": "nogroup@insurer.example", "groups": ["staff"]},
    "sub-mallory": {"email": "mallory@evil.example", "groups": ["pension-admin"]},
}


@pytest.fixture(scope="module")
def provider() -> Iterator[dict[str, str]]:
    users = [oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in USERS.items()]
    with oidc_provider_mock.run_server_in_thread(
        port=free_port(), require_client_registration=True, require_nonce=True, user_claims=users
    ) as server:
        issuer = f"http://localhost:{server.server_port}"
        registered = httpx.post(f"{issuer}/oauth2/clients", json={"redirect_uris": [CALLBACK]}).json()
        yield {"issuer": issuer, "client_id": registered["client_id"], "secret": registered["client_secret"]}


@pytest.fixture
def oidc_app(
    web_config: Config, web_engine: sa.Engine, provider: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> FastAPI:
    monkeypatch.setenv("DESK_TEST_OIDC_SECRET", provider["secret"])
    oidc = web_config.web.oidc
    oidc.enabled, oidc.issuer, oidc.client_id = True, provider["issuer"], provider["client_id"]
    oidc.client_secret_env, oidc.role_claim = "DESK_TEST_OIDC_SECRET", "groups"
    oidc.roles.reviewer, oidc.roles.auditor, oidc.roles.admin = ["pension-review"], ["pension-audit"], ["pension-admin"]
    return create_app(web_config, secret=SECRET, engine=web_engine)


def _sign_in(client: TestClient, subject: str, next_path: str = "/") -> Any:
    """The browser's round trip: desk → provider (the person picks ``subject``) → desk's callback."""
    start = client.get("/auth/oidc/login", params={"next": next_path})
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    back = httpx.post(authorize, data={"sub": subject}, follow_redirects=False)
    assert back.status_code == 302, back.text
    target = urlsplit(back.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    return client.get(f"{target.path}?{target.query}")


def _audit(engine: sa.Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [
            (e["action"], e["actor"], e["reason"])
            for e in iter_entries(conn, actions=[AuditAction.STAFF_LOGIN, AuditAction.STAFF_LOGIN_FAILED])
        ]


def test_staff_matched_by_email_then_by_subject(oidc_app: FastAPI, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "alice", Role.REVIEWER, email="Alice@insurer.example")
    with make_client(oidc_app) as client:
        assert "/auth/oidc/login" in client.get("/login").text
        response = _sign_in(client, "sub-alice", next_path="/healthz")
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/healthz"
        assert signed_in(client)
    with Session(web_engine) as session:
        account = session.exec(select(StaffAccount).where(StaffAccount.name == "alice")).one()
        assert account.oidc_subject == "sub-alice"  # bound: the next sign-in matches the subject
        account.email = None
        session.add(account)
        session.commit()
    with make_client(oidc_app) as again:
        assert _sign_in(again, "sub-alice").status_code == 303
    assert _audit(web_engine) == [("staff_login", "alice", "oidc")] * 2


def test_unknown_subject_is_refused(oidc_app: FastAPI, web_engine: sa.Engine) -> None:
    with make_client(oidc_app) as client:
        response = _sign_in(client, "sub-mallory")
        assert response.status_code == 403
        assert "desk_session" not in response.cookies
        assert client.get("/").status_code == 302
    assert _audit(web_engine) == [("staff_login_failed", "desk", "staff-oidc-unknown")]
    with Session(web_engine) as session:  # nobody was created
        assert session.exec(select(sa.func.count()).select_from(StaffAccount)).one() == 0


def test_role_comes_from_the_claim_mapping(oidc_app: FastAPI, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "audrey", Role.REVIEWER, email="audrey@insurer.example")
    create_staff(web_engine, "nogroup", Role.ADMIN, email="nogroup@insurer.example")
    with make_client(oidc_app) as client:
        assert _sign_in(client, "sub-audrey").status_code == 303
    with make_client(oidc_app) as client:
        assert _sign_in(client, "sub-nogroup").status_code == 403  # no mapped group: no role, no entry
    with Session(web_engine) as session:
        roles = {a.name: a.role for a in session.exec(select(StaffAccount))}
    assert roles == {"audrey": Role.AUDITOR, "nogroup": Role.ADMIN}
    assert _audit(web_engine) == [
        ("staff_login", "audrey", "oidc"),
        ("staff_login_failed", "desk", "staff-oidc-no-role"),
    ]


def test_disabled_account_is_refused(oidc_app: FastAPI, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "alice", Role.REVIEWER, email="alice@insurer.example")
    with Session(web_engine) as session:
        disable_staff(session, "alice", actor="os:ops")
        session.commit()
    with make_client(oidc_app) as client:
        assert _sign_in(client, "sub-alice").status_code == 403
    assert _audit(web_engine) == [("staff_login_failed", "desk", "staff-disabled")]


def test_callback_without_the_browsers_state_is_refused(oidc_app: FastAPI, web_engine: sa.Engine) -> None:
    create_staff(web_engine, "alice", Role.REVIEWER, email="alice@insurer.example")
    with make_client(oidc_app) as victim, make_client(oidc_app) as attacker:
        # the attacker starts a sign-in and hands the victim's browser the code meant for its own
        start = attacker.get("/auth/oidc/login")
        back = httpx.post(start.headers["location"], data={"sub": "sub-alice"}, follow_redirects=False)
        target = urlsplit(back.headers["location"])
        response = victim.get(f"{target.path}?{target.query}")
        assert response.status_code == 403
        assert "desk_session" not in response.cookies
        forged = attacker.get("/auth/oidc/callback", params={"code": "x", "state": "wrong"})
        assert forged.status_code == 403
    assert [r for _, _, r in _audit(web_engine)] == ["staff-oidc-state", "staff-oidc-state"]


def test_oidc_routes_are_404_when_not_configured(client: TestClient) -> None:
    assert client.get("/auth/oidc/login").status_code == 404
    assert "/auth/oidc/login" not in client.get("/login").text


def test_wrong_client_secret_signs_nobody_in(
    oidc_app: FastAPI, web_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_staff(web_engine, "alice", Role.REVIEWER, email="alice@insurer.example")
    monkeypatch.setenv("DESK_TEST_OIDC_SECRET", "not-the-registered-secret")
    with make_client(oidc_app) as client:
        assert _sign_in(client, "sub-alice").status_code == 403
    assert _audit(web_engine) == [("staff_login_failed", "desk", "staff-oidc-token")]
