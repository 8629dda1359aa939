"""A digitally signed agreement through review (SQLite and PostgreSQL): reasons, the reviewer's view, the audit."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, AuditEntry, verify_chain
from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers.result import ParsedForm
from extranet_intake.parsers.signatures import check_signatures
from extranet_intake.provisioning.models import DossierForm, ReviewItem
from extranet_intake.provisioning.plan import PlanOutcome
from extranet_intake.provisioning.review import approve, show_review
from extranet_intake.provisioning.service import process_form
from tests.fixtures.forms import valid_values
from tests.fixtures.pki import Pki, change_field_revision, sign_pdf
from tests.fixtures.provisioning import agr, clock, prov

REVIEWER = "An Reviewer"


def _signed_agreement(pki: Pki) -> ParsedForm:
    """The provisioning fixture's agreement with the verdicts and warnings a real signed, altered PDF gets."""
    pdf = render_form("EAP-AGR", "nl", valid_values("EAP-AGR", signatory_name="Piet Acme"))
    signed = change_field_revision(sign_pdf(pdf, pki.person("Marie Dupont")), "org_name", "Acme NV")
    verdicts = check_signatures(signed, [pki.root.pem], expected_name="Piet Acme")
    form = agr()
    return dataclasses.replace(form, signatures=verdicts, warnings=tuple(p for v in verdicts for p in v.problems))


def _entries(session: Session, action: AuditAction) -> list[dict[str, object]]:
    rows = session.exec(select(AuditEntry).where(col(AuditEntry.action) == str(action))).all()
    return [json.loads(r.details) for r in rows]


def test_signature_problems_are_review_reasons_in_the_view_and_the_approval_audit(
    engine: sa.Engine, pki: Pki, tmp_path: Path
) -> None:
    form = _signed_agreement(pki)
    with Session(engine) as session:
        decision = process_form(session, form, prov(form), clock=clock)
        session.commit()
    assert decision.outcome is PlanOutcome.REVIEW
    assert decision.plan.reasons == (
        "signature-modified-after-signing",
        "signature-name-mismatch",
        "human-approval-required",
    )

    with Session(engine) as session:
        item = session.exec(select(ReviewItem)).one()
        assert item.reasons == list(decision.plan.reasons)
        view = show_review(session, item.id or 0)
        (verdict,) = view.signatures
        assert verdict["signer"] == "Marie Dupont"
        assert verdict["trusted"] is True
        assert verdict["name_matches"] is False
        assert verdict["changed_fields"] == [
            {"field": "org_name", "signed": "Brasserie Dupont & Fils SRL", "read": "Acme NV"}
        ]
        # the reviewer reads why in words
        messages = {w["code"]: w["message"] for w in view.warnings}
        assert "'Brasserie Dupont & Fils SRL'" in messages["signature-modified-after-signing"]
        assert "'Piet Acme'" in messages["signature-name-mismatch"]
        (queued,) = _entries(session, AuditAction.REVIEW_QUEUED)
        assert queued["signatures"] == view.signatures

        approve(session, item.id or 0, by=REVIEWER, clock=clock, reason="signer is a director, checked")
        session.commit()
        (approved,) = _entries(session, AuditAction.REVIEW_APPROVED)
        assert approved["signatures"] == view.signatures
        assert session.get(DossierForm, form.sha256).signatures == view.signatures  # type: ignore[union-attr]
    with engine.connect() as conn:
        assert verify_chain(conn).ok


def test_unsigned_agreement_review_is_as_before(engine: sa.Engine) -> None:
    form = agr()
    with Session(engine) as session:
        decision = process_form(session, form, prov(form), clock=clock)
        session.commit()
        assert decision.plan.reasons == ("human-approval-required",)
        item = session.exec(select(ReviewItem)).one()
        assert show_review(session, item.id or 0).signatures == []
        approve(session, item.id or 0, by=REVIEWER, clock=clock)
        session.commit()
        (approved,) = _entries(session, AuditAction.REVIEW_APPROVED)
        assert "signatures" not in approved
