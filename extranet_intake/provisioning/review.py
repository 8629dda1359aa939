"""The review queue: forms a person approves (corrections validated again) or rejects; every decision audited."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from extranet_intake.errors import ReviewError
from extranet_intake.provisioning.models import DossierForm, FormStatus, ReviewItem, ReviewStatus
from extranet_intake.provisioning.review_list import ReviewView, list_reviews
from extranet_intake.reasons import lookup

if TYPE_CHECKING:
    from extranet_intake.parsers.result import FieldValue, Issue
    from extranet_intake.provisioning.apply import Clock
    from extranet_intake.provisioning.plan import DossierState, Plan
    from extranet_intake.provisioning.service import Decision

# Showing the queue needs only the tables: the validator, the rules and the apply machinery are imported
# by the functions that decide. Listing it (and ReviewView) lives in provisioning.review_list, in SQLAlchemy
# Core: `review list` imports neither SQLModel nor these models (docs/operations.md, "Start-up time").

__all__ = ["ReviewView", "approve", "list_reviews", "parse_corrections", "reject", "revalidate", "show_review"]


def _view(item: ReviewItem, doc: DossierForm | None, *, full: bool) -> ReviewView:

    return ReviewView(
        id=item.id or 0,
        status=str(item.status),
        form_id=item.form_id,
        enterprise_number=item.enterprise_number,
        reasons=list(item.reasons),
        created_at=item.created_at,
        document_sha256=item.document_sha256,
        channel=doc.channel if doc else "",
        sender=doc.sender if doc else None,
        fields=dict(item.fields) if full else {},
        errors=list(item.errors) if full else [],
        warnings=list(doc.warnings) if full and doc else [],
        signatures=list(doc.signatures) if full and doc else [],
        decided_by=item.decided_by,
        decided_at=item.decided_at if item.decided_at else None,
        decision_reason=item.decision_reason,
        corrections=dict(item.corrections) if full else {},
    )


def show_review(session: Session, item_id: int) -> ReviewView:
    item = _item(session, item_id)
    return _view(item, session.get(DossierForm, item.document_sha256), full=True)


def parse_corrections(pairs: list[str]) -> dict[str, FieldValue]:
    """``field=value`` pairs from the command line; ``contracts=A,B`` is a list."""
    out: dict[str, FieldValue] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ReviewError("review-correction-syntax", f"expected field=value, got {pair!r}")
        out[name] = [v.strip() for v in value.split(",") if v.strip()] if name == "contracts" else value
    return out


def revalidate(
    form_id: str, fields: dict[str, FieldValue], *, today: date
) -> tuple[dict[str, FieldValue], list[Issue], list[Issue]]:
    """The parsers' own validator on corrected values: the one place the review queue calls it."""
    from extranet_intake.parsers.validate import validate

    return validate(form_id, fields, today=today)


