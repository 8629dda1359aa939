"""The review queue as the desk shows it: filters, organisation names, waiting time, counts, approvals so far."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.provisioning.models import DossierForm, Organisation, ReviewApproval, ReviewItem, ReviewStatus

__all__ = ["QueueFilter", "QueuePage", "QueueRow", "review_queue"]


@dataclass(frozen=True)
class QueueFilter:
    org: str | None = None  # enterprise number, or part of the organisation's name
    form: str | None = None  # EAP-AGR, EAP-MU, EAP-USR
    reason: str | None = None  # one reason code
    min_age: timedelta | None = None  # waiting at least this long


@dataclass(frozen=True)
class QueueRow:
    id: int
    form_id: str
    enterprise_number: str
    org_name: str
    reasons: tuple[str, ...]
    created_at: datetime
    waiting: timedelta
    channel: str
    sender: str | None
    approvals: int


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total_open: int
    #: over the open items matching every filter but the counted one (so a count says what a click gives)
    by_form: dict[str, int] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)


def review_queue(session: Session, *, now: datetime, filters: QueueFilter | None = None, limit: int = 200) -> QueuePage:
    """Open items, oldest first, filtered; one query (the queue is hundreds, not millions, of rows)."""
    f = filters or QueueFilter()
    item, doc, org = ReviewItem.__table__, DossierForm.__table__, Organisation.__table__  # type: ignore[attr-defined]
    appr = ReviewApproval.__table__  # type: ignore[attr-defined]
    # approvals per item that still count, in grouped passes (not a subquery per row): those of the values
    # the item's newest approval approved. An open item's values change only with an approval (a
    # correction is its corrector's approval: provisioning.approvals.add_approval), so the newest one
    # names today's values, and an approval of older values (before a correction) is stale.
    newest = sa.select(sa.func.max(appr.c.id).label("id")).group_by(appr.c.review_item_id).subquery()
    today = sa.select(appr.c.review_item_id, appr.c.values_sha256).join(newest, newest.c.id == appr.c.id).subquery()
    counts = (
        sa.select(appr.c.review_item_id, sa.func.count().label("n"))
        .join(
            today,
            sa.and_(today.c.review_item_id == appr.c.review_item_id, today.c.values_sha256 == appr.c.values_sha256),
        )
        .group_by(appr.c.review_item_id)
        .subquery()
    )
    # before its agreement applies, an organisation is known only by the name on its forms (read in SQL:
    # decoding every item's fields would be most of the query's time)
    name = sa.func.coalesce(sa.func.nullif(org.c.name, ""), item.c.fields["org_name"].as_string(), "")
    # raw text for the JSON list and the time, decoded below: the column types' per-row processing
    # was a third of the page's time with a thousand open items
    stmt = (
        sa.select(
            item.c.id,
            item.c.form_id,
            item.c.enterprise_number,
            name,
            sa.type_coerce(item.c.reasons, sa.Text),
            sa.type_coerce(item.c.created_at, sa.Text),
            doc.c.channel,
            doc.c.sender,
            counts.c.n,
        )
        .select_from(
            item.outerjoin(doc, doc.c.sha256 == item.c.document_sha256)
            .outerjoin(org, org.c.enterprise_number == item.c.enterprise_number)
            .outerjoin(counts, counts.c.review_item_id == item.c.id)
        )
        .where(item.c.status == str(ReviewStatus.OPEN))
        .order_by(item.c.id)
    )
    rows: list[QueueRow] = []
    for r in session.connection().execute(stmt):
        # the raw value (the column type's processing is skipped): SQLite's text is UTC without an offset
        created = r[5] if isinstance(r[5], datetime) else datetime.fromisoformat(r[5]).replace(tzinfo=UTC)
        reasons = r[4] if isinstance(r[4], list) else json.loads(r[4] or "[]")
        rows.append(
            QueueRow(
                id=r[0],
                form_id=r[1],
                enterprise_number=r[2] or "",
                org_name=r[3] or "",
                reasons=tuple(reasons),
                created_at=created,
                waiting=now - created,
                channel=r[6] or "",
                sender=r[7],
                approvals=int(r[8] or 0),
            )
        )
    needle = (f.org or "").strip().lower()

    def keep(row: QueueRow, *, skip: str = "") -> bool:
        if needle and needle not in row.enterprise_number and needle not in row.org_name.lower():
            return False
        if skip != "form" and f.form and row.form_id != f.form:
            return False
        if skip != "reason" and f.reason and f.reason not in row.reasons:
            return False
        return not (f.min_age and row.waiting < f.min_age)

    by_form = Counter(r.form_id for r in rows if keep(r, skip="form"))
    by_reason = Counter(code for r in rows if keep(r, skip="reason") for code in r.reasons)
    shown = [r for r in rows if keep(r)]
    return QueuePage(
        rows=shown[:limit],
        total_open=len(rows),
        by_form=dict(sorted(by_form.items())),
        by_reason=dict(by_reason.most_common()),
    )
