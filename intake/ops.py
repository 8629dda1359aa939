"""What the operations page shows: the last runs (their reports and failures) and the outbox's unsent mails."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from intake.report_rows import Failure
from mailer.outbox import OutboxMessage, OutboxStatus

__all__ = ["OutboxRow", "RunSummary", "last_runs", "outbox_rows"]


@dataclass(frozen=True)
class RunSummary:
    name: str
    started_at: str
    finished_at: str | None
    ok: bool
    dry_run: bool
    outcomes: dict[str, int]
    failures: list[Failure] = field(default_factory=list)
    mail: dict[str, Any] = field(default_factory=dict)


def last_runs(report_dir: Path, *, limit: int = 10) -> list[RunSummary]:
    """The newest run reports (``run-*.json``), newest first; an unreadable one shows as a failure."""
    if not report_dir.is_dir():
        return []
    out: list[RunSummary] = []
    for path in sorted(report_dir.glob("run-*.json"), reverse=True)[:limit]:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            out.append(RunSummary(name=path.name, started_at=str(raw.get("started_at", "")),
                                  finished_at=raw.get("finished_at"), ok=bool(raw.get("ok")),
                                  dry_run=bool(raw.get("dry_run")), outcomes=dict(raw.get("outcomes") or {}),
                                  failures=[Failure.of(str(f.get("stage") or ""), f)
                                            for f in raw.get("failures") or []],
                                  mail=dict(raw.get("mail") or {})))
        except (OSError, ValueError, AttributeError):
            out.append(RunSummary(name=path.name, started_at="", finished_at=None, ok=False, dry_run=False,
                                  outcomes={}, failures=[Failure("", "report-unreadable", path.name)]))
    return out


@dataclass(frozen=True)
class OutboxRow:
    id: int
    purpose: str
    event: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: Any
    last_error: str


#: what waits or went wrong; ``sent`` mails are history (the audit log has them)
UNSENT = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED, OutboxStatus.REFUSED)


def outbox_rows(connection: Connection, *, limit: int = 200) -> list[OutboxRow]:
    """Unsent mails, oldest due first. Never the parameters: a credentials mail's are not for this page."""
    t = OutboxMessage.__table__  # type: ignore[attr-defined]
    stmt = (sa.select(t.c.id, t.c.purpose, t.c.event, t.c.recipient, t.c.status, t.c.attempts, t.c.next_attempt_at,
                      t.c.last_error)
            .where(t.c.status.in_([s.value for s in UNSENT])).order_by(t.c.next_attempt_at, t.c.id).limit(limit))
    return [OutboxRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], (r[7] or "")[:500])
            for r in connection.execute(stmt)]
