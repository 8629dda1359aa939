"""Prometheus metrics of a deployment: one ``collect`` for the textfile collector after each run and ``/metrics``.

``collect(session, now=…, last_run=…)`` reads the database (documents, review backlog, outbox,
audit head) and, when given, the last run's report, into a fresh ``CollectorRegistry``. The daily
run writes it to ``run.metrics_file`` for node_exporter's textfile collector; the web application
can serve the same registry with ``prometheus_client.generate_latest``. Only counts, ages, codes
and sequence numbers: nothing personal, nothing secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditHead
from extranet_intake.intake.monitor import WAITING, outbox_states, overdue_access_reviews
from extranet_intake.intake.store_tables import Document
from extranet_intake.provisioning.models import ReviewItem, ReviewStatus

__all__ = ["METRICS", "collect", "write_textfile"]

_P = "extranet_intake_"

#: every metric name and its help text (the report and the docs list them from here)
METRICS: Mapping[str, str] = {
    f"{_P}documents": "Documents in the store by outcome (pending = not parsed yet).",
    f"{_P}review_backlog": "Review items still open.",
    f"{_P}review_oldest_age_seconds": "Age of the oldest open review item (0 when none).",
    f"{_P}outbox_messages": "Outbox mails by state.",
    f"{_P}outbox_oldest_age_seconds": "Age of the oldest mail still waiting to leave, by state (queued, sending).",
    f"{_P}audit_head_seq": "Sequence number of the audit chain's last entry.",
    f"{_P}access_reviews_overdue": "Organisations whose latest access review is past its due date, unanswered.",
    f"{_P}last_run_timestamp_seconds": "When the last run finished (Unix time).",
    f"{_P}last_run_duration_seconds": "How long the last run took.",
    f"{_P}last_run_ok": "1 when the last run ended without failures, else 0.",
    f"{_P}last_run_documents": "Documents of the last run by outcome.",
    f"{_P}last_run_failures": "Failures of the last run by stage and code.",
    f"{_P}last_run_stage_seconds": "Seconds the last run spent per stage.",
}


def _gauge(registry: CollectorRegistry, name: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(name, METRICS[name], labelnames=labels, registry=registry)


def collect(session: Session, *, now: datetime, last_run: Mapping[str, Any] | None = None) -> CollectorRegistry:
    """The deployment's state now (read-only), plus the last run's figures when its report is given."""
    registry = CollectorRegistry(auto_describe=True)
    c = session.connection()

    docs = _gauge(registry, f"{_P}documents", ("outcome",))
    d = Document.__table__  # type: ignore[attr-defined]
    outcome = sa.func.coalesce(d.c.parse_outcome, d.c.parse_state)
    for value, count in c.execute(sa.select(outcome, sa.func.count()).group_by(outcome)):
        docs.labels(outcome=str(value)).set(count)

    r = ReviewItem.__table__  # type: ignore[attr-defined]
    count, oldest = c.execute(
        sa.select(sa.func.count(), sa.func.min(r.c.created_at)).where(r.c.status == ReviewStatus.OPEN.value)
    ).one()
    _gauge(registry, f"{_P}review_backlog").set(count)
    _gauge(registry, f"{_P}review_oldest_age_seconds").set(
        max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    )

    messages = _gauge(registry, f"{_P}outbox_messages", ("state",))
    ages = _gauge(registry, f"{_P}outbox_oldest_age_seconds", ("state",))
    for w in WAITING:  # present even when empty, so that an alert rule sees 0 rather than no data
        messages.labels(state=w.value).set(0)
        ages.labels(state=w.value).set(0)
    for s in outbox_states(session, now=now):
        messages.labels(state=s.state).set(s.count)
        if s.state in {w.value for w in WAITING} and s.oldest_age_seconds is not None:
            ages.labels(state=s.state).set(max(0.0, s.oldest_age_seconds))

    h = AuditHead.__table__  # type: ignore[attr-defined]
    _gauge(registry, f"{_P}audit_head_seq").set(c.execute(sa.select(sa.func.max(h.c.seq))).scalar() or 0)
    _gauge(registry, f"{_P}access_reviews_overdue").set(len(overdue_access_reviews(session)))

    if last_run is not None:
        _last_run(registry, last_run)
    return registry


def _last_run(registry: CollectorRegistry, report: Mapping[str, Any]) -> None:
    started = datetime.fromisoformat(report["started_at"])
    finished = datetime.fromisoformat(report["finished_at"]) if report.get("finished_at") else started
    _gauge(registry, f"{_P}last_run_timestamp_seconds").set(finished.timestamp())
    _gauge(registry, f"{_P}last_run_duration_seconds").set((finished - started).total_seconds())
    _gauge(registry, f"{_P}last_run_ok").set(1 if report.get("ok") else 0)
    docs = _gauge(registry, f"{_P}last_run_documents", ("outcome",))
    for outcome, n in (report.get("outcomes") or {}).items():
        docs.labels(outcome=str(outcome)).set(n)
    failures = _gauge(registry, f"{_P}last_run_failures", ("stage", "code"))
    for f in report.get("failures") or []:
        failures.labels(stage=str(f.get("stage", "")), code=str(f.get("code", ""))).inc()
    stages = _gauge(registry, f"{_P}last_run_stage_seconds", ("stage",))
    for stage, seconds in (report.get("timings") or {}).items():
        stages.labels(stage=str(stage)).set(seconds)


def write_textfile(path: Path, registry: CollectorRegistry) -> Path:
    """Write the registry for node_exporter's textfile collector (atomically, as it requires)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)  # writes a temporary file and renames it
    os.chmod(path, 0o640)  # counts only, yet owner+group like every file we make; node_exporter reads via its group
    return path
