"""`review list` reads the queue in SQLAlchemy Core and imports no ORM (issue 14.16, start-up time).

Its listing (provisioning.review_list) must read what the ORM models hold, and the command must not
import SQLModel, the ORM, the models or Alembic: those cost most of its start-up (docs/operations.md).
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

from extranet_intake.provisioning.models import DossierForm, FormStatus, ReviewItem, ReviewStatus
from extranet_intake.provisioning.review import show_review
from extranet_intake.provisioning.review_list import DOSSIER_FORM, REVIEW_ITEM, list_reviews

ROOT = Path(__file__).resolve().parents[2]
EN = "0812345603"
T0 = datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)
T1 = datetime(2026, 3, 3, 16, 45, tzinfo=UTC)
#: modules whose import `review list` must not pay for
HEAVY = (
    "sqlmodel",
    "sqlalchemy.orm",
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


def test_the_lightweight_columns_are_the_models_columns() -> None:
    for light in (REVIEW_ITEM, DOSSIER_FORM):
        table = SQLModel.metadata.tables[light.name]  # defined by provisioning.models (imported above)
        for column in light.c:
            assert column.name in table.c, (light.name, column.name)
            # the type's family (String, Integer, JSON, DateTime …), whatever the model wraps it in
            assert column.type._type_affinity is table.c[column.name].type._type_affinity, (light.name, column.name)


def test_the_core_listing_reads_what_the_orm_reads(engine: sa.Engine) -> None:
    _seed(engine)
    with engine.connect() as conn:
        every = list_reviews(conn, status=None)
        open_ = list_reviews(conn)
        assert list_reviews(conn, status=None, org="0456789133") == []
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
