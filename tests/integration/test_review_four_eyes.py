"""Four eyes on the review queue (SQLite and PostgreSQL): distinct approvers, corrections reset, all audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, AuditEntry, verify_chain
from extranet_intake.errors import ReviewError
from extranet_intake.provisioning.approvals import add_approval, approvals_of
from extranet_intake.provisioning.models import Organisation, OrgStatus, ReviewApproval, ReviewItem, ReviewStatus
from extranet_intake.provisioning.plan import PlanOutcome
from tests.fixtures.provisioning import EN, agr, clock, mu
from tests.integration.test_provisioning_flow import load_reference, receive


def _item(session: Session, sha: str | None) -> ReviewItem:
    return session.exec(select(ReviewItem).where(col(ReviewItem.document_sha256) == sha)).one()


def _actions(session: Session, action: AuditAction) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(col(AuditEntry.action) == action).order_by(col(AuditEntry.seq))))


def test_agreement_takes_effect_only_after_two_distinct_approvers(engine: sa.Engine, tmp_path: Path) -> None:
    load_reference(engine, tmp_path)
    a, m = agr(), mu()
    receive(engine, a)
    receive(engine, m)
    with Session(engine) as session:
        item = _item(session, a.sha256)
        first = add_approval(session, item.id or 0, by="An", clock=clock, required=2)
        session.commit()
        assert (first.approvals, first.required, first.took_effect) == (1, 2, False)
        assert first.summary() == "1 of 2 approvals"
        assert session.get(ReviewItem, item.id).status == ReviewStatus.OPEN  # type: ignore[union-attr]
        with pytest.raises(ReviewError) as same:
            add_approval(session, item.id or 0, by="An", clock=clock, required=2)
        assert same.value.code == "review-same-approver"
        session.rollback()
        second = add_approval(session, item.id or 0, by="Bert", clock=clock, required=2)
        session.commit()
        assert second.took_effect
        assert second.approvals == 2
        assert session.get(ReviewItem, item.id).status == ReviewStatus.APPROVED  # type: ignore[union-attr]
        (recorded,) = _actions(session, AuditAction.REVIEW_APPROVAL_RECORDED)
        assert recorded.actor == "An"
        assert "approval 1 of 2" in recorded.reason
        (approved,) = [e for e in _actions(session, AuditAction.REVIEW_APPROVED) if e.document_sha256 == a.sha256]
        assert approved.actor == "Bert"
        assert json.loads(approved.details)["approvers"] == ["An", "Bert"]
        assert [v.approver for v in approvals_of(session, item.id or 0)] == ["An", "Bert"]
        # the MU's designation also needs two: one approval leaves the organisation pending
        mu_item = _item(session, m.sha256)
        add_approval(session, mu_item.id or 0, by="An", clock=clock, required=2)
        session.commit()
        assert session.get(Organisation, EN).status == OrgStatus.PENDING  # type: ignore[union-attr]
        done = add_approval(session, mu_item.id or 0, by="Carla", clock=clock, required=2)
        session.commit()
        assert done.decision is not None
        assert done.decision.outcome is PlanOutcome.APPLIED
    with engine.connect() as conn:
        assert verify_chain(conn).ok


def test_a_correction_between_approvals_resets_the_earlier_ones(engine: sa.Engine, tmp_path: Path) -> None:
    load_reference(engine, tmp_path)
    a = agr()
    receive(engine, a)
    with Session(engine) as session:
        item_id = _item(session, a.sha256).id or 0
        add_approval(session, item_id, by="An", clock=clock, required=2)
        session.commit()
        with pytest.raises(ReviewError) as bad:
            add_approval(
                session,
                item_id,
                by="Bert",
                clock=clock,
                required=2,
                corrections={"notification_email": "not-an-address"},
            )
        assert bad.value.code == "review-correction-invalid"
        session.rollback()
        assert session.exec(select(ReviewApproval)).all()[-1].approver == "An"  # the refused one left nothing
        corrected = add_approval(session, item_id, by="Bert", clock=clock, required=2, corrections={"org_city": "Gent"})
        session.commit()
        # An approved other values: Bert's corrected values need a second person again
        assert (corrected.approvals, corrected.reset, corrected.took_effect) == (1, 1, False)
        assert [(v.approver, v.counts) for v in approvals_of(session, item_id)] == [("An", False), ("Bert", True)]
        assert _item(session, a.sha256).corrections == {"org_city": "Gent"}
        entry = _actions(session, AuditAction.REVIEW_APPROVAL_RECORDED)[-1]
        assert "reset" in entry.reason
        assert json.loads(entry.details)["corrections"]["org_city"]["set"] == "Gent"
        # An approves the corrected values: that is the second distinct approval of these values
        final = add_approval(session, item_id, by="An", clock=clock, required=2)
        session.commit()
        assert final.took_effect
        assert session.get(Organisation, EN).city == "Gent"  # type: ignore[union-attr]
        with pytest.raises(ReviewError) as done:
            add_approval(session, item_id, by="Carla", clock=clock, required=2)
        assert done.value.code == "review-already-decided"


def test_one_approval_suffices_where_one_is_required(engine: sa.Engine, tmp_path: Path) -> None:
    load_reference(engine, tmp_path)
    a = agr()
    receive(engine, a)
    with Session(engine) as session:
        result = add_approval(session, _item(session, a.sha256).id or 0, by="An", clock=clock, required=1)
        session.commit()
        assert result.took_effect
        assert result.summary() == "1 of 1 approvals"
        assert len(session.exec(select(ReviewApproval)).all()) == 1
