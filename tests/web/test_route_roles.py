"""Every route of the desk × anonymous, reviewer, auditor, admin: the status each gets, as designed.

Add a row for every route you add; the test fails on a route that is not in the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from extranet_intake.desk.app import route_table
from extranet_intake.provisioning.staff import Role
from tests.web.conftest import LoginAs, csrf_of, make_client

ACTORS = ("anonymous", "reviewer", "auditor", "admin")
#: a signed-in person's home: 302 to the room of the role when that room is on the server, else 200
ROOM = -1
LOGIN = 302  # anonymous GET of a protected page: to /login?next=...


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # the route's path template, as registered
    path: str  # a concrete path to request
    expect: tuple[int, int, int, int]  # anonymous, reviewer, auditor, admin
    #: ends the session: run after the others
    last: bool = False


def everyone(code: int) -> tuple[int, int, int, int]:
    return (code, code, code, code)


def only(*roles: Role, ok: int = 200, anonymous: int = LOGIN) -> tuple[int, int, int, int]:
    return (anonymous, *(ok if Role(a) in roles else 403 for a in ACTORS[1:]))  # type: ignore[return-value]


ROUTES: list[Row] = [
    Row("GET", "/healthz", "/healthz", everyone(200)),
    Row("GET", "/readyz", "/readyz", everyone(200)),
    # a scraper without the bearer token gets 401, not a login page
    Row("GET", "/metrics", "/metrics", only(Role.ADMIN, anonymous=401)),
    Row("GET", "/login", "/login", (200, 303, 303, 303)),
    # wrong credentials, valid CSRF token: refused with the login page again
    Row("POST", "/login", "/login", everyone(401)),
    Row("GET", "/", "/", (LOGIN, ROOM, ROOM, ROOM)),
    Row("GET", "/static", "/static/app.css", everyone(200)),
    # OpenID Connect is off in this table's configuration (tests/web/test_oidc.py covers it on)
    Row("GET", "/auth/oidc/login", "/auth/oidc/login", everyone(404)),
    Row("GET", "/auth/oidc/callback", "/auth/oidc/callback", everyone(404)),
    Row("POST", "/logout", "/logout", everyone(303), last=True),
    # review desk (reviewer); an item that does not exist is 404 only after the role check
    Row("GET", "/review", "/review?org=x&form=EAP-AGR&age=3", only(Role.REVIEWER)),
    Row("GET", "/review/{item_id}", "/review/999", only(Role.REVIEWER, ok=404)),
    Row("POST", "/review/{item_id}/approve", "/review/999/approve", only(Role.REVIEWER, ok=404, anonymous=401)),
    Row("POST", "/review/{item_id}/correct", "/review/999/correct", only(Role.REVIEWER, ok=404, anonymous=401)),
    Row("POST", "/review/{item_id}/reject", "/review/999/reject", only(Role.REVIEWER, ok=404, anonymous=401)),
    Row("GET", "/review/{item_id}/page/{n}.png", "/review/999/page/0.png", only(Role.REVIEWER, ok=404)),
    Row("GET", "/review/{item_id}/crop/{field}.png", "/review/999/crop/org_name.png", only(Role.REVIEWER, ok=404)),
    # audit room (auditor, read-only)
    Row("GET", "/audit", "/audit?action=review_approved&since=2026-01-01", only(Role.AUDITOR)),
    Row("GET", "/audit/entry/{seq}", "/audit/entry/999", only(Role.AUDITOR, ok=404)),
    Row("GET", "/audit/verify", "/audit/verify", only(Role.AUDITOR)),
    Row("GET", "/audit/access", "/audit/access?on=2026-11-01", only(Role.AUDITOR)),
    Row("GET", "/audit/export.csv", "/audit/export.csv?sep=%3B", only(Role.AUDITOR)),
    Row("GET", "/audit/export.xlsx", "/audit/export.xlsx", only(Role.AUDITOR)),
    Row("GET", "/audit/document/{sha}", "/audit/document/" + "ab" * 32, only(Role.AUDITOR, ok=404)),
    Row(
        "GET",
        "/audit/document/{sha}/page/{n}.png",
        "/audit/document/" + "ab" * 32 + "/page/0.png",
        only(Role.AUDITOR, ok=404),
    ),
    # operations (admin)
    Row("GET", "/ops", "/ops", only(Role.ADMIN)),
]


def _registered(app: FastAPI) -> set[tuple[str, str]]:
    return route_table(app.routes)


def test_every_route_is_in_the_table(web_app: FastAPI) -> None:
    table = {(r.method, r.route) for r in ROUTES}
    missing = _registered(web_app) - table
    assert not missing, f"routes without a row in ROUTES: {sorted(missing)}"
    stale = table - _registered(web_app)
    assert not stale, f"rows for routes that do not exist: {sorted(stale)}"


@pytest.mark.parametrize("actor", ACTORS)
def test_route_role_matrix(actor: str, web_app: FastAPI, login_as: LoginAs) -> None:
    column = ACTORS.index(actor)
    with make_client(web_app) as client:
        if actor != "anonymous":
            login_as(client, Role(actor))
        failures = []
        for row in sorted(ROUTES, key=lambda r: r.last):
            response = _request(client, row)
            expected = row.expect[column]
            if expected == ROOM:
                room = web_app.state.desk.room_of(Role(actor))
                ok = (
                    (response.status_code == 302 and response.headers["location"] == room.path)
                    if room
                    else response.status_code == 200
                )
                if not ok:
                    failures.append(f"{row.method} {row.path}: {response.status_code}, expected the room")
                continue
            if response.status_code != expected:
                failures.append(f"{row.method} {row.path}: {response.status_code}, expected {expected}")
            elif expected == LOGIN and actor == "anonymous":
                assert response.headers["location"].startswith("/login?next=")
        assert not failures, f"{actor}:\n" + "\n".join(failures)


def _request(client: TestClient, row: Row):  # type: ignore[no-untyped-def]
    if row.method == "GET":
        return client.get(row.path)
    token = csrf_of(client, "/login" if "desk_session" not in client.cookies else "/")
    return client.request(row.method, row.path, data={"csrf_token": token})
