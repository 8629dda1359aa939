"""The desk in a real headless Chromium: a reviewer clears items by keyboard, four eyes, an auditor's round."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlmodel import Session

from extranet_intake.intake.config import Config
from extranet_intake.provisioning.models import ReviewItem, ReviewStatus
from extranet_intake.provisioning.staff import Role
from extranet_intake.reasons import describe, reviewer_choices
from tests.web.conftest import PASSWORD, LiveServer, create_staff, desk_config, screenshot
from tests.web.desk_data import seed_review_items
from tests.web.test_desk_rooms import _item_id


@pytest.fixture
def web_config(db_url: str, tmp_path: Path) -> Config:
    cfg = desk_config(db_url)
    cfg.store.path = tmp_path / "store"
    cfg.run.report_dir = tmp_path / "reports"
    return cfg


def _login(browser: Any, server: LiveServer, name: str, path: str) -> Any:
    page = browser.new_page()
    page.goto(server.url + path)
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _status(engine: sa.Engine, item_id: int) -> str:
    with Session(engine) as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        return str(item.status)


def test_reviewers_and_an_auditor_in_chromium(
    db_url: str, web_config: Config, web_engine: sa.Engine, live_server: LiveServer, browser: Any, tmp_path: Path
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("one browser run is enough: the HTTP tests cover PostgreSQL")
    seeded = seed_review_items(web_engine, web_config.store.path)
    agr_id, usr_id = _item_id(web_engine, seeded["EAP-AGR"]), _item_id(web_engine, seeded["EAP-USR"])
    for name, role, lang in (
        ("an", Role.REVIEWER, "nl"),
        ("bert", Role.REVIEWER, "fr"),
        ("audrey", Role.AUDITOR, "nl"),
        ("ada", Role.ADMIN, "nl"),
    ):
        create_staff(web_engine, name, role, display_name=name.title(), language=lang)

    page = _login(browser, live_server, "an", "/review")
    assert page.url.endswith("/review")
    assert page.locator("table.queue tbody tr").count() == 3
    screenshot(page, tmp_path, "01-review-queue")
    page.click(f"a.item-link[href='/review/{agr_id}']")
    page.wait_for_selector("img.page")
    page.wait_for_load_state("networkidle")
    screenshot(page, tmp_path, "02-review-item-agr")
    # a correction, then approve with the keyboard: focus leaves the field, "a" approves
    page.fill("#f_org_city", "Gent")
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("a")
    assert "1 of 2" in page.locator(".notice").inner_text()
    assert _status(web_engine, agr_id) == ReviewStatus.OPEN
    # the MU item (a scan with a doubtful field and its crop)
    page.goto(live_server.url + f"/review/{_item_id(web_engine, seeded['EAP-MU'])}")
    page.wait_for_selector("img.crop")
    page.wait_for_load_state("networkidle")
    assert page.locator("img.page").first.evaluate("img => img.naturalWidth") > 500
    screenshot(page, tmp_path, "03-review-item-scan-doubtful")
    # reject the stranger's fiche by keyboard: "r" focuses the reason list, typing picks a reason by its
    # words, Tab goes to the note, Enter sends
    page.goto(live_server.url + f"/review/{usr_id}")
    page.keyboard.press("r")
    title = describe("sender-not-master-user", "nl").title
    page.keyboard.type(title)
    (picked,) = [c for c in reviewer_choices("nl") if describe(c, "nl").title == title]  # one code per title
    assert page.locator("#reason-code").input_value() == picked
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "rejected" in page.locator(".notice").inner_text()
    assert _status(web_engine, usr_id) == ReviewStatus.REJECTED

    # a second reviewer in a separate browser context completes the four eyes
    bert_context = browser.browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        bert = _login(bert_context, live_server, "bert", f"/review/{agr_id}")
        assert "Numéro d'entreprise" in bert.content() or "Numéro d&#39;entreprise" in bert.content()
        assert bert.input_value("#f_org_city") == "Gent"  # the first approver's correction, prefilled
        with bert.expect_navigation():
            bert.click("#approve")
        assert _status(web_engine, agr_id) == ReviewStatus.APPROVED
        screenshot(bert, tmp_path, "04-review-after-four-eyes")
    finally:
        bert_context.close()

    audit_context = browser.browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    try:
        aud = _login(audit_context, live_server, "audrey", "/audit")
        aud.select_option("select[name=action]", "review_approved")
        with aud.expect_navigation():
            aud.click("#audit-filters button[type=submit]")
        assert "action=review_approved" in aud.url
        assert aud.locator("table.log tbody tr").count() >= 1
        screenshot(aud, tmp_path, "05-audit-log-filtered")
        aud.click("a.entry-link >> nth=0")
        aud.wait_for_selector(".chain-position")
        screenshot(aud, tmp_path, "06-audit-entry")
        aud.goto(live_server.url + "/audit/verify")
        assert "Intact" in aud.locator(".verify-result").inner_text()
        screenshot(aud, tmp_path, "07-audit-verify")
        aud.goto(live_server.url + "/audit")
        with aud.expect_download() as info:
            aud.click("#export-xlsx")
        target = tmp_path / "export.xlsx"
        info.value.save_as(str(target))
        sheet = load_workbook(target).active
        assert sheet is not None
        assert sheet.max_row > 5
    finally:
        audit_context.close()

    ops_context = browser.browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        ops = _login(ops_context, live_server, "ada", "/ops")
        assert ops.locator("table.staff tbody tr").count() == 4
        screenshot(ops, tmp_path, "08-ops")
    finally:
        ops_context.close()
