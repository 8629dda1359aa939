"""The review desk (role reviewer): the queue, one item beside its original, correct / approve / reject."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.desk.pages import render
from extranet_intake.desk.security import Staff, desk_of, require
from extranet_intake.errors import IntakeError, ReviewError
from extranet_intake.intake.decisions import approve, reject
from extranet_intake.intake.originals import (
    OriginalKind,
    arrivals_of,
    crop_png,
    doubtful_fields,
    original_kind,
    page_count,
    render_page_png,
    xlsx_table,
)
from extranet_intake.intake.store import DocumentStore
from extranet_intake.parsers.forms import FORMS, FieldKind, FormId, Lang
from extranet_intake.parsers.result import FieldValue
from extranet_intake.provisioning.approvals import approvals_of
from extranet_intake.provisioning.models import ReviewItem, ReviewStatus
from extranet_intake.provisioning.queue import QueueFilter, review_queue
from extranet_intake.provisioning.review import ReviewView, revalidate, show_review
from extranet_intake.provisioning.staff import Role
from extranet_intake.reasons import reviewer_choices

__all__ = ["FieldRow", "corrections_from", "field_rows", "router", "waiting_words"]

router = APIRouter()
REVIEWER = Depends(require(Role.REVIEWER))

#: quick reasons a reviewer picks from (words go to the Master User); any other text may be typed


def _now() -> datetime:
    return datetime.now(UTC)


def waiting_words(waited: timedelta) -> str:
    """ "3 d 4 h", "5 h 12 min", "7 min": how long an item has waited, at a glance."""
    minutes = max(0, int(waited.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def _store(request: Request) -> DocumentStore:
    return DocumentStore(desk_of(request).cfg.store.path)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class FieldRow:
    """One field as the item page shows it: label in the reviewer's language, value, error, doubt."""

    def __init__(
        self,
        name: str,
        label: str,
        value: str,
        *,
        kind: str,
        options: list[tuple[str, str]],
        doubtful: bool,
        error: str = "",
        corrected: bool = False,
    ) -> None:
        self.name, self.label, self.value, self.kind = name, label, value, kind
        self.options, self.doubtful, self.error, self.corrected = options, doubtful, error, corrected


