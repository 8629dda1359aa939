"""Four eyes on the review queue: approvals by distinct people, counted against the values they approved.

A form kind may need more than one approver (``[review] approvals_required``). Each approval is a
``review_approval`` row naming the person and the SHA-256 of the item's values *as approved* (the
values read, with every correction so far). The item takes effect — :func:`provisioning.review.approve`
— when the required number of distinct people have approved the same values.

Corrections between approvals: a correction that changes a value makes the earlier approvals stale
(they approved other values). They stay recorded and audited but no longer count, so the corrected
values need the full number of approvals again — the corrector's own approval counts as the first.
A correction that sets a value it already has changes nothing and keeps earlier approvals.
The same person approving the same values twice is refused (``review-same-approver``).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.errors import ReviewError
from extranet_intake.parsers.forms import FORMS, FormId
from extranet_intake.parsers.result import FieldValue
from extranet_intake.provisioning.apply import Clock
from extranet_intake.provisioning.models import ReviewApproval, ReviewItem
from extranet_intake.provisioning.plan import MailIntent
from extranet_intake.provisioning.review import approve, revalidate
from extranet_intake.provisioning.service import Decision

__all__ = ["ApprovalResult", "ApprovalView", "add_approval", "approvals_of", "values_digest"]


@dataclass(frozen=True)
class ApprovalView:
    approver: str
    approved_at: datetime
    counts: bool  # False: it approved values a later correction changed


@dataclass(frozen=True)
class ApprovalResult:
    """What one approval did: counted towards ``required``, and the decision once it took effect."""

    item_id: int
    approvals: int
    required: int
    approvers: tuple[str, ...]
    reset: int = 0  # earlier approvals this approval's correction made stale
    decision: Decision | None = None

    @property
    def took_effect(self) -> bool:
        return self.decision is not None

    @property
    def mails(self) -> tuple[MailIntent, ...]:
        """The decision's mails once it took effect; none while it waits for another person."""
        return self.decision.mails if self.decision is not None else ()

    def summary(self) -> str:
        return f"{self.approvals} of {self.required} approvals"


def values_digest(values: dict[str, Any]) -> str:
    """SHA-256 of the values as approved (sorted keys, canonical JSON)."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _current(item: ReviewItem) -> dict[str, Any]:
    return {**item.fields, **item.corrections}


def approvals_of(session: Session, item_id: int) -> list[ApprovalView]:
    """Every approval of an item, oldest first; ``counts`` tells whether it approved today's values."""
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise ReviewError("review-not-found", f"no review item {item_id}", item=item_id)
    digest = values_digest(_current(item))
    rows = session.exec(
        select(ReviewApproval).where(col(ReviewApproval.review_item_id) == item_id).order_by(col(ReviewApproval.id))
    )
    return [ApprovalView(r.approver, r.approved_at, r.values_sha256 == digest) for r in rows]


def add_approval(
    session: Session,
    item_id: int,
    *,
    by: str,
    clock: Clock,
    required: int,
    reason: str = "",
    corrections: dict[str, FieldValue] | None = None,
    rng: random.Random | None = None,
    signed: dict[str, str] | None = None,
) -> ApprovalResult:
    """Record ``by``'s approval (with optional corrections, validated again); take effect at ``required``.

    Raises :class:`ReviewError` and records nothing when the item is not open, a correction is
    invalid, or ``by`` already approved these values.
    """
    if not by.strip():
        raise ReviewError("review-reviewer-missing", "--by NAME is required", item=item_id)
    # concurrent approvers of one item queue here (row lock on PostgreSQL; SQLite writes are serial)
    session.execute(sa.select(col(ReviewItem.id)).where(col(ReviewItem.id) == item_id).with_for_update())
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise ReviewError("review-not-found", f"no review item {item_id}", item=item_id)
    if item.status != "open":
        raise ReviewError(
            "review-already-decided",
            f"review item {item_id} was already {item.status}",
            item=item_id,
            by=item.decided_by,
        )
    new = dict(corrections or {})
    allowed = FORMS[FormId(item.form_id)].field_names | {"contracts"} if item.form_id in set(FormId) else set()
    unknown = sorted(set(new) - allowed)
    if unknown:
        raise ReviewError("review-unknown-field", f"not a field of {item.form_id}: {', '.join(unknown)}", item=item_id)
    merged = {**item.corrections, **new}
    now = clock()
    _, errors, _ = revalidate(item.form_id, {**item.fields, **merged}, today=now.date())
    if errors:
        raise ReviewError("review-correction-invalid", "; ".join(f"{e.field}: {e.code}" for e in errors), item=item_id)
    before = values_digest(_current(item))
    digest = values_digest({**item.fields, **merged})
    earlier = list(
        session.exec(
            select(ReviewApproval).where(col(ReviewApproval.review_item_id) == item_id).order_by(col(ReviewApproval.id))
        )
    )
    counting = [a.approver for a in earlier if a.values_sha256 == digest]
    if by in counting:
        raise ReviewError(
            "review-same-approver",
            f"{by} already approved review item {item_id}: another person must approve it",
            item=item_id,
            by=by,
        )
    reset = sum(1 for a in earlier if a.values_sha256 == before) if digest != before else 0
    session.add(
        ReviewApproval(
            review_item_id=item_id,
            approver=by,
            approved_at=now,
            values_sha256=digest,
            corrections=new,
            reason=reason or None,
        )
    )
    approvers = (*counting, by)
    if len(approvers) >= required:
        decision = approve(
            session,
            item_id,
            by=by,
            clock=clock,
            reason=reason,
            corrections=merged,
            rng=rng,
            approvers=approvers,
            signed=signed,
        )
        return ApprovalResult(item_id, len(approvers), required, approvers, reset, decision)
    item.corrections = merged
    session.add(item)
    changed = sorted(k for k, v in new.items() if item.fields.get(k) != v)
    note = f"; corrected {', '.join(changed)}" if changed else ""
    note += f"; {reset} earlier approval(s) reset by the correction" if reset else ""
    append_entry(
        session,
        actor=by,
        action=AuditAction.REVIEW_APPROVAL_RECORDED,
        org=item.enterprise_number or None,
        login=None,
        document_sha256=item.document_sha256,
        reason=f"approval {len(approvers)} of {required} for {item.form_id}{note}",
        details={
            "item": item_id,
            "approvals": len(approvers),
            "required": required,
            "approvers": list(approvers),
            "values_sha256": digest,
            "reset": reset,
            "corrections": {
                k: {"read": item.fields.get(k), "set": v} for k, v in sorted(new.items()) if item.fields.get(k) != v
            },
            **(signed or {}),
        },
        at=now,
    )
    session.flush()
    return ApprovalResult(item_id, len(approvers), required, approvers, reset, None)
