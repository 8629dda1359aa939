"""`review list` reads the queue on the bare driver and imports no SQLAlchemy (issue 14.16, start-up time).

Its listing (provisioning.review_list) must read what the ORM models hold, the same whether it runs on
the bare driver (intake.readonly_db) or inside a session, and the command must not import SQLAlchemy,
SQLModel, the models or Alembic: those cost most of its start-up (docs/operations.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from extranet_intake.intake.readonly_db import reading, target_of
from extranet_intake.provisioning.models import DossierForm, FormStatus, ReviewItem, ReviewStatus
from extranet_intake.provisioning.review import show_review
from extranet_intake.provisioning.review_list import DOSSIER_COLUMNS, REVIEW_COLUMNS, list_reviews, read_reviews

ROOT = Path(__file__).resolve().parents[2]
EN = "0812345603"
T0 = datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)
T1 = datetime(2026, 3, 3, 16, 45, tzinfo=UTC)
#: modules whose import `review list` must not pay for
HEAVY = (
    "sqlmodel",
    "sqlalchemy",
    "pydantic",  # typer 0.29 coerces every option through pydantic (pyproject.toml keeps it below)
    "alembic",
    "extranet_intake.provisioning.models",
    "extranet_intake.provisioning.review",
    "extranet_intake.parsers.validate",
    "extranet_intake.parsers.result",
)


def _seed(engine: sa.Engine) -> None:
    with Session(engine) as session:
        for n, channel, sender in ((1, "email", "mu@acme.example"), (2, "post", None)):
            session.add(
                DossierForm(
                    sha256=f"{n:064x}",
                    enterprise_number=EN,
                    form_id="EAP-USR",
                    channel=channel,
                    sender=sender,
                    received_at=T0,
                    status=FormStatus.IN_REVIEW,
                )
            )
        session.flush()
        session.add(
            ReviewItem(
                document_sha256=f"{1:064x}",
                enterprise_number=EN,
                form_id="EAP-USR",
                reasons=["not-mailed-by-master-user", "field-empty"],
                created_at=T0,
            )
        )
        session.add(
            ReviewItem(
                document_sha256=f"{2:064x}",
                enterprise_number=EN,
                form_id="EAP-USR",
                reasons=["end-date-missing"],
                created_at=T0,
                status=ReviewStatus.REJECTED,
                decided_by="anna",
                decided_at=T1,
                decision_reason="end-date-missing",
            )
        )
        session.commit()


def test_the_listed_columns_are_the_models_columns() -> None:
    for name, columns in (("review_item", REVIEW_COLUMNS), ("dossier_form", DOSSIER_COLUMNS)):
        table = SQLModel.metadata.tables[name]  # defined by provisioning.models (imported above)
        for column in columns:
            assert column in table.c, (name, column)


def test_the_bare_listing_reads_what_the_orm_reads(engine: sa.Engine, db_url: str) -> None:
    _seed(engine)
    assert target_of(db_url) is not None  # the bare driver, not the SQLAlchemy fallback
    with reading(db_url) as db:
        every = read_reviews(db, status=None)
        open_ = read_reviews(db)
        assert read_reviews(db, status=None, org="0456789133") == []
        assert [v.id for v in read_reviews(db, status=None, org=EN)] == [v.id for v in every]
    with engine.connect() as conn:  # the same SQL on an SQLAlchemy connection reads the same
        assert list_reviews(conn, status=None) == every
    assert [v.id for v in open_] == [every[0].id]
    assert [v.status for v in every] == ["open", "rejected"]
    with Session(engine) as session:
        for view in every:
            full = show_review(session, view.id)
            for name in (
                "id",
                "status",
                "form_id",
                "enterprise_number",
                "reasons",
                "created_at",
                "document_sha256",
                "channel",
                "sender",
                "decided_by",
                "decided_at",
                "decision_reason",
            ):
                assert getattr(view, name) == getattr(full, name), name
            assert view.fields == {}
            assert view.signatures == []
    assert (every[0].channel, every[0].sender, every[1].channel, every[1].sender) == (
        "email",
        "mu@acme.example",
        "post",
        None,
    )
    assert every[0].created_at == T0
    assert every[0].created_at.tzinfo is not None
    assert every[1].decided_at == T1
    assert every[1].decided_at.tzinfo is not None
    assert every[0].reasons == ["not-mailed-by-master-user", "field-empty"]


def test_a_session_lists_its_own_pending_items(engine: sa.Engine) -> None:
    _seed(engine)
    with Session(engine) as session:
        session.add(
            DossierForm(
                sha256=f"{3:064x}",
                enterprise_number="0456789133",
                form_id="EAP-AGR",
                channel="post",
                received_at=T1,
                status=FormStatus.IN_REVIEW,
            )
        )
        session.flush()
        session.add(
            ReviewItem(
                document_sha256=f"{3:064x}",
                enterprise_number="0456789133",
                form_id="EAP-AGR",
                reasons=[],
                created_at=T1,
            )
        )
        assert [v.form_id for v in list_reviews(session, org="0456789133")] == ["EAP-AGR"]


def test_review_list_imports_no_orm_no_models_no_alembic(tmp_path: Path, db_url: str, engine: sa.Engine) -> None:
    _seed(engine)
    cfg = tmp_path / "extranet_intake.intake.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}
    script = (
        "import sys; from extranet_intake.intake.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "assert code == 0, code\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy)))"
    )
    for argv in (["review", "list"], ["review", "list", "--all", "--json"]):
        proc = subprocess.run(
            [sys.executable, "-c", script, *argv, "--config", str(cfg)],
            capture_output=True,
            text=True,
            env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "120"},
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        *output, modules = proc.stdout.strip().splitlines()
        assert modules == "[]", argv
        if "--json" in argv:
            assert [i["status"] for i in json.loads("\n".join(output))] == ["open", "rejected"]
        else:
            assert sum("EAP-USR" in line for line in output) == 1, output


def test_a_url_the_bare_path_does_not_open_is_read_through_sqlalchemy(engine: sa.Engine, db_url: str) -> None:
    _seed(engine)
    if not db_url.startswith("sqlite"):
        # libpq takes any parameter of its own in the URL: still the bare driver, and it reads
        url = db_url + ("&" if "?" in db_url else "?") + "application_name=intake-review-list"
        assert target_of(url) is not None
        with reading(url) as db:
            assert [v.status for v in read_reviews(db, status=None)] == ["open", "rejected"]
        return
    url = f"{db_url}?check_same_thread=false"  # a pysqlite connect argument the bare path leaves to SQLAlchemy
    assert target_of(url) is None
    with reading(url) as fallback, reading(db_url) as bare:
        assert read_reviews(fallback, status=None) == read_reviews(bare, status=None)
        assert [v.status for v in read_reviews(fallback, status=None)] == ["open", "rejected"]