def field_rows(
    view: ReviewView, lang: str, *, posted: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> list[FieldRow]:
    language = Lang.FR if lang == "fr" else Lang.NL
    values = {**view.fields, **view.corrections}
    doubt = doubtful_fields([*view.warnings, *view.errors])
    rows: list[FieldRow] = []
    try:
        defs = FORMS[FormId(view.form_id)].fields
    except ValueError:
        defs = ()
    known = set()
    for f in defs:
        if f.kind is FieldKind.SIGNATURE or (f.name.startswith("contract_") and f.name not in values):
            continue
        known.add(f.name)
        value = (posted or {}).get(f.name, _text(values.get(f.name)))
        rows.append(
            FieldRow(
                f.name,
                f.label(language),
                value,
                kind=str(f.kind),
                options=[(o.value, o.label(language)) for o in f.options],
                doubtful=f.name in doubt,
                error=(errors or {}).get(f.name, ""),
                corrected=f.name in view.corrections,
            )
        )
    if "contracts" in values or any(f.name == "contract_1" for f in defs):
        label = "Contracten" if language is Lang.NL else "Contrats"
        rows.append(
            FieldRow(
                "contracts",
                label,
                (posted or {}).get("contracts", _text(values.get("contracts"))),
                kind="contracts",
                options=[],
                doubtful="contracts" in doubt,
                error=(errors or {}).get("contracts", ""),
                corrected="contracts" in view.corrections,
            )
        )
    signatures = {f.name for f in defs if f.kind is FieldKind.SIGNATURE}
    for name in sorted(set(values) - known - {"contracts"} - signatures):
        if name.startswith("contract_"):
            continue
        rows.append(
            FieldRow(
                name,
                name,
                (posted or {}).get(name, _text(values.get(name))),
                kind="text",
                options=[],
                doubtful=name in doubt,
                error=(errors or {}).get(name, ""),
            )
        )
    return rows


def corrections_from(view: ReviewView, posted: dict[str, str]) -> dict[str, FieldValue]:
    """The posted values that differ from the item's current ones (a blank stays blank)."""
    values = {**view.fields, **view.corrections}
    out: dict[str, FieldValue] = {}
    for name, raw in posted.items():
        new = raw.strip()
        if name == "contracts":
            items = [v.strip() for v in new.split(",") if v.strip()]
            if items != list(values.get("contracts") or []):
                out[name] = items
        elif new != _text(values.get(name)).strip():
            out[name] = new
    return out


def _posted_fields(form: Any) -> dict[str, str]:
    return {k[2:]: str(v) for k, v in form.multi_items() if k.startswith("f_") and isinstance(v, str)}


@router.get("/review")
def queue_page(
    request: Request,
    staff: Annotated[Staff, REVIEWER],
    org: str = "",
    form: str = "",
    reason: str = "",
    age: str = "",
    done: str = "",
) -> Response:
    days = int(age) if age.isdigit() else None
    filters = QueueFilter(
        org=org or None, form=form or None, reason=reason or None, min_age=timedelta(days=days) if days else None
    )
    with Session(desk_of(request).engine) as session:
        page = review_queue(session, now=_now(), filters=filters)
    required = desk_of(request).cfg.review.required_for
    return render(
        request,
        "review_queue.html",
        page=page,
        filters=filters,
        age=age,
        required=required,
        waiting=waiting_words,
        forms=[str(f) for f in FormId],
        done=done,
    )


def _item_page(
    request: Request,
    staff: Staff,
    item_id: int,
    *,
    status: int = 200,
    posted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    audit_open: bool = False,
) -> Response:
    desk = desk_of(request)
    with Session(desk.engine) as session:
        view = _view_or_404(session, item_id)
        approvals = approvals_of(session, item_id)
        arrivals = arrivals_of(session, view.document_sha256)
        prev_id, next_id = _neighbours(session, item_id)
        if audit_open:
            # the auditors must see who looked at personal data: opening the original is logged
            append_entry(
                session,
                actor=staff.name,
                action=AuditAction.DOCUMENT_OPENED,
                org=view.enterprise_number or None,
                login=None,
                document_sha256=view.document_sha256,
                reason=f"original shown in the review desk (item {item_id})",
                details={"item": item_id, "room": "review", "role": str(staff.role)},
                at=_now(),
            )
            session.commit()
    try:
        data = _store(request).open(view.document_sha256)
    except IntakeError:
        data = b""
    kind = original_kind(data) if data else OriginalKind.OTHER
    pages = page_count(data) if kind in (OriginalKind.PDF, OriginalKind.IMAGE) else 0
    sheets = xlsx_table(data, max_rows=60) if kind is OriginalKind.XLSX else []
    rows = field_rows(view, staff.language, posted=posted, errors=errors)
    required = desk.cfg.review.required_for(view.form_id)
    return render(
        request,
        "review_item.html",
        status=status,
        view=view,
        rows=rows,
        approvals=approvals,
        counting=sum(1 for a in approvals if a.counts),
        required=required,
        arrivals=arrivals,
        kind=str(kind),
        pages=range(pages),
        sheets=sheets,
        prev_id=prev_id,
        next_id=next_id,
        message=message,
        reject_reasons=reviewer_choices(staff.language),
        waited=waiting_words(_now() - view.created_at),
        already=any(a.counts and a.approver == staff.name for a in approvals),
    )


@router.get("/review/{item_id}")
def item_page(request: Request, item_id: int, staff: Annotated[Staff, REVIEWER], done: str = "") -> Response:
    return _item_page(request, staff, item_id, audit_open=True, message=done[:300])


def _field_errors(view: ReviewView, corrections: dict[str, FieldValue]) -> dict[str, str]:
    _, errors, _ = revalidate(view.form_id, {**view.fields, **view.corrections, **corrections}, today=_now().date())
    return {(e.field or "_form"): f"{e.code}: {e.message}" for e in errors}


@router.post("/review/{item_id}/correct")
async def correct(request: Request, item_id: int, staff: Annotated[Staff, REVIEWER]) -> Response:
    """Check corrected values (validated again) without approving: errors show beside their fields."""
    form = await request.form()
    posted = _posted_fields(form)
    with Session(desk_of(request).engine) as session:
        view = _view_or_404(session, item_id)
    errors = _field_errors(view, corrections_from(view, posted))
    return _item_page(
        request,
        staff,
        item_id,
        status=422 if errors else 200,
        posted=posted,
        errors=errors,
        message="" if errors else "The corrected values are valid. Approve to record them.",
    )


@router.post("/review/{item_id}/approve")
async def approve_item(request: Request, item_id: int, staff: Annotated[Staff, REVIEWER]) -> Response:
    form = await request.form()
    posted = _posted_fields(form)
    reason = str(form.get("reason") or "")
    desk = desk_of(request)
    with Session(desk.engine) as session:
        view = _view_or_404(session, item_id)
        corrections = corrections_from(view, posted)
        errors = _field_errors(view, corrections)
        if errors:
            session.rollback()
            return _item_page(
                request,
                staff,
                item_id,
                status=422,
                posted=posted,
                errors=errors,
                message="Some values are not valid: nothing was recorded.",
            )
        try:
            # signed by the signed-in person, never by a typed name; the command line's very operation
            result = approve(
                session,
                item_id,
                by=staff.name,
                clock=_now,
                reason=reason,
                corrections=corrections,
                required=desk.cfg.review.required_for(view.form_id),
            )
        except ReviewError as exc:  # rolled back: nothing was recorded
            return _item_page(
                request, staff, item_id, status=409, posted=posted, message=f"Not recorded ({exc.code}): {exc.message}"
            )
    done = (
        f"Item {item_id} approved: it took effect ({result.summary()})."
        if result.took_effect
        else f"Item {item_id}: {result.summary()} — another person must approve it."
    )
    return RedirectResponse(_next_url(request, item_id, done), status_code=303)


@router.post("/review/{item_id}/reject")
async def reject_item(
    request: Request,
    item_id: int,
    staff: Annotated[Staff, REVIEWER],
    reason_code: Annotated[str, Form()] = "",
    note_nl: Annotated[str, Form()] = "",
    note_fr: Annotated[str, Form()] = "",
) -> Response:
    # the same one operation the command line calls: a catalogue code the organisation may read, and an
    # optional note that must be in the organisation's language (provisioning/review.py)
    desk = desk_of(request)
    with Session(desk.engine) as session:
        try:
            reject(
                session,
                item_id,
                by=staff.name,
                clock=_now,
                reason=reason_code,
                note_nl=note_nl,
                note_fr=note_fr,
                signed={"signed_via": "desk"},
            )
        except ReviewError as exc:  # rolled back: nothing was recorded
            if exc.code == "review-not-found":
                raise HTTPException(status_code=404, detail=f"no review item {item_id}") from None
            return _item_page(
                request,
                staff,
                item_id,
                status=422 if exc.code in _INPUT_CODES else 409,
                message=f"Not rejected ({exc.code}): {exc.message}",
            )
    return RedirectResponse(_next_url(request, item_id, f"Item {item_id} rejected."), status_code=303)


#: refusals of what the reviewer typed or picked (a form error, shown inline), not of the item's state
_INPUT_CODES = {"review-reason-missing", "review-reason-unknown", "review-note-language-missing"}


def _neighbours(session: Session, item_id: int) -> tuple[int | None, int | None]:
    """The open items just before and after this one in queue order (two indexed look-ups)."""
    t = ReviewItem.__table__  # type: ignore[attr-defined]
    is_open = t.c.status == str(ReviewStatus.OPEN)
    conn = session.connection()
    before = conn.execute(sa.select(t.c.id).where(is_open, t.c.id < item_id).order_by(t.c.id.desc()).limit(1))
    after = conn.execute(sa.select(t.c.id).where(is_open, t.c.id > item_id).order_by(t.c.id).limit(1))
    return before.scalar(), after.scalar()


def _next_url(request: Request, item_id: int, done: str) -> str:
    """After a decision: the next open item (or the first, or the queue), with what was done."""
    from urllib.parse import quote

    with Session(desk_of(request).engine) as session:
        _, after = _neighbours(session, item_id)
        if after is None:  # the last one: back to the oldest still open
            after = _neighbours(session, 0)[1]
    target = f"/review/{after}" if after else "/review"
    return f"{target}?done={quote(done)}"


def _view_or_404(session: Session, item_id: int) -> ReviewView:
    """The review item, or 404 (called after the role check: a missing item is 404 only then)."""
    try:
        return show_review(session, item_id)
    except ReviewError:
        raise HTTPException(status_code=404, detail=f"no review item {item_id}") from None


@router.get("/review/{item_id}/page/{n}.png")
def page_image(request: Request, item_id: int, n: int, staff: Annotated[Staff, REVIEWER]) -> Response:
    with Session(desk_of(request).engine) as session:
        view = _view_or_404(session, item_id)
    try:
        png = render_page_png(_store(request).open(view.document_sha256), n)
    except IntakeError:
        raise HTTPException(status_code=404, detail="no such page") from None
    return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=300"})


@router.get("/review/{item_id}/crop/{field}.png")
def crop_image(request: Request, item_id: int, field: str, staff: Annotated[Staff, REVIEWER]) -> Response:
    with Session(desk_of(request).engine) as session:
        view = _view_or_404(session, item_id)
    try:
        png = crop_png(_store(request).open(view.document_sha256), view.form_id, field)
    except IntakeError:
        png = None
    if png is None:
        raise HTTPException(status_code=404, detail="no crop for this field")
    return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=300"})
