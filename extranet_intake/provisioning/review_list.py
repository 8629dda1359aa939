"""The review queue as `review list` reads it: one SELECT, on the bare driver or inside a session.

A read-only command pays for what it imports before it prints a line (docs/operations.md, "Start-up
time"): this module imports neither SQLAlchemy, SQLModel, pydantic nor the ORM models of
:mod:`provisioning.models`, so that `review list` stays within its start-up budget. Its SQL names
only the columns read here (``REVIEW_COLUMNS``, ``DOSSIER_COLUMNS``); the tables themselves are
defined (and migrated) by :mod:`provisioning.models`, and a test checks that these columns are theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from extranet_intake.provisioning.raw_sql import Reader, as_utc, reader_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

__all__ = ["DOSSIER_COLUMNS", "REVIEW_COLUMNS", "ReviewStatus", "ReviewView", "list_reviews", "read_reviews"]


class ReviewStatus(StrEnum):
    """The status of a review item (column ``review_item.status``; re-exported by provisioning.models)."""

    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


#: the columns of ``review_item`` a listing reads, in ReviewView's order (the table: provisioning.models.ReviewItem)
REVIEW_COLUMNS = (
    "id",
    "status",
    "form_id",
    "enterprise_number",
    "reasons",
    "created_at",
    "document_sha256",
    "decided_by",
    "decided_at",
    "decision_reason",
)
#: the columns of ``dossier_form`` a listing reads (the table: provisioning.models.DossierForm)
DOSSIER_COLUMNS = ("channel", "sender")


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


def list_reviews(
    conn: Connection | Session, *, status: ReviewStatus | None = ReviewStatus.OPEN, org: str | None = None
) -> list[ReviewView]:
    """The queue, oldest first (``status=None``: every item ever queued), without the items' values.

    On an ORM session its pending changes count, as its own queries autoflush them."""
    return read_reviews(reader_of(conn), status=status, org=org)


def read_reviews(
    db: Reader, *, status: ReviewStatus | None = ReviewStatus.OPEN, org: str | None = None
) -> list[ReviewView]:
    """:func:`list_reviews` on any reader (a bare read-only connection: intake.readonly_db)."""
    columns = ", ".join([*(f"r.{c}" for c in REVIEW_COLUMNS), *(f"d.{c}" for c in DOSSIER_COLUMNS)])
    where, params = [], {}
    if status is not None:
        where.append(f"r.status = {db.param('status')}")
        params["status"] = str(status)
    if org:
        where.append(f"r.enterprise_number = {db.param('org')}")
        params["org"] = org
    filters = f" WHERE {' AND '.join(where)}" if where else ""
    # only constant column names and placeholders are written into the text; the values are parameters
    joined = "review_item AS r LEFT OUTER JOIN dossier_form AS d ON d.sha256 = r.document_sha256"
    sql = f"SELECT {columns} FROM {joined}{filters} ORDER BY r.id"  # noqa: S608
    return [_view(row) for row in db.rows(sql, params)]


def _view(row: Any) -> ReviewView:
    (id_, status, form_id, en, reasons, created, sha, decided_by, decided_at, why, channel, sender) = row
    if isinstance(reasons, str):  # SQLite keeps a JSON column as text; psycopg decodes it
        reasons = json.loads(reasons)
    created_at = as_utc(created)
    assert created_at is not None  # NOT NULL
    return ReviewView(
        id=id_ or 0,
        status=str(status),
        form_id=form_id,
        enterprise_number=en,
        reasons=list(reasons or []),
        created_at=created_at,
        document_sha256=sha,
        channel=channel or "",
        sender=sender,
        decided_by=decided_by,
        decided_at=as_utc(decided_at),
        decision_reason=why,
    )
