"""One unit of work per decision: decide, queue the mails the decision asks for, commit — or nothing at all.

Every decision of the product goes through :func:`commit_decision`: a document's plan (the daily
run), a reviewer's approval or rejection (the command line and the desk both call :func:`approve`
and :func:`reject` here, so they cannot disagree — docs/architecture.md, "Thin commands"), the
daily expiry check (:func:`expire`), the access review's requests and reminders, and the team's
notices to organisations.

Crash safety (docs/architecture.md, "Commit before side effects"): the decision's writes, its
audit entries, its queued mails (each with its own ``mail_queued`` entry) and whatever the caller
records with it (the run marks the document parsed) are one transaction, committed together, and
nothing is sent before that commit. A process killed before the commit leaves nothing of the
decision (the document stays pending, the item open, and the next attempt decides again); killed
after it, everything is there and the sender sends it. A plan key applies once and an idempotency
key queues a mail once, so deciding again after a crash changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlmodel import Session

from extranet_intake.intake.wiring import enqueue_mails
from extranet_intake.mailer.outbox import OutboxMessage
from extranet_intake.parsers.result import FieldValue
from extranet_intake.provisioning.apply import Clock
from extranet_intake.provisioning.approvals import ApprovalResult, add_approval
from extranet_intake.provisioning.plan import MailIntent
from extranet_intake.provisioning.policy import EXPIRY_WARNING_DAYS
from extranet_intake.provisioning.review import reject as reject_item
from extranet_intake.provisioning.service import SYSTEM_ACTOR, Decision, run_expiries

__all__ = ["Decided", "Mails", "approve", "commit_decision", "expire", "reject"]


class Decided(Protocol):
    """What a decision returns: at least the mails it asks for, in the order they are queued."""

    @property
    def mails(self) -> Sequence[MailIntent]: ...


D = TypeVar("D", bound=Decided)


@dataclass(frozen=True)
class Mails:
    """A decision that is only mails (a notice to organisations; several decisions committed as one)."""

    mails: tuple[MailIntent, ...]


def commit_decision(
    session: Session,
    decide: Callable[[], D],
    *,
    clock: Clock,
    actor: str = SYSTEM_ACTOR,
    then: Callable[[D, list[OutboxMessage]], object] | None = None,
) -> D:
    """Run ``decide`` in ``session``'s transaction, queue the mails it asks for, run ``then``, commit.

    ``then`` receives the decision and its outbox rows (in the order of its mails) and writes what
    belongs to the same unit of work. Any error rolls the whole unit back and is raised again: a
    decision is committed with its mails, or not at all.
    """
    try:
        decided = decide()
        queued = enqueue_mails(session, decided.mails, clock=clock, actor=actor)
        if then is not None:
            then(decided, queued)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return decided


def approve(
    session: Session,
    item_id: int,
    *,
    by: str,
    clock: Clock,
    required: int,
    reason: str = "",
    corrections: dict[str, FieldValue] | None = None,
    signed: dict[str, str] | None = None,
) -> ApprovalResult:
    """Record ``by``'s approval of a review item; once it takes effect, its mails are queued; committed."""
    return commit_decision(
        session,
        lambda: add_approval(
            session,
            item_id,
            by=by,
            clock=clock,
            required=required,
            reason=reason,
            corrections=corrections,
            signed=signed,
        ),
        clock=clock,
        actor=by,
    )


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
    """Reject a review item (a reason the organisation may read, an optional note); the Master User's mail
    is queued; committed."""
    return commit_decision(
        session,
        lambda: reject_item(
            session, item_id, by=by, clock=clock, reason=reason, note_nl=note_nl, note_fr=note_fr, signed=signed
        ),
        clock=clock,
        actor=by,
    )


def expire(session: Session, *, clock: Clock, warning_days: int = EXPIRY_WARNING_DAYS) -> list[Decision]:
    """The daily expiry check: every organisation's decision and mails, committed together (every lock
    is taken first, in one order: :func:`provisioning.service.run_expiries`)."""
    decisions: list[Decision] = []

    def decide() -> Mails:
        decisions.extend(run_expiries(session, clock=clock, warning_days=warning_days))
        return Mails(tuple(m for d in decisions for m in d.mails))

    commit_decision(session, decide, clock=clock)
    return decisions
