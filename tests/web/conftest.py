"""Fixtures of the desk's tests: the app on a migrated database, a client, ``login_as``, a live server, a browser."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import Session
from starlette.testclient import TestClient

from extranet_intake.desk.app import create_app
from extranet_intake.desk.security import Staff
from extranet_intake.intake.config import Config
from extranet_intake.provisioning.engines import make_engine
from extranet_intake.provisioning.staff import Role, add_staff

SECRET = "test-session-secret-" + "x" * 32
PASSWORD = "correct horse battery staple 42"
SHOTS = Path("/tmp/desk-shots")

LoginAs = Callable[..., Staff]


def desk_config(db_url: str, **web: Any) -> Config:
    cfg = Config()
    cfg.database.url = db_url
    for key, value in web.items():
        setattr(cfg.web, key, value)
    return cfg


@pytest.fixture
def web_engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def web_config(db_url: str) -> Config:
    """The configuration the app is built on; a test may change ``cfg.web`` before asking for ``web_app``."""
    return desk_config(db_url)


@pytest.fixture
def web_app(web_config: Config, web_engine: sa.Engine) -> FastAPI:
    """The desk on a migrated, empty database (SQLite and PostgreSQL)."""
    return create_app(web_config, secret=SECRET, engine=web_engine)


def make_client(app: FastAPI, base_url: str = "http://testserver") -> TestClient:
    return TestClient(app, base_url=base_url, follow_redirects=False)


@pytest.fixture
def client(web_app: FastAPI) -> Iterator[TestClient]:
    with make_client(web_app) as c:
        yield c


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page of ``client`` carries (the login form, or any signed-in page's sign-out form)."""
    response = client.get(path, follow_redirects=True)
    match = _CSRF.search(response.text)
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


def signed_in(client: TestClient) -> bool:
    """``/`` answers a signed-in person with the home page or a redirect to the room of the role, never /login."""
    response = client.get("/")
    return response.status_code == 200 or (
        response.status_code == 302 and not response.headers["location"].startswith("/login")
    )


def create_staff(engine: sa.Engine, name: str, role: Role, **kw: Any) -> Staff:
    with Session(engine) as session:
        account, _ = add_staff(session, name, role=role, password=kw.pop("password", PASSWORD), actor="os:ops", **kw)
        session.commit()
        return Staff.of(account)


def post_login(client: TestClient, name: str, password: str = PASSWORD, *, totp: str = "", next_path: str = "/") -> Any:
    token = csrf_of(client, "/login")
    return client.post(
        "/login", data={"csrf_token": token, "name": name, "password": password, "totp": totp, "next": next_path}
    )


@pytest.fixture
def login_as(web_engine: sa.Engine) -> LoginAs:
    """``login_as(client, role, name=None, **account)``: creates a staff account and signs in through /login."""

    def login(client: TestClient, role: Role | str, name: str | None = None, **kw: Any) -> Staff:
        staff = create_staff(web_engine, name or f"{Role(role).value}1", Role(role), **kw)
        response = post_login(client, staff.name)
        assert response.status_code == 303, response.text
        return staff

    return login


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(web_app: FastAPI) -> Iterator[LiveServer]:
    """The desk served by uvicorn on a free loopback port (in a thread of this process)."""
    with LiveServer(web_app) as server:
        yield server


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup does)", pytrace=False)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser(_playwright: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) of Debian's Chromium; never a downloaded browser."""
    context = _playwright.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context
    finally:
        context.close()


def screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    """Save a screenshot under the test's tmp_path and copy it to /tmp/desk-shots/ for a person to look at."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SHOTS / path.name)
    return path
