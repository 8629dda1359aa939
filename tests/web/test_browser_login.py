"""A real Chromium signs in through the form and lands on the desk; screenshots for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from extranet_intake.provisioning.staff import Role
from tests.web.conftest import PASSWORD, LiveServer, create_staff, screenshot


def test_sign_in_through_the_form(browser: Any, live_server: LiveServer, web_engine: sa.Engine, tmp_path: Path) -> None:
    create_staff(web_engine, "rita", Role.REVIEWER, display_name="Rita Reviewer <b>not bold</b>")
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server.url + "/")
    assert page.url == live_server.url + "/login?next=/"
    screenshot(page, tmp_path, f"login-{web_engine.dialect.name}")
    page.fill("input[name=name]", "rita")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # keyboard only: the form submits without the mouse
    room = live_server.server.config.app.state.desk.room_of(Role.REVIEWER)
    assert page.url == live_server.url + (room.path if room else "/")
    assert page.locator(".staff-name").first.inner_text() == "Rita Reviewer <b>not bold</b>"
    screenshot(page, tmp_path, f"landed-reviewer-{web_engine.dialect.name}")
    # a Content-Security-Policy violation or a failed script would show here
    assert errors == []
    with page.expect_navigation():
        page.click("text=Sign out")
    assert page.url.startswith(live_server.url + "/login")