def approve(
    session: Session,
    item_id: int,
    *,
    by: str,
    clock: Clock,
    reason: str = "",
    corrections: dict[str, FieldValue] | None = None,
    rng: random.Random | None = None,
    approvers: tuple[str, ...] = (),
    signed: dict[str, str] | None = None,
) -> Decision:
    """Approve a queued form (after corrections, validated again) and let it take effect.

    This is the approval that takes effect; four eyes (several distinct approvers) is
    :func:`provisioning.approvals.add_approval`, which calls this with every ``approvers`` name.

    Raises :class:`ReviewError` — and changes nothing — when a corrected value is invalid or the
    dossier rules refuse the form (the reviewer may correct and try again, or reject it).
    """
    from extranet_intake.parsers.forms import FORMS, FormId
    from extranet_intake.parsers.result import ParsedForm, SignatureVerdict
    from extranet_intake.provisioning.apply import apply_plan
    from extranet_intake.provisioning.plan import PlanOutcome
    from extranet_intake.provisioning.rules import OCR_LOW_CONFIDENCE_CODES
    from extranet_intake.provisioning.service import Decision, decide
    from extranet_intake.provisioning.state import stored_provenance

    item, doc = _open_item(session, item_id, by)
    corrections = dict(corrections or {})
    allowed = FORMS[FormId(item.form_id)].field_names | {"contracts"} if item.form_id in set(FormId) else set()
    unknown = sorted(set(corrections) - allowed)
    if unknown:
        raise ReviewError("review-unknown-field", f"not a field of {item.form_id}: {', '.join(unknown)}", item=item_id)
    now = clock()
    fields, errors, warnings = revalidate(item.form_id, {**item.fields, **corrections}, today=now.date())
    if errors:
        raise ReviewError("review-correction-invalid", "; ".join(f"{e.field}: {e.code}" for e in errors), item=item_id)
    # the reviewer has confirmed the values read from the scan
    kept = tuple(w for w in warnings if w.code not in OCR_LOW_CONFIDENCE_CODES)
    form = ParsedForm(
        form_id=item.form_id,
        version=None,
        language=None,
        method=None,
        fields=fields,
        warnings=kept,
        sha256=item.document_sha256,
        # the approval's audit entry keeps what the signatures were found to be
        signatures=tuple(SignatureVerdict.from_dict(d) for d in doc.signatures),
    )
    decided = _signed(
        _with_corrections(
            decide(session, form, stored_provenance(doc), clock=clock, approved_by=by),
            item,
            corrections,
            fields,
            approvers,
        ),
        signed,
    )
    if decided.outcome in (PlanOutcome.REJECTED, PlanOutcome.REVIEW):
        raise ReviewError(
            "review-rules-refused", "the dossier rules refuse this form: " + ", ".join(decided.reasons), item=item_id
        )
    mails = apply_plan(session, decided, actor=by, clock=clock, rng=rng)
    item.status, item.decided_by, item.decided_at = ReviewStatus.APPROVED, by, now
    item.enterprise_number = decided.enterprise_number or item.enterprise_number  # may have been corrected
    item.decision_reason, item.corrections = reason or None, dict(corrections)
    session.add(item)
    session.flush()
    return Decision(decided, tuple(mails))


def _with_corrections(
    decided: Plan,
    item: ReviewItem,
    corrections: dict[str, FieldValue],
    fields: dict[str, FieldValue],
    approvers: tuple[str, ...] = (),
) -> Plan:
    """The approval's audit entry names every value the reviewer changed, as read and as set: the
    chain shows where an account's data (its credentials address above all) is not the document's.

    "As read" is the item's field, or — for a value the validator refused, which is therefore not
    among the fields — the text its error carries. A contract box (``contract_3``) is a change of
    the ``contracts`` list. "As set" is the value as it takes effect (validated, normalised). With four
    eyes it also names every person whose approval counted.
    """
    from extranet_intake.auditchain.chain import AuditAction
    from extranet_intake.parsers.forms import CONTRACT_FIELDS

    read = _as_read(item)
    changed: dict[str, dict[str, Any]] = {}
    for name in sorted(corrections):
        key = "contracts" if name == "contracts" or name in CONTRACT_FIELDS else name
        was, now = read.get(key), fields.get(key, corrections[name])
        if was != now and key not in changed:
            changed[key] = {"read": was, "set": now}
    if not changed and len(approvers) < 2:
        return decided
    note = f" (corrected: {', '.join(changed)})" if changed else ""
    extra: dict[str, Any] = {"corrections": changed} if changed else {}
    if len(approvers) >= 2:
        note += f" (approved by {', '.join(approvers)})"
        extra["approvers"] = list(approvers)
    audit = tuple(
        replace(entry, reason=entry.reason + note, details={**entry.details, **extra})
        if entry.action is AuditAction.REVIEW_APPROVED
        else entry
        for entry in decided.audit
    )
    return replace(decided, audit=audit)


def _as_read(item: ReviewItem) -> dict[str, Any]:
    read: dict[str, Any] = {
        e["field"]: e["read"]
        for e in item.errors
        if isinstance(e, dict) and e.get("field") and e.get("read") is not None
    }
    return {**read, **item.fields}


