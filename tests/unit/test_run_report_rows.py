"""A run report's failures and warnings are typed records; on disk and in ``run --json`` they keep their shape."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from extranet_intake.errors import IntakeError
from extranet_intake.intake.people import PeopleReport
from extranet_intake.intake.pipeline import RunReport
from extranet_intake.intake.report_rows import ExpiryResult, Failure, RunWarning
from extranet_intake.mailer.send import DrainReport
from extranet_intake.reasons import describe


def test_a_coded_error_is_written_as_before() -> None:
    exc = IntakeError("imap-login-failed", "login refused", account="intake@acme.be", folder="INBOX")
    # what the run wrote before: {"stage": …, "sha256": …, **exc.as_dict()}
    assert Failure.of_exception("parse", exc, sha256="ab" * 32).as_dict() == {
        "stage": "parse",
        "sha256": "ab" * 32,
        **exc.as_dict(),
    }
    assert Failure.of_exception("imap", exc).as_dict() == {"stage": "imap", **exc.as_dict()}


def test_a_database_error_is_database_error_with_the_drivers_first_line() -> None:
    exc = OperationalError("SELECT 1", {}, Exception("database is locked\nmore"))
    failure = Failure.of_exception("apply", exc, sha256="cd" * 32)
    assert failure.code == "database-error"
    assert failure.as_dict() == {
        "stage": "apply",
        "sha256": "cd" * 32,
        "code": "database-error",
        "message": failure.message,
    }
    assert failure.message.startswith("OperationalError: ")
    assert "\n" not in failure.message


def test_a_mail_that_did_not_leave_names_its_row_and_state() -> None:
    failure = Failure("send", "smtp-unreachable", "connection refused", outbox_id=7, state="retrying")
    assert failure.as_dict() == {
        "stage": "send",
        "code": "smtp-unreachable",
        "outbox_id": 7,
        "state": "retrying",
        "message": "connection refused",
    }
    assert failure.title == describe("smtp-unreachable").title


def test_a_failure_read_back_from_a_report_is_the_same_failure() -> None:
    written = [
        Failure("send", "smtp-unreachable", "refused", outbox_id=7, state="failed"),
        Failure.of_exception("parse", IntakeError("pdf-unreadable", "bad", page="2"), sha256="ef" * 32),
        Failure("metrics", "metrics-write-failed", "cannot write x"),
    ]
    for failure in written:
        raw = failure.as_dict()
        assert Failure.of(raw["stage"], raw) == failure


def test_warnings_and_expiries_keep_their_shape() -> None:
    assert RunWarning("split", "stack-blank-page", "page(s) 3 …", sha256="ab", pages="3").as_dict() == {
        "stage": "split",
        "sha256": "ab",
        "code": "stack-blank-page",
        "pages": "3",
        "message": "page(s) 3 …",
    }
    assert RunWarning("access-review", "access-review-overdue", "no answer", org="0644695949").as_dict() == {
        "stage": "access-review",
        "code": "access-review-overdue",
        "org": "0644695949",
        "message": "no answer",
    }
    assert ExpiryResult("0644695949", "applied", ("account-expired",)).as_dict() == {
        "org": "0644695949",
        "outcome": "applied",
        "reasons": ["account-expired"],
    }


def test_the_report_serialises_its_records() -> None:
    report = RunReport(started_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert report.as_dict()["mail"] == {}  # nothing sent: as before
    report.mail = DrainReport(sent=[1, 2], retrying=[3])
    report.people.append(PeopleReport(source="maildir", folder=".Te behandelen", handed_over=2))
    report.failures.append(Failure("send", "smtp-unreachable", "down", outbox_id=3, state="retrying"))
    out = report.as_dict()
    assert out["mail"] == DrainReport(sent=[1, 2], retrying=[3]).as_dict()
    assert out["people"] == [{"source": "maildir", "folder": ".Te behandelen", "handed_over": 2, "warnings": []}]
    assert out["for_people"] == 2
    assert out["failures"] == [
        {"stage": "send", "code": "smtp-unreachable", "outbox_id": 3, "state": "retrying", "message": "down"}
    ]
    assert out["ok"] is False
