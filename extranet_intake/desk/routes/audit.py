"""The audit room (role auditor, read-only): the filtered log, an entry, verify, access on a date, exports,
and the originals (as images or as an attachment, each opening audited as DOCUMENT_OPENED)."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlmodel import Session
from starlette.background import BackgroundTask

from extranet_intake.auditchain.chain import AUDIT_ENTRY, AuditAction, append_entry, find_entry, verify_chain
from extranet_intake.desk.pages import render
from extranet_intake.desk.security import Staff, desk_of, require
from extranet_intake.errors import AuditError, IntakeError
from extranet_intake.intake.originals import OriginalKind, original_kind, page_count, render_page_png, xlsx_table
from extranet_intake.intake.store import DocumentStore
from extranet_intake.provisioning.access_report import access_report
from extranet_intake.provisioning.audit_query import AuditFilter, audit_page, filtered_entries, last_checkpoint
from extranet_intake.provisioning.export import ExportFormat, export_entries
from extranet_intake.provisioning.staff import Role

__all__ = ["audit_filter", "router"]

router = APIRouter()
AUDITOR = Depends(require(Role.AUDITOR))
_SHA = re.compile(r"[0-9a-f]{64}")


def _now() -> datetime:
    return datetime.now(UTC)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def audit_filter(
    org: str = "", login: str = "", action: str = "", actor: str = "", since: str = "", until: str = ""
) -> AuditFilter:
    """The filters of the query string (unknown actions and bad dates are ignored, not errors)."""
    known = {a.value for a in AuditAction}
    return AuditFilter(
        org=org.strip() or None,
        login=login.strip() or None,
        action=AuditAction(action) if action in known else None,
        actor=actor.strip() or None,
        since=_day(since),
        until=_day(until),
    )


FILTER = Depends(audit_filter)


def _query(f: AuditFilter) -> str:
    from urllib.parse import urlencode

    pairs = {
        "org": f.org,
        "login": f.login,
        "action": str(f.action) if f.action else None,
        "actor": f.actor,
        "since": f.since.isoformat() if f.since else None,
        "until": f.until.isoformat() if f.until else None,
    }
    return urlencode({k: v for k, v in pairs.items() if v})


@router.get("/audit")
def log_page(
    request: Request, staff: Annotated[Staff, AUDITOR], f: Annotated[AuditFilter, FILTER], before: int | None = None
) -> Response:
    with desk_of(request).engine.connect() as conn:
        page = audit_page(conn, f, before=before, size=50)
    return render(request, "audit_log.html", page=page, f=f, query=_query(f), actions=[a.value for a in AuditAction])


@router.get("/audit/entry/{seq}")
def entry_page(request: Request, seq: int, staff: Annotated[Staff, AUDITOR]) -> Response:
    with desk_of(request).engine.connect() as conn:
        try:
            entry = find_entry(conn, seq)
        except AuditError:
            raise HTTPException(status_code=404, detail=f"no audit entry {seq}") from None
        last = conn.execute(sa.select(sa.func.max(AUDIT_ENTRY.c.seq))).scalar() or 0
    try:
        details = json.dumps(json.loads(entry["details"] or "{}"), indent=2, ensure_ascii=False)
    except ValueError:
        details = entry["details"]
    return render(request, "audit_entry.html", e=entry, details=details, last=last)


@router.get("/audit/verify")
def verify_page(request: Request, staff: Annotated[Staff, AUDITOR]) -> Response:
    with desk_of(request).engine.connect() as conn:
        checkpoint = last_checkpoint(conn)
        report = verify_chain(conn)
    signed = json.loads(checkpoint["details"]) if checkpoint else None
    return render(request, "audit_verify.html", report=report, checkpoint=checkpoint, signed=signed)


@router.get("/audit/access")
def access_page(
    request: Request, staff: Annotated[Staff, AUDITOR], on: str = "", org: str = "", contract: str = ""
) -> Response:
    day = _day(on)
    grants = None
    if day is not None:
        with desk_of(request).engine.connect() as conn:
            grants = access_report(conn, at=day, org=org.strip() or None, contract=contract.strip() or None)
    return render(
        request,
        "audit_access.html",
        grants=grants,
        on=on,
        org=org,
        contract=contract,
        bad_date=bool(on) and day is None,
    )


def _export(request: Request, staff: Staff, f: AuditFilter, fmt: ExportFormat, delimiter: str) -> Response:
    folder = Path(tempfile.mkdtemp(prefix="desk-export-"))
    out = folder / f"audit.{fmt.value}"
    with desk_of(request).engine.connect() as conn:
        count = export_entries(filtered_entries(conn, f), fmt=fmt, out=out, delimiter=delimiter)

    def cleanup() -> None:
        out.unlink(missing_ok=True)
        folder.rmdir()

    stamp = _now().strftime("%Y%m%d-%H%M%S")
    media = (
        "text/csv; charset=utf-8"
        if fmt is ExportFormat.CSV
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return FileResponse(
        out,
        media_type=media,
        filename=f"audit-{stamp}.{fmt.value}",
        background=BackgroundTask(cleanup),
        headers={"x-entry-count": str(count)},
    )


@router.get("/audit/export.csv")
def export_csv(
    request: Request, staff: Annotated[Staff, AUDITOR], f: Annotated[AuditFilter, FILTER], sep: str = ","
) -> Response:
    return _export(request, staff, f, ExportFormat.CSV, ";" if sep == ";" else ",")


@router.get("/audit/export.xlsx")
def export_xlsx(request: Request, staff: Annotated[Staff, AUDITOR], f: Annotated[AuditFilter, FILTER]) -> Response:
    return _export(request, staff, f, ExportFormat.XLSX, ",")


def _original(request: Request, staff: Staff, sha: str, how: str) -> bytes:
    """The original named by an audit entry, its opening logged; 404 for a name the log never mentions."""
    if not _SHA.fullmatch(sha):
        raise HTTPException(status_code=404, detail="no such document")
    desk = desk_of(request)
    with Session(desk.engine) as session:
        conn = session.connection()
        row = conn.execute(
            sa.select(AUDIT_ENTRY.c.seq, AUDIT_ENTRY.c.org)
            .where(AUDIT_ENTRY.c.document_sha256 == sha)
            .order_by(AUDIT_ENTRY.c.seq)
            .limit(1)
        ).first()
        if row is None:
            # only documents the log decided on are reachable from the audit room
            raise HTTPException(status_code=404, detail="no such document")
        try:
            data = DocumentStore(desk.cfg.store.path).open(sha)
        except IntakeError:
            raise HTTPException(status_code=404, detail="the original is not in the store") from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise HTTPException(status_code=409, detail="the stored bytes do not match the name")
        if how != "page":
            append_entry(
                session,
                actor=staff.name,
                action=AuditAction.DOCUMENT_OPENED,
                org=row[1],
                login=None,
                document_sha256=sha,
                reason=f"original opened in the audit room ({how})",
                details={"room": "audit", "how": how, "role": str(staff.role)},
                at=_now(),
            )
            session.commit()
    return data


@router.get("/audit/document/{sha}")
def document(request: Request, sha: str, staff: Annotated[Staff, AUDITOR], view: str = "") -> Response:
    if view == "images":
        data = _original(request, staff, sha, "images")
        kind = original_kind(data)
        sheets = xlsx_table(data) if kind is OriginalKind.XLSX else []
        return render(request, "audit_document.html", sha=sha, pages=range(page_count(data)), sheets=sheets)
    data = _original(request, staff, sha, "attachment")
    suffixes = {OriginalKind.PDF: "pdf", OriginalKind.XLSX: "xlsx", OriginalKind.IMAGE: "img"}
    suffix = suffixes.get(original_kind(data), "bin")
    # an attachment of an opaque type: the browser saves it, never runs a PDF's script in the page
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{sha[:16]}.{suffix}"'},
    )


@router.get("/audit/document/{sha}/page/{n}.png")
def document_page(request: Request, sha: str, n: int, staff: Annotated[Staff, AUDITOR]) -> Response:
    data = _original(request, staff, sha, "page")
    try:
        png = render_page_png(data, n)
    except IntakeError:
        raise HTTPException(status_code=404, detail="no such page") from None
    return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=300"})
