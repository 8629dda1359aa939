"""Prometheus text exposition for ``/metrics``: the product's own gauges (intake/metrics.py) plus the desk's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import generate_latest
from sqlalchemy import Engine
from sqlmodel import Session

from extranet_intake.intake.metrics import collect as collect_product
from extranet_intake.provisioning.staff import StaffAccount, StaffSession

__all__ = ["collect"]


def _line(name: str, value: float, help_text: str, labels: str = "") -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name}{labels} {value:g}"]


def collect(engine: Engine, *, session_idle: timedelta) -> str:
    """Gauges read from the database, so every web process reports the same figures: the same collector
    as the textfile the daily run writes (documents, review backlog and age, outbox, audit head), then the
    desk's own (sessions, staff)."""
    now = datetime.now(UTC)
    since = now - session_idle
    with Session(engine) as session:
        product = generate_latest(collect_product(session, now=now)).decode("utf-8")
        conn = session.connection()  # one connection and one snapshot for the whole scrape
        sessions = conn.execute(
            sa.select(sa.func.count()).select_from(StaffSession).where(sa.column("last_seen_at") >= since)
        ).scalar_one()
        staff: list[Any] = list(
            conn.execute(
                sa.select(sa.column("role"), sa.func.count())
                .select_from(StaffAccount)
                .where(sa.column("active").is_(True))
                .group_by(sa.column("role"))
            )
        )
    lines = [product.rstrip("\n"), "# HELP desk_up The desk answers.", "# TYPE desk_up gauge", "desk_up 1"]
    lines += _line("desk_sessions_active", sessions, "Staff sessions seen within the idle timeout.")
    lines += ["# HELP desk_staff_active Active staff accounts by role.", "# TYPE desk_staff_active gauge"]
    lines += [f'desk_staff_active{{role="{role}"}} {count}' for role, count in sorted(staff)]
    return "\n".join(lines) + "\n"
