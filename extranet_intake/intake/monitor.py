"""What a monitoring check asks of a deployment: the outbox by state and age, its mails, and the alerts.

Read-only queries shared by ``status``, ``outbox list`` and the metrics (and later the web
application). An outbox row holds no secret — the temporary password of a credentials mail is
made at send time and only its hash is kept (provisioning) — and this view shows neither the
template parameters nor anything derived from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from extranet_intake.mailer.outbox import OutboxMessage, OutboxStatus
from extranet_intake.provisioning.access_review import ReviewCampaign, ReviewOrg, ReviewState

__all__ = [
    "UNSENT",
    "WAITING",
    "Alert",
    "OutboxOrder",
    "OutboxRow",
    "OutboxState",
    "outbox_alerts",
    "outbox_listing",
    "outbox_states",
    "overdue_access_reviews",
]

#: states of a mail that is still due to leave
WAITING = (OutboxStatus.QUEUED, OutboxStatus.SENDING)


class Alert(StrEnum):
    """Why ``status`` exits 1 (a monitoring check keys on these codes)."""

    LAST_RUN_FAILED = "last-run-failed"
    MAIL_WAITING_TOO_LONG = "mail-waiting-too-long"


@dataclass(frozen=True)
class OutboxState:
    state: str
    count: int
    #: seconds since the oldest row of this state was queued
    oldest_age_seconds: float | None
    max_attempts: int
    next_attempt_at: datetime | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "count": self.count,
            "oldest_age_seconds": None if self.oldest_age_seconds is None else round(self.oldest_age_seconds),
            "max_attempts": self.max_attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "last_error": self.last_error,
        }


def outbox_states(session: Session, *, now: datetime) -> list[OutboxState]:
    """One line per state present: count, oldest age, most attempts, next try, the latest error."""
    t = OutboxMessage.__table__  # type: ignore[attr-defined]
    rows = (
        session.connection()
        .execute(
            sa.select(
                t.c.status,
                sa.func.count(),
                sa.func.min(t.c.created_at),
                sa.func.max(t.c.attempts),
                sa.func.min(t.c.next_attempt_at),
            ).group_by(t.c.status)
        )
        .all()
    )
    out = []
    for status, count, oldest, attempts, next_at in sorted(rows, key=lambda r: str(r[0])):
        error = session.exec(
            select(OutboxMessage.last_error)
            .where(col(OutboxMessage.status) == status, col(OutboxMessage.last_error).is_not(None))
            .order_by(col(OutboxMessage.updated_at).desc(), col(OutboxMessage.id).desc())
            .limit(1)
        ).first()
        out.append(
            OutboxState(
                state=str(status),
                count=int(count),
                oldest_age_seconds=(now - oldest).total_seconds() if oldest is not None else None,
                max_attempts=int(attempts or 0),
                next_attempt_at=next_at if (next_at is not None and status == OutboxStatus.QUEUED) else None,
                last_error=error,
            )
        )
    return out


def outbox_alerts(states: list[OutboxState], *, alert_after_minutes: float) -> list[dict[str, Any]]:
    """A mail still waiting after ``alert_after_minutes`` (0 = never alert)."""
    alerts = []
    for s in states:
        if (
            alert_after_minutes
            and s.state in {w.value for w in WAITING}
            and s.oldest_age_seconds is not None
            and s.oldest_age_seconds > alert_after_minutes * 60
        ):
            alerts.append(
                {
                    "code": Alert.MAIL_WAITING_TOO_LONG.value,
                    "state": s.state,
                    "message": f"{s.count} mail(s) {s.state}, the oldest for "
                    f"{int(s.oldest_age_seconds // 60)} min (alert after "
                    f"{alert_after_minutes:g} min); last error: {s.last_error or '-'}",
                }
            )
    return alerts


def overdue_access_reviews(session: Session) -> list[dict[str, Any]]:
    """Organisations whose latest access review is past its due date without an answer (docs/rules.md,
    the yearly access review): the team's to chase. A later campaign's part replaces an earlier one's, and
    an answer, even late, ends it."""
    o, c = ReviewOrg.__table__, ReviewCampaign.__table__  # type: ignore[attr-defined]
    latest = sa.select(sa.func.max(o.c.id).label("id")).group_by(o.c.enterprise_number).subquery()
    rows = session.connection().execute(
        sa.select(o.c.enterprise_number, o.c.campaign_id, c.c.due_date, o.c.overdue_at, o.c.suspended)
        .join(latest, latest.c.id == o.c.id)
        .join(c, c.c.id == o.c.campaign_id)
        .where(o.c.state == ReviewState.OVERDUE.value)
        .order_by(c.c.due_date, o.c.enterprise_number)
    )
    return [
        {
            "org": en,
            "campaign": campaign,
            "due_date": due.isoformat(),
            "overdue_since": overdue_at.isoformat() if overdue_at else None,
            "suspended": int(suspended or 0),
        }
        for en, campaign, due, overdue_at, suspended in rows
    ]


class OutboxOrder(StrEnum):
    """How :func:`outbox_listing` orders its rows."""

    #: the ``outbox list`` command: the newest mail first
    NEWEST = "newest"
    #: the desk's ops page: the mail due first (then the oldest row first)
    DUE = "due"


#: what waits or went wrong; ``sent`` mails are history (the audit log has them): the desk's ops page
UNSENT = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED, OutboxStatus.REFUSED)


@dataclass(frozen=True)
class OutboxRow:
    """One mail as a listing shows it: who, what, where it stands — never its parameters or a password."""

    id: int
    status: str
    purpose: str
    event: str
    ref: str
    recipient: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    message_id: str | None
    last_error: str | None

    def as_dict(self, *, now: datetime) -> dict[str, Any]:
        """The ``outbox list`` row (its JSON): the next attempt only while the mail is queued."""
        return {
            "id": self.id,
            "state": self.status,
            "purpose": self.purpose,
            "event": self.event,
            "ref": self.ref,
            "recipient": self.recipient,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "age_seconds": round((now - self.created_at).total_seconds()),
            "next_attempt_at": self.next_attempt_at.isoformat() if self.status == OutboxStatus.QUEUED else None,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "message_id": self.message_id,
            "last_error": self.last_error,
        }


def outbox_listing(
    connection: Connection,
    *,
    states: Iterable[OutboxStatus] | None = None,
    order: OutboxOrder = OutboxOrder.NEWEST,
    limit: int = 1000,
) -> list[OutboxRow]:
    """The outbox's mails in ``states`` (every state when None or empty), in ``order``: the one listing of
    ``outbox list`` (newest first, every state or ``--state``) and the desk's ops page (:data:`UNSENT`,
    due first). Never the parameters: a credentials mail's are not for a listing."""
    t = OutboxMessage.__table__  # type: ignore[attr-defined]
    stmt = sa.select(
        t.c.id,
        t.c.status,
        t.c.purpose,
        t.c.event,
        t.c.ref,
        t.c.recipient,
        t.c.attempts,
        t.c.created_at,
        t.c.next_attempt_at,
        t.c.sent_at,
        t.c.message_id,
        t.c.last_error,
    )
    wanted = [OutboxStatus(s).value for s in states or ()]
    if wanted:
        stmt = stmt.where(t.c.status.in_(wanted))
    stmt = stmt.order_by(t.c.id.desc()) if order is OutboxOrder.NEWEST else stmt.order_by(t.c.next_attempt_at, t.c.id)
    return [
        OutboxRow(
            id=r.id,
            status=str(r.status),
            purpose=r.purpose,
            event=r.event,
            ref=r.ref,
            recipient=r.recipient,
            attempts=int(r.attempts),
            created_at=r.created_at,
            next_attempt_at=r.next_attempt_at,
            sent_at=r.sent_at if r.sent_at is not None else None,
            message_id=r.message_id,
            last_error=r.last_error,
        )
        for r in connection.execute(stmt.limit(limit))
    ]
