"""One unit of work per decision (intake/decisions.py): decided, its mails queued, committed, or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from extranet_intake.auditchain.chain import AuditEntry
from extranet_intake.intake.decisions import approve, commit_decision, reject
from extranet_intake.mailer.outbox import OutboxMessage
from extranet_intake.provisioning.approvals import add_approval
from extranet_intake.provisioning.models import ReviewItem
from extranet_intake.provisioning.plan import PlanOutcome
from tests.fixtures.provisioning import agr, clock, mu, usr
from tests.integration.test_provisioning_flow import approve_item, load_reference, receive


def _counts(engine: sa.Engine) -> tuple[int, int]:
    with Session(engine) as session:
        return (
            session.exec(select(func.count()).select_from(OutboxMessage)).one(),
            session.exec(select(func.count()).select_from(AuditEntry)).one(),
        )


def _item(engine: sa.Engine, sha: str | None) -> ReviewItem:
    with Session(engine) as session:
        return session.exec(select(ReviewItem).where(col(ReviewItem.document_sha256) == sha)).one()


def test_a_failure_after_the_mails_are_queued_leaves_nothing_of_the_decision(engine: sa.Engine, tmp_path: Path) -> None:
    load_reference(engine, tmp_path)
    agreement, form = agr(), mu()
    assert receive(engine, agreement).outcome is PlanOutcome.REVIEW
    assert receive(engine, form).outcome is PlanOutcome.REVIEW
    assert receive(engine, usr()).outcome is PlanOutcome.WAITING
    approve_item(engine, agreement.sha256)
    # approving the Master User opens the dossier: credentials and the organisation's notice
    item_id = _item(engine, form.sha256).id or 0
    before = _counts(engine)

    def boom(decided: object, queued: list[OutboxMessage]) -> None:
        assert queued  # the approval took effect and its mail is in the outbox, not yet committed
        raise RuntimeError("killed between queueing and committing")

    with Session(engine) as session, pytest.raises(RuntimeError):
        commit_decision(
            session,
            lambda: add_approval(session, item_id, by="Reviewer One", clock=clock, required=1),
            clock=clock,
            actor="Reviewer One",
            then=boom,
        )
    assert _counts(engine) == before  # no mail, no audit entry
    assert _item(engine, form.sha256).status == "open"

    with Session(engine) as session:
        result = approve(session, item_id, by="Reviewer One", clock=clock, required=1)
    assert result.took_effect
    assert result.mails
    outbox, audit = _counts(engine)
    assert outbox == before[0] + len(result.mails)  # committed with the decision, seen from another session
    assert audit > before[1]
    assert _item(engine, form.sha256).status == "approved"


def test_a_rejection_is_committed_with_its_mail_by_the_same_operation(engine: sa.Engine, tmp_path: Path) -> None:
    load_reference(engine, tmp_path)
    form = mu()
    assert receive(engine, form).outcome is PlanOutcome.REVIEW
    item_id = _item(engine, form.sha256).id or 0
    before = _counts(engine)
    with Session(engine) as session:
        decision = reject(session, item_id, by="Reviewer One", clock=clock, reason="signature-missing")
    assert _item(engine, form.sha256).status == "rejected"
    assert _counts(engine)[0] == before[0] + len(decision.mails)
