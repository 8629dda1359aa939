"""The review queue as `review list` reads it: SQLAlchemy Core over lightweight table definitions.

A read-only command pays for what it imports before it prints a line (docs/operations.md, "Start-up
time"): this module imports SQLAlchemy Core only — not SQLModel, pydantic or the ORM models of
:mod:`provisioning.models` — so that `review list` stays within its start-up budget. The table
definitions below name only the columns read here; the tables themselves are defined (and migrated)
by :mod:`provisioning.models`, and a test checks that these columns match theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, Integer, String, column, select, table

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

__all__ = ["DOSSIER_FORM", "REVIEW_ITEM", "ReviewStatus", "ReviewView", "list_reviews"]


class ReviewStatus(StrEnum):
    """The status of a review item (column ``review_item.status``; re-exported by provisioning.models)."""

    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


#: the columns of ``review_item`` a listing reads (the table: provisioning.models.ReviewItem)
REVIEW_ITEM = table(
    "review_item",
    column("id", Integer),
    column("status", String),
    column("form_id", String),
    column("enterprise_number", String),
    column("reasons", JSON),
    column("created_at", DateTime),
    column("document_sha256", String),
    column("decided_by", String),
    column("decided_at", DateTime),
    column("decision_reason", String),
)
#: the columns of ``dossier_form`` a listing reads (the table: provisioning.models.DossierForm)
DOSSIER_FORM = table("dossier_form", column("sha256", String), column("channel", String), column("sender", String))


@dataclass(frozen=True)
class ReviewView:
    id: int
    status: str
    form_id: str
    enterprise_number: str
    reasons: list[str]
    created_at: datetime
    document_sha256: str
    channel: str = ""
    sender: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    #: the verdict on each digital signature of the document: by whom, serial, issuer, intact, trusted …
    signatures: list[dict[str, Any]] = field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    corrections: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC. The models' ``UTCDateTime`` column
    type does this for every other read, but this listing runs without SQLModel (docs/operations.md,
    "Start-up time"), so its light columns carry no such type."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def list_reviews(
    conn: Connection | Session, *, status: ReviewStatus | None = ReviewStatus.OPEN, org: str | None = None
) -> list[ReviewView]:
    """The queue, oldest first (``status=None``: every item ever queued), without the items' values."""
    r, d = REVIEW_ITEM, DOSSIER_FORM
    query = (
        select(
            r.c.id,
            r.c.status,
            r.c.form_id,
            r.c.enterprise_number,
            r.c.reasons,
            r.c.created_at,
            r.c.document_sha256,
            r.c.decided_by,
            r.c.decided_at,
            r.c.decision_reason,
            d.c.channel,
            d.c.sender,
        )
        .select_from(r.outerjoin(d, d.c.sha256 == r.c.document_sha256))
        .order_by(r.c.id)
    )
    if status is not None:
        query = query.where(r.c.status == str(status))
    if org:
        query = query.where(r.c.enterprise_number == org)
    flush = getattr(conn, "flush", None)
    if flush is not None:  # an ORM session: its pending changes count, as its own queries autoflush them
        flush()
    return [
        ReviewView(
            id=row.id or 0,
            status=str(row.status),
            form_id=row.form_id,
            enterprise_number=row.enterprise_number,
            reasons=list(row.reasons or []),
            created_at=_aware(row.created_at),
            document_sha256=row.document_sha256,
            channel=row.channel or "",
            sender=row.sender,
            decided_by=row.decided_by,
            decided_at=_aware(row.decided_at) if row.decided_at else None,
            decision_reason=row.decision_reason,
        )
        for row in conn.execute(query)
    ]
