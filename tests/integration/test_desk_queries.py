"""The operations behind the desk pages (SQLite and PostgreSQL): review queue filters, audit paging, exports."""

from __future__ import annotations

import csv
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook
from sqlmodel import Session

from extranet_intake.auditchain.chain import AUDIT_ENTRY, AUDIT_HEAD, AuditAction, EntryFields, chain, verify_chain
from extranet_intake.provisioning.approvals import add_approval
from extranet_intake.provisioning.audit_query import AuditFilter, audit_page, filtered_entries
from extranet_intake.provisioning.export import ExportFormat, export_entries
from extranet_intake.provisioning.queue import QueueFilter, review_queue
from tests.fixtures.provisioning import EN, NOW, agr, clock, mu
from tests.integration.test_provisioning_flow import load_reference, receive

ACTIONS = (AuditAction.ACCOUNT_CREATED, AuditAction.MAIL_SENT, AuditAction.REVIEW_APPROVED)


def _fill(engine: sa.Engine, n: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    fields = (
        EntryFields(
            at=start + timedelta(hours=i),
            actor=f"actor{i % 4}",
            action=ACTIONS[i % 3],
            org=f"{i % 5:010d}",
            login=f"L{i % 7}",
            document_sha256=None,
            reason='=HYPERLINK("x")' if i == 0 else f"entry {i}",
        )
        for i in range(n)
    )
    rows = list(chain(fields))
    with engine.begin() as conn:
        conn.execute(AUDIT_ENTRY.insert(), rows)
        conn.execute(sa.update(AUDIT_HEAD).values(seq=rows[-1]["seq"], hash=rows[-1]["hash"]))


def test_review_queue_filters_names_waiting_and_counts(engine: sa.Engine, tmp_path: Path) -> None:
    load_reference(engine, tmp_path)
    a, m = agr(), mu()
    receive(engine, a)
    receive(engine, m)
    later = NOW + timedelta(days=3)
    with Session(engine) as session:
        page = review_queue(session, now=later)
        assert [r.form_id for r in page.rows] == ["EAP-AGR", "EAP-MU"]
        assert page.total_open == 2
        assert page.by_form == {"EAP-AGR": 1, "EAP-MU": 1}
        assert page.rows[0].waiting >= timedelta(days=3)
        assert page.rows[0].enterprise_number == EN
        only_mu = review_queue(session, now=later, filters=QueueFilter(form="EAP-MU"))
        assert [r.form_id for r in only_mu.rows] == ["EAP-MU"]
        assert only_mu.by_form == {"EAP-AGR": 1, "EAP-MU": 1}  # the form counts ignore the form filter
        assert review_queue(session, now=later, filters=QueueFilter(org="0999999999")).rows == []
        assert len(review_queue(session, now=later, filters=QueueFilter(org=EN[:4])).rows) == 2
        assert review_queue(session, now=later, filters=QueueFilter(min_age=timedelta(days=30))).rows == []
        reason = page.rows[0].reasons[0]
        assert page.by_reason[reason] >= 1
        assert all(
            reason in r.reasons for r in review_queue(session, now=later, filters=QueueFilter(reason=reason)).rows
        )
        add_approval(session, page.rows[0].id, by="An", clock=clock, required=3)
        session.commit()
        assert review_queue(session, now=later).rows[0].approvals == 1
        # a correction makes An's approval stale: only Bo's (the corrector's) counts, as on the item's page
        add_approval(
            session, page.rows[0].id, by="Bo", clock=clock, required=3, corrections={"org_name": "Acme Belgium NV"}
        )
        session.commit()
        assert review_queue(session, now=later).rows[0].approvals == 1
        add_approval(session, page.rows[0].id, by="An", clock=clock, required=3)
        session.commit()
        assert review_queue(session, now=later).rows[0].approvals == 2


def test_audit_pages_are_keyset_newest_first_and_filtered(engine: sa.Engine) -> None:
    _fill(engine, 1200)
    with engine.connect() as conn:
        first = audit_page(conn, size=100)
        assert [r["seq"] for r in first.rows] == list(range(1200, 1100, -1))
        assert first.next_before == 1101
        assert not first.has_prev
        second = audit_page(conn, before=first.next_before, size=100)
        assert second.rows[0]["seq"] == 1100
        assert second.has_prev
        assert second.prev_before is None  # the newer page is the first
        third = audit_page(conn, before=second.next_before, size=100)
        assert third.prev_before == 1101
        seen: list[int] = []
        before = None
        f = AuditFilter(org=f"{3:010d}", action=AuditAction.MAIL_SENT)
        while True:
            page = audit_page(conn, f, before=before, size=7)
            seen += [r["seq"] for r in page.rows]
            if page.next_before is None:
                break
            before = page.next_before
        expected = [s for s in range(1200, 0, -1) if (s - 1) % 5 == 3 and (s - 1) % 3 == 1]
        assert seen == expected
        days = AuditFilter(since=date(2026, 1, 2), until=date(2026, 1, 2), actor="actor1")
        got = audit_page(conn, days, size=100).rows
        assert got
        assert all(r["at"].date() == date(2026, 1, 2) and r["actor"] == "actor1" for r in got)
        assert len(list(filtered_entries(conn, AuditFilter(login="L3")))) == len([i for i in range(1200) if i % 7 == 3])
        assert verify_chain(conn).ok


def test_exports_semicolon_csv_and_xlsx_with_dates_and_filter_row(engine: sa.Engine, tmp_path: Path) -> None:
    _fill(engine, 30)
    with engine.connect() as conn:
        out = tmp_path / "a.csv"
        assert export_entries(filtered_entries(conn), fmt=ExportFormat.CSV, out=out, delimiter=";") == 30
        rows = list(csv.reader(out.open(encoding="utf-8-sig", newline=""), delimiter=";"))
        assert rows[0][:3] == ["seq", "at", "actor"]
        assert rows[1][7].startswith("'=")  # formula injection still neutralised
        xlsx = tmp_path / "a.xlsx"
        assert export_entries(filtered_entries(conn, AuditFilter(actor="actor0")), fmt=ExportFormat.XLSX, out=xlsx) == 8
    sheet = load_workbook(xlsx).active
    assert sheet is not None
    assert sheet.auto_filter.ref == "A1:L9"
    at = sheet.cell(row=2, column=2)
    assert isinstance(at.value, datetime)
    assert at.value == datetime(2026, 1, 1, 0, 0)
    assert at.is_date
    with zipfile.ZipFile(xlsx) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()