def _signed(decided: Plan, signed: dict[str, str] | None) -> Plan:
    """The decision's audit entry also names how it was signed (e.g. the operating-system user of a CLI
    decision beside ``--by``), so a name typed on a shared account can be traced to a login."""
    from extranet_intake.auditchain.chain import AuditAction

    if not signed:
        return decided
    audit = tuple(
        replace(entry, details={**entry.details, **signed})
        if entry.action in (AuditAction.REVIEW_APPROVED, AuditAction.REVIEW_REJECTED)
        else entry
        for entry in decided.audit
    )
    return replace(decided, audit=audit)


def reject(
    session: Session,
    item_id: int,
    *,
    by: str,
    clock: Clock,
    reason: str,
    note_nl: str = "",
    note_fr: str = "",
    signed: dict[str, str] | None = None,
) -> Decision:
    """Reject a queued form: it never provisions; the decision is audited and the Master User told why.

    ``reason`` is a code of the reason catalogue an organisation may read (:func:`reasons.organisation_codes`);
    the optional free note goes to the organisation as written, so it must be given in the language
    its Master User reads (both, while that language is not known). The command line and the web
    application both call this one function.
    """
    from extranet_intake.provisioning.apply import apply_plan
    from extranet_intake.provisioning.rules import fiche_of, plan_review_rejection
    from extranet_intake.provisioning.service import Decision
    from extranet_intake.provisioning.state import load_state, lock_dossier, stored_provenance

    item, doc = _open_item(session, item_id, by)
    code = reason.strip()
    if not code:
        raise ReviewError(
            "review-reason-missing", "a rejection needs --reason CODE from the reason catalogue", item=item_id
        )
    entry = lookup(code)
    if entry is None or not entry.for_organisation:
        raise ReviewError(
            "review-reason-unknown",
            f"{code!r} is not a reason the organisation may be given; see `review reasons`",
            item=item_id,
        )
    now = clock()
    if item.enterprise_number:
        lock_dossier(session, item.enterprise_number, now=now)
    state = load_state(session, item.enterprise_number)
    note = _note(state, item_id, nl=note_nl, fr=note_fr)
    decided = _signed(
        plan_review_rejection(
            state,
            sha256=item.document_sha256,
            form_id=item.form_id,
            reviewer=by,
            reason=code,
            received=doc.received_at.date(),
            note=note,
            fiche=fiche_of(item.form_id, dict(item.fields), stored_provenance(doc)),
        ),
        signed,
    )
    mails = apply_plan(session, decided, actor=by, clock=clock)
    doc.status, doc.reason, doc.decided_at = FormStatus.REJECTED, f"rejected-by-reviewer: {code}", now
    item.status, item.decided_by, item.decided_at, item.decision_reason = ReviewStatus.REJECTED, by, now, code
    session.add(doc)
    session.add(item)
    session.flush()
    return Decision(decided, tuple(mails))


def _note(state: DossierState, item_id: int, *, nl: str, fr: str) -> dict[str, str]:
    """The reviewer's free note, in the organisation's language (refused when that one is missing)."""
    note = {lang: text.strip() for lang, text in (("nl", nl), ("fr", fr)) if text.strip()}
    if not note:
        return {}
    reader = state.master_user.language if state.master_user else state.correspondence_language
    needed = [reader] if reader in ("nl", "fr") else ["nl", "fr"]
    missing = [lang for lang in needed if lang not in note]
    if missing:
        raise ReviewError(
            "review-note-language-missing",
            "the note to the organisation must be given in " + " and ".join(f"--note-{lang}" for lang in missing),
            item=item_id,
        )
    return note


def _item(session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise ReviewError("review-not-found", f"no review item {item_id}", item=item_id)
    return item


def _open_item(session: Session, item_id: int, by: str) -> tuple[ReviewItem, DossierForm]:
    if not by.strip():
        raise ReviewError("review-reviewer-missing", "--by NAME is required", item=item_id)
    item = _item(session, item_id)
    if item.status != ReviewStatus.OPEN:
        raise ReviewError(
            "review-already-decided",
            f"review item {item_id} was already {item.status}",
            item=item_id,
            by=item.decided_by,
        )
    doc = session.get(DossierForm, item.document_sha256)
    if doc is None:  # pragma: no cover - the foreign key guarantees it
        raise ReviewError("review-document-missing", "the queued document is gone", item=item_id)
    return item, doc
