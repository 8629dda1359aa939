"""Prometheus text exposition of the desk's figures (a minimal collector until a product-wide one exists)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from provisioning.audit import AuditHead
from provisioning.models import ReviewItem, ReviewStatus
from provisioning.staff import StaffAccount, StaffSession

__all__ = ["collect"]


def _line(name: str, value: float, help_text: str, labels: str = "") -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name}{labels} {value:g}"]


def collect(engine: Engine, *, session_idle: timedelta) -> str:
    """Gauges read from the database, so every web process reports the same figures."""
    since = datetime.now(UTC) - session_idle
    with engine.connect() as conn:
        open_items = conn.execute(sa.select(sa.func.count()).select_from(ReviewItem)
                                  .where(sa.column("status") == ReviewStatus.OPEN.value)).scalar_one()
        audit_seq = conn.execute(sa.select(sa.column("seq")).select_from(AuditHead)).scalar() or 0
        sessions = conn.execute(sa.select(sa.func.count()).select_from(StaffSession)
                                .where(sa.column("last_seen_at") >= since)).scalar_one()
        staff: list[Any] = list(conn.execute(sa.select(sa.column("role"), sa.func.count()).select_from(StaffAccount)
                             .where(sa.column("active").is_(True)).group_by(sa.column("role"))))
    lines = ["# HELP desk_up The desk answers.", "# TYPE desk_up gauge", "desk_up 1"]
    lines += _line("review_items_open", open_items, "Review items waiting for a person.")
    lines += _line("audit_entries", audit_seq, "Sequence number of the last audit entry.")
    lines += _line("desk_sessions_active", sessions, "Staff sessions seen within the idle timeout.")
    lines += ["# HELP desk_staff_active Active staff accounts by role.", "# TYPE desk_staff_active gauge"]
    lines += [f'desk_staff_active{{role="{role}"}} {count}' for role, count in sorted(staff)]
    return "\n".join(lines) + "\n"
