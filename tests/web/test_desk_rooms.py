"""The review desk, the audit room and the ops page through HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from extranet_intake.auditchain.chain import AuditAction, AuditEntry
from extranet_intake.intake.config import Config
from extranet_intake.provisioning.models import ReviewItem, ReviewStatus
from extranet_intake.provisioning.staff import Role
from extranet_intake.reasons import describe
from tests.web.conftest import LoginAs, csrf_of, desk_config, make_client
from tests.web.desk_data import EVIL_NAME, seed_review_items


@pytest.fixture
def web_config(db_url: str, tmp_path: Path) -> Config:
    cfg = desk_config(db_url)
    cfg.store.path = tmp_path / "store"
    cfg.run.report_dir = tmp_path / "reports"
    return cfg


@pytest.fixture
def seeded(web_engine: sa.Engine, web_config: Config) -> dict[str, str]:
    return seed_review_items(web_engine, web_config.store.path)


def _item_id(engine: sa.Engine, sha: str) -> int:
    with Session(engine) as session:
        item = session.exec(select(ReviewItem).where(col(ReviewItem.document_sha256) == sha)).one()
        return item.id or 0


def _entries(engine: sa.Engine, action: AuditAction) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(col(AuditEntry.action) == action)))


def _post(client: TestClient, path: str, page: str, **data: str) -> object:
    return client.post(path, data={"csrf_token": csrf_of(client, page), **data})


def test_review_desk_four_eyes_correction_and_rejection(
    web_app: FastAPI, web_engine: sa.Engine, seeded: dict[str, str], login_as: LoginAs
) -> None:
    agr_id = _item_id(web_engine, seeded["EAP-AGR"])
    mu_id = _item_id(web_engine, seeded["EAP-MU"])
    with make_client(web_app) as an, make_client(web_app) as bert:
        login_as(an, Role.REVIEWER, name="an", language="nl")
        login_as(bert, Role.REVIEWER, name="bert", language="fr")
        queue = an.get("/review")
        assert queue.status_code == 200
        assert "Acme NV" in queue.text  # the organisation's name, not only its number
        assert "<script>alert(1)</script>" not in queue.text  # hostile names render as text
        assert "&lt;script&gt;" in queue.text
        assert "0 of 2" in queue.text
        only_mu = an.get("/review?form=EAP-MU")
        assert f'href="/review/{mu_id}"' in only_mu.text
        assert f'href="/review/{agr_id}"' not in only_mu.text

        page = an.get(f"/review/{agr_id}")
        assert page.status_code == 200
        assert "Ondernemingsnummer" in page.text  # NL label for a Dutch-speaking reviewer
        assert f"/review/{agr_id}/page/0.png" in page.text
        assert "Overeenkomst Extranet Acme" in page.text  # the e-mail's subject, sender and verdict
        assert "dmarc-pass" in page.text
        opened = _entries(web_engine, AuditAction.DOCUMENT_OPENED)
        assert [(e.actor, e.document_sha256) for e in opened] == [("an", seeded["EAP-AGR"])]
        assert "Numéro d&#39;entreprise" in bert.get(f"/review/{agr_id}").text  # FR for a French-speaking one
        png = an.get(f"/review/{agr_id}/page/0.png")
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG")

        mu_page = an.get(f"/review/{mu_id}")
        assert "doubtful" in mu_page.text
        assert f"/review/{mu_id}/crop/mu_email.png" in mu_page.text
        assert an.get(f"/review/{mu_id}/crop/mu_email.png").content.startswith(b"\x89PNG")

        # an invalid correction: refused beside its field, nothing recorded
        bad = _post(an, f"/review/{agr_id}/approve", f"/review/{agr_id}", f_notification_email="not-an-address")
        assert bad.status_code == 422  # type: ignore[attr-defined]
        assert "field-error" in bad.text  # type: ignore[attr-defined]
        checked = _post(an, f"/review/{agr_id}/correct", f"/review/{agr_id}", f_org_city="Gent")
        assert checked.status_code == 200  # type: ignore[attr-defined]
        # a valid correction and the first approval
        first = _post(an, f"/review/{agr_id}/approve", f"/review/{agr_id}", f_org_city="Gent")
        assert first.status_code == 303  # type: ignore[attr-defined]
        assert "1%20of%202" in first.headers["location"]  # type: ignore[attr-defined]
        again = _post(an, f"/review/{agr_id}/approve", f"/review/{agr_id}")
        assert again.status_code == 409  # type: ignore[attr-defined]
        assert "review-same-approver" in again.text  # type: ignore[attr-defined]
        second = _post(bert, f"/review/{agr_id}/approve", f"/review/{agr_id}")
        assert second.status_code == 303  # type: ignore[attr-defined]
        with Session(web_engine) as session:
            item = session.get(ReviewItem, agr_id)
            assert item is not None
            assert item.status == ReviewStatus.APPROVED
            assert item.decided_by == "bert"
            assert item.corrections == {"org_city": "Gent"}

        usr_id = _item_id(web_engine, seeded["EAP-USR"])
        empty = _post(an, f"/review/{usr_id}/reject", f"/review/{usr_id}")
        assert empty.status_code == 422  # type: ignore[attr-defined]
        # free words are not a reason: the reviewer picks one of the catalogue's (the organisation reads it
        # in its own language, with what to do)
        typed = _post(an, f"/review/{usr_id}/reject", f"/review/{usr_id}", reason_code="not sent by the MU")
        assert typed.status_code == 422  # type: ignore[attr-defined]
        assert "review-reason-unknown" in typed.text  # type: ignore[attr-defined]
        rejected = _post(an, f"/review/{usr_id}/reject", f"/review/{usr_id}", reason_code="sender-not-master-user")
        assert rejected.status_code == 303  # type: ignore[attr-defined]
        (entry,) = _entries(web_engine, AuditAction.REVIEW_REJECTED)
        assert (entry.actor, entry.reason) == ("an", "sender-not-master-user")


def test_audit_room_filters_entry_verify_exports_and_originals(
    web_app: FastAPI, web_engine: sa.Engine, seeded: dict[str, str], login_as: LoginAs
) -> None:
    with make_client(web_app) as client:
        login_as(client, Role.AUDITOR, name="audrey")
        log = client.get("/audit?action=review_queued")
        assert log.status_code == 200
        seqs = [int(s) for s in re.findall(r'href="/audit/entry/(\d+)"', log.text)]
        assert seqs
        assert seqs == sorted(seqs, reverse=True)
        assert "&lt;script&gt;" in log.text or EVIL_NAME not in log.text
        entry = client.get(f"/audit/entry/{seqs[0]}")
        assert entry.status_code == 200
        assert "chain-position" in entry.text
        sha = re.search(r"/audit/document/([0-9a-f]{64})\?view=images", entry.text)
        assert sha
        verify = client.get("/audit/verify")
        assert "Intact" in verify.text
        csv_export = client.get("/audit/export.csv?action=review_queued&sep=%3B")
        assert csv_export.status_code == 200
        rows = list(csv.reader(io.StringIO(csv_export.content.decode("utf-8-sig")), delimiter=";"))
        assert rows[0][0] == "seq"
        assert len(rows) - 1 == len(seqs)
        xlsx = client.get("/audit/export.xlsx")
        assert xlsx.headers["content-disposition"].startswith("attachment")
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        assert sheet.auto_filter.ref
        original = client.get(f"/audit/document/{sha.group(1)}")
        assert original.headers["content-disposition"].startswith("attachment")
        assert original.headers["content-type"] == "application/octet-stream"
        images = client.get(f"/audit/document/{sha.group(1)}?view=images")
        assert "/page/0.png" in images.text
        opened = [e for e in _entries(web_engine, AuditAction.DOCUMENT_OPENED) if e.actor == "audrey"]
        assert len(opened) == 2
        # a document the log never mentions is not reachable by its name
        assert client.get("/audit/document/" + "0" * 64).status_code == 404
        access = client.get("/audit/access?on=2026-11-25")
        assert access.status_code == 200


def test_ops_page_shows_outbox_and_staff_but_no_secret(
    web_app: FastAPI, login_as: LoginAs, web_config: Config, web_engine: sa.Engine
) -> None:
    _mail_for_people(web_engine, sender="hr@acme.example", subject="Vraag over het Extranet <b>dringend</b>")
    web_config.run.report_dir.mkdir(parents=True)
    (web_config.run.report_dir / "run-20261130T060000-1.json").write_text(
        '{"started_at": "2026-11-30T06:00:00+00:00", "ok": false, "outcomes": {"applied": 3},'
        ' "failures": [{"stage": "imap", "code": "imap-login-failed", "message": "login refused"}], "mail": {}}'
    )
    with make_client(web_app) as client:
        login_as(client, Role.ADMIN, name="ada")
        page = client.get("/ops")
        assert page.status_code == 200
        assert "imap-login-failed" in page.text
        assert "ada" in page.text
        assert "argon2" not in page.text
        # the question mailed to the extranet address waits for a person, in words, escaped
        assert "hr@acme.example" in page.text
        assert "Vraag over het Extranet &lt;b&gt;dringend&lt;/b&gt;" in page.text
        assert describe("no-form-attachment", "nl").title in page.text


def _mail_for_people(engine: sa.Engine, *, sender: str, subject: str) -> None:
    """A mail without a form, as the run leaves it: stored, and handed over to people in the Maildir."""
    from datetime import UTC, datetime

    from extranet_intake.intake.store_tables import Arrival, Document, FileLedger, LedgerState

    now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    sha = "ab" * 32
    with Session(engine) as session:
        session.add(
            Document(
                sha256=sha, size=120, kind="message", media_type="message/rfc822", first_seen_at=now, parse_state="done"
            )
        )
        session.flush()
        session.add(
            Arrival(
                sha256=sha,
                channel="email",
                source="maildir:q1",
                sender=sender,
                subject=subject,
                received_at=now,
                outcome="no-form-attachment",
            )
        )
        session.add(
            FileLedger(source="maildir", key="q1", state=LedgerState.FOR_PEOPLE.value, sha256=sha, updated_at=now)
        )
        session.commit()
