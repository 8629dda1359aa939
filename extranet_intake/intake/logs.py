"""Structured logs: ``--log-format json`` gives one JSON event per line on stderr, keyed by run id.

An event is a name (``run.started``, ``document.processed`` …) plus a few plain fields: run id,
stage, document sha, outbox id, code. Values are codes, hashes, counts and ids — never message
content or a secret — and the formatter drops any field whose name says it holds one, so a
careless caller cannot leak a password through a log line either.

The text format (the default) leaves logging as it always was: warnings on stderr, no events.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = ["EVENTS", "LogFormat", "configure", "event", "json_logging", "new_run_id", "run_context"]

log = logging.getLogger("extranet_intake.intake.events")

#: every event name this module is asked to emit (the report lists them; a test keeps them in step)
EVENTS = (
    "run.started",
    "run.stage",
    "run.finished",
    "run.failure",
    "document.processed",
    "mail.sent",
    "mail.deferred",
    "mail.failed",
    "mail.refused",
    "log",
)

_run_id: ContextVar[str | None] = ContextVar("intake_run_id", default=None)

#: field names that may hold a secret: never written, whatever the caller passes
_SECRET_WORDS = ("password", "secret", "token", "passwd", "key")


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


@contextmanager
def run_context(run_id: str) -> Iterator[str]:
    """Every event logged inside carries ``run_id``."""
    token = _run_id.set(run_id)
    try:
        yield run_id
    finally:
        _run_id.reset(token)


def event(name: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one named event with its fields (codes, ids, hashes, counts only)."""
    log.log(level, name, extra={"intake_event": name, "intake_fields": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, event, run id, then the event's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        name = getattr(record, "intake_event", None)
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": name or "log",
            "run_id": _run_id.get(),
        }
        if name is None:
            # A plain library log line (the mailer's "outbox 3 deferred: [smtp-unreachable] …"):
            # its text is codes and server replies by the project's rule; keep the logger's name.
            out["logger"] = record.name
            out["message"] = record.getMessage()
        for key, value in (getattr(record, "intake_fields", None) or {}).items():
            if any(word in key.lower() for word in _SECRET_WORDS):
                continue
            out[key] = value if isinstance(value, int | float | bool | type(None)) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = record.exc_info[0].__name__  # the kind only: a traceback may quote values
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def configure(fmt: LogFormat) -> None:
    """Install the JSON handler on the root logger (INFO and up, stderr); text changes nothing."""
    if fmt is not LogFormat.JSON:
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "intake_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.intake_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Alembic narrates every migration check at INFO: not an event of ours
    logging.getLogger("alembic").setLevel(logging.WARNING)


def json_logging() -> bool:
    """Whether ``--log-format json`` is on (progress lines then stay off stderr)."""
    return any(getattr(h, "intake_json", False) for h in logging.getLogger().handlers)
