"""Pure parts of the ops view: the JSON log formatter and the database error classifier."""

from __future__ import annotations

import json
import logging
import sqlite3

import sqlalchemy.exc as sa_exc

from extranet_intake.intake.logs import EVENTS, JsonFormatter, run_context
from extranet_intake.provisioning.engines import as_database_error


def _record(name: str, **fields: object) -> logging.LogRecord:
    record = logging.LogRecord("extranet_intake.intake.events", logging.INFO, __file__, 1, name, None, None)
    record.intake_event = name
    record.intake_fields = fields
    return record


def test_a_json_event_carries_the_run_id_and_never_a_secret_field() -> None:
    with run_context("r1"):
        line = JsonFormatter().format(
            _record("mail.sent", outbox_id=3, password="Hunter2-Hunter2", smtp_password="x", code="smtp-unreachable")
        )
    data = json.loads(line)
    assert (data["event"], data["run_id"], data["outbox_id"], data["code"]) == (
        "mail.sent",
        "r1",
        3,
        "smtp-unreachable",
    )
    assert "Hunter2" not in line
    assert "smtp_password" not in data
    assert "mail.sent" in EVENTS


def test_database_errors_are_classified() -> None:
    locked = sa_exc.OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked"))
    down = sa_exc.OperationalError("connect", {}, sqlite3.OperationalError("unable to open database file"))
    schema = sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: outbox"))
    err = as_database_error(locked, url="postgresql://u:secret@h/db")
    assert err is not None
    assert err.code == "database-locked"
    assert "secret" not in str(err)
    down_err = as_database_error(down)
    assert down_err is not None
    assert down_err.code == "database-unreachable"
    assert as_database_error(schema) is None
    assert as_database_error(ValueError("x")) is None
