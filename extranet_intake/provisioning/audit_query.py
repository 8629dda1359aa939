"""The audit log as the audit room reads it: filtered, newest first, keyset-paged by ``seq``.

Keyset paging (``seq < before``) reads one page whatever the depth: an ``OFFSET`` would read and
skip every row above the page. The (column, seq) indexes of ``audit_entry`` serve a filter on
organisation, login, action or actor in the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from extranet_intake.auditchain.chain import AUDIT_ENTRY, HASHED_FIELDS, AuditAction, iter_entries

__all__ = ["AuditFilter", "AuditPage", "audit_page", "filtered_entries", "last_checkpoint"]

_E = AUDIT_ENTRY
_COLUMNS = tuple(_E.c[name] for name in (*HASHED_FIELDS, "hash"))


@dataclass(frozen=True)
class AuditFilter:
    org: str | None = None
    login: str | None = None
    action: AuditAction | None = None
    actor: str | None = None
    since: date | None = None  # from this day (UTC), inclusive
    until: date | None = None  # to this day (UTC), inclusive

    def where(self) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        if self.org:
            out.append(_E.c.org == self.org)
        if self.login:
            out.append(_E.c.login == self.login)
        if self.action:
            out.append(_E.c.action == str(self.action))
        if self.actor:
            out.append(_E.c.actor == self.actor)
        if self.since:
            out.append(_E.c.at >= _midnight(self.since))
        if self.until:
            out.append(_E.c.at < _midnight(self.until + timedelta(days=1)))
        return out


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class AuditPage:
    rows: list[dict[str, Any]]
    #: ``before`` of the next (older) page; None on the last page
    next_before: int | None
    #: a newer page exists; ``prev_before`` is its ``before`` (None: the first page)
    has_prev: bool = False
    prev_before: int | None = None


def _row(names: list[str], row: Any) -> dict[str, Any]:
    item = dict(zip(names, row, strict=True))
    at = item["at"]
    item["at"] = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return item


def audit_page(
    connection: Connection, filters: AuditFilter | None = None, *, before: int | None = None, size: int = 50
) -> AuditPage:
    """One page of entries with ``seq < before`` (newest first) matching ``filters``."""
    f = filters or AuditFilter()
    names = [c.name for c in _COLUMNS]
    stmt = sa.select(*_COLUMNS).where(*f.where()).order_by(_E.c.seq.desc()).limit(size + 1)
    if before is not None:
        stmt = stmt.where(_E.c.seq < before)
    rows = [_row(names, r) for r in connection.execute(stmt)]
    more = len(rows) > size
    rows = rows[:size]
    has_prev, prev_before = False, None
    if before is not None:
        # the newer page: the `size` entries just above this one, read the same (indexed) way
        newer = sa.select(_E.c.seq).where(*f.where(), _E.c.seq >= before).order_by(_E.c.seq).limit(size + 1)
        above = [int(r[0]) for r in connection.execute(newer)]
        has_prev = bool(above)
        prev_before = above[size - 1] + 1 if len(above) > size else None
    return AuditPage(
        rows=rows, next_before=rows[-1]["seq"] if more and rows else None, has_prev=has_prev, prev_before=prev_before
    )


def filtered_entries(connection: Connection, filters: AuditFilter | None = None) -> Iterator[dict[str, Any]]:
    """Every matching entry in ``seq`` order (for exports), streamed."""
    f = filters or AuditFilter()
    if not (f.login or f.actor or f.until or f.action):
        since = _midnight(f.since) if f.since else None
        yield from iter_entries(connection, org=f.org, since=since)
        return
    names = [c.name for c in _COLUMNS]
    result = connection.execution_options(yield_per=5000).execute(
        sa.select(*_COLUMNS).where(*f.where()).order_by(_E.c.seq)
    )
    for part in result.partitions():
        for row in part:
            yield _row(names, row)


def last_checkpoint(connection: Connection) -> dict[str, Any] | None:
    """The newest ``checkpoint`` entry (who signed which entry, when), or None."""
    names = [c.name for c in _COLUMNS]
    row = connection.execute(
        sa.select(*_COLUMNS).where(_E.c.action == str(AuditAction.CHECKPOINT)).order_by(_E.c.seq.desc()).limit(1)
    ).first()
    return _row(names, row) if row is not None else None
