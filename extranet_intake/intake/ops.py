"""What the operations page shows: the last runs (their reports and failures); its outbox listing is
:func:`intake.monitor.outbox_listing`, the one ``outbox list`` uses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extranet_intake.intake.report_rows import Failure

__all__ = ["RunSummary", "last_runs"]


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
            out.append(
                RunSummary(
                    name=path.name,
                    started_at=str(raw.get("started_at", "")),
                    finished_at=raw.get("finished_at"),
                    ok=bool(raw.get("ok")),
                    dry_run=bool(raw.get("dry_run")),
                    outcomes=dict(raw.get("outcomes") or {}),
                    failures=[Failure.of(str(f.get("stage") or ""), f) for f in raw.get("failures") or []],
                    mail=dict(raw.get("mail") or {}),
                )
            )
        except (OSError, ValueError, AttributeError):
            out.append(
                RunSummary(
                    name=path.name,
                    started_at="",
                    finished_at=None,
                    ok=False,
                    dry_run=False,
                    outcomes={},
                    failures=[Failure("", "report-unreadable", path.name)],
                )
            )
    return out
