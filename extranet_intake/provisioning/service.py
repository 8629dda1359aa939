"""Provisioning services: one document, one review decision or the daily expiry check → locked, planned, applied."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from extranet_intake.parsers.result import ParsedForm
from extranet_intake.provisioning.apply import Clock, apply_plan
from extranet_intake.provisioning.models import Account, AccountStatus, Organisation
from extranet_intake.provisioning.plan import MailIntent, Plan, PlanOutcome, Provenance
from extranet_intake.provisioning.rules import EXPIRY_WARNING_DAYS, enterprise_number_of, plan, plan_expiries
from extranet_intake.provisioning.state import load_state, lock_dossier

__all__ = ["SYSTEM_ACTOR", "Decision", "decide", "process_form", "run_expiries"]

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Decision:
    """What happened to one unit of work, and the mails the caller queues in the same transaction."""

    plan: Plan
    mails: tuple[MailIntent, ...]

    @property
    def outcome(self) -> PlanOutcome:
        return self.plan.outcome


def decide(
    session: Session, form: ParsedForm, provenance: Provenance, *, clock: Clock, approved_by: str | None = None
) -> Plan:
    """Lock the form's organisation and plan the form against its current state (nothing written but the lock).

    The organisation's row lock is held to the end of the caller's transaction, so the state the
    rules see is the state the plan is written over.
    """
    return _decide(session, session.connection(), form, provenance, clock=clock, approved_by=approved_by)


def _decide(
    session: Session,
    connection: Connection,
    form: ParsedForm,
    provenance: Provenance,
    *,
    clock: Clock,
    approved_by: str | None,
) -> Plan:
    now = clock()
    en = enterprise_number_of(form)
    org = lock_dossier(session, en, now=now, connection=connection) if en else None
    state = load_state(session, en, sha256=provenance.sha256, fields=dict(form.fields), org=org, connection=connection)
    return plan(state, form, provenance, today=now.date(), approved_by=approved_by)


def process_form(
    session: Session,
    form: ParsedForm,
    provenance: Provenance,
    *,
    clock: Clock,
    actor: str = SYSTEM_ACTOR,
    approved_by: str | None = None,
    rng: random.Random | None = None,
) -> Decision:
    """Plan and apply one document in the caller's transaction (the caller commits, then queues the mails
    it returns — in the same transaction, before committing, for the outbox)."""
    connection = session.connection()  # the transaction's one connection, asked once for the whole unit
    decided = _decide(session, connection, form, provenance, clock=clock, approved_by=approved_by)
    mails = apply_plan(session, decided, actor=actor, clock=clock, rng=rng, connection=connection)
    return Decision(decided, tuple(mails))


def run_expiries(
    session: Session, *, clock: Clock, warning_days: int = EXPIRY_WARNING_DAYS, actor: str = SYSTEM_ACTOR
) -> list[Decision]:
    """The daily check: revoke accounts past their end date, warn Master Users ``warning_days`` before.

    Each organisation is its own unit of work inside the caller's transaction: call it with a
    session and commit after (the plan keys make a second run the same day a no-op).
    """
    now = clock()
    orgs = session.exec(
        select(Account.enterprise_number)
        .where(col(Account.status) == AccountStatus.ACTIVE, col(Account.access_end_date).is_not(None))
        .distinct()
    ).all()
    decisions = []
    # All organisation locks first, in one order, before the first audit append takes the chain
    # head: a worker holding one organisation and waiting for the head can then never wait on us.
    for en in sorted(orgs):
        lock_dossier(session, en, now=now)
    for en in sorted(orgs):
        if session.get(Organisation, en) is None:  # pragma: no cover - accounts always have an org
            continue
        decided = plan_expiries(load_state(session, en), today=now.date(), warning_days=warning_days)
        mails = apply_plan(session, decided, actor=actor, clock=clock)
        if decided.outcome is not PlanOutcome.NOTHING:
            decisions.append(Decision(decided, tuple(mails)))
    return decisions
