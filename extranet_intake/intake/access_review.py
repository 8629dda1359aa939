"""The access review's operations for the command line, the daily run and a web page, and reading a reply.

Confirmation (docs/rules.md "Access review"): a reply mail that (1) names one of the campaign's
Message-IDs for the organisation in In-Reply-To/References, (2) carries that organisation's code
(``RV-XXXX-XXXX``) in its subject or text, and (3) passes the very trust rule of a user fiche — the
sender is the current Master User's address and the trusted gateway says DMARC pass for it
(``intake.pipeline.provenance_of`` + ``provisioning.rules.rule_master_user_authority``). A reply
carrying user fiches counts as "changes announced"; the fiches themselves go through the usual rules.
"""

from __future__ import annotations

import email
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.policy import compat32
from typing import Any

from sqlmodel import Session

from extranet_intake.intake.config import Config
from extranet_intake.intake.decisions import commit_decision
from extranet_intake.intake.store_tables import Arrival
from extranet_intake.mailer.outbox import OutboxMessage, OutboxStatus
from extranet_intake.provisioning.access_review import (
    ReviewOrg,
    campaign_of_reply,
    new_review_code,
    record_answer,
    record_refusal,
    review_status,
    start_campaign,
    tick,
)
from extranet_intake.provisioning.plan import MailIntent
from extranet_intake.provisioning.rules import rule_master_user_authority
from extranet_intake.provisioning.state import load_state

__all__ = ["ReplyFacts", "daily_review", "read_reply", "recognise_reply", "start_review", "status"]

Clock = Callable[[], datetime]

_CODE = re.compile(r"\bRV-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}\b", re.I)
_MSGID = re.compile(r"<[^<>\s]{1,250}>")
#: only the start of a reply's text is searched: the code is near the top or in the quoted request
_MAX_TEXT = 64 * 1024


@dataclass(frozen=True)
class ReplyFacts:
    """What a message says about being a reply to a campaign mail (nothing here is trusted yet)."""

    references: tuple[str, ...]
    codes: tuple[str, ...]


def read_reply(raw: bytes) -> ReplyFacts | None:
    """The Message-IDs a message answers and the review codes it carries; None when it answers nothing."""
    head = re.split(rb"\r?\n\r?\n", raw[: 256 * 1024], maxsplit=1)[0]
    if not re.search(rb"^(in-reply-to|references)\s*:", head, re.I | re.M) and not re.search(rb"RV-", raw, re.I):
        return None  # neither a reply nor a code in sight: the common case costs two regular expressions
    msg = email.message_from_bytes(raw, policy=compat32)
    refs: list[str] = []
    for name in ("In-Reply-To", "References"):
        for value in msg.get_all(name) or []:
            refs.extend(_MSGID.findall(str(value)))
    text = [str(msg.get("Subject", ""))]
    size = 0
    for part in msg.walk():
        if part.get_content_type() != "text/plain" or size > _MAX_TEXT:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            chunk = payload[:_MAX_TEXT].decode(part.get_content_charset() or "utf-8", "replace")
            size += len(chunk)
            text.append(chunk)
    codes = tuple(dict.fromkeys(c.upper() for c in _CODE.findall("\n".join(text))))
    return ReplyFacts(tuple(dict.fromkeys(refs)), codes) if refs or codes else None


def recognise_reply(
    session: Session, facts: ReplyFacts, *, arrival: Arrival, require_dmarc: bool, has_forms: bool, now: datetime
) -> str | None:
    """Record a reply to a campaign mail: ``confirmed``/``changes_announced``, or a refusal code; None if unrelated.

    Refusal codes: ``review-reply-incomplete`` (it answers a campaign mail but lacks its code, or the
    other way round), ``review-reply-code-mismatch`` (the code is another organisation's or campaign's),
    and the user fiche's own trust reasons ``not-mailed-by-master-user``, ``sender-not-authenticated``,
    ``sender-not-master-user``. A refused reply changes no state; it still reaches a person as any
    mail does.
    """
    from extranet_intake.intake.pipeline import (
        arrival_provenance,  # the pipeline imports intake.sources, which calls us
    )

    by_ref, by_code = campaign_of_reply(session, references=facts.references, codes=facts.codes)
    if by_ref is None and by_code is None:
        return None
    sender = arrival.sender or ""
    message_id = arrival.message_id or ""
    row: ReviewOrg | None = by_ref or by_code
    if by_ref is None or by_code is None:
        record_refusal(
            session,
            now=now,
            code="review-reply-incomplete",
            sender=sender,
            message_id=message_id,
            row=row,
            detail="a confirmation must answer the campaign's mail and carry its code",
        )
        return "review-reply-incomplete"
    if by_ref.id != by_code.id:
        record_refusal(
            session,
            now=now,
            code="review-reply-code-mismatch",
            sender=sender,
            message_id=message_id,
            row=by_ref,
            detail=f"the code {by_code.code} belongs to another organisation or campaign",
        )
        return "review-reply-code-mismatch"
    provenance = arrival_provenance(arrival, sha256=arrival.sha256, require_dmarc=require_dmarc)
    reason = rule_master_user_authority(load_state(session, by_ref.enterprise_number), provenance)
    if reason is not None:
        record_refusal(
            session,
            now=now,
            code=reason,
            sender=sender,
            message_id=message_id,
            row=by_ref,
            detail="the reply does not come, authenticated, from the current Master User's address",
        )
        return reason
    record_answer(session, by_ref, now=now, sender=sender, message_id=message_id, changes=has_forms)
    return by_ref.state


def _name_messages(
    session: Session, requests: Sequence[tuple[ReviewOrg, MailIntent]], queued: Sequence[OutboxMessage], *, cfg: Config
) -> None:
    """Fix each queued campaign mail's Message-ID now, with its decision: a reply is recognised by naming it."""
    domain = cfg.mail.from_address.rpartition("@")[2] or "localhost"
    for (row, _), out in zip(requests, queued, strict=True):
        if out.status != OutboxStatus.QUEUED.value:
            continue  # refused (no usable Master User address): audited by the outbox, nothing to answer
        if not out.message_id:
            out.message_id = (
                f"<access-review.{row.campaign_id}.{row.enterprise_number}.{secrets.token_hex(6)}@{domain}>"
            )
            session.add(out)
        if out.message_id not in row.message_ids:
            row.message_ids = [*row.message_ids, out.message_id]
            session.add(row)


def start_review(
    session: Session,
    *,
    cfg: Config,
    clock: Clock,
    actor: str,
    due: date | None = None,
    org: str | None = None,
    new_code: Callable[[], str] = new_review_code,
) -> dict[str, Any]:
    """``review-access start``: a campaign, its rows, audit entries and mails — one unit of work, committed."""
    now = clock()
    due = due or now.date() + timedelta(days=cfg.access_review.due_days)
    started = commit_decision(
        session,
        lambda: start_campaign(session, now=now, actor=actor, due=due, org=org, new_code=new_code),
        clock=clock,
        then=lambda s, queued: _name_messages(session, s.requests, queued, cfg=cfg),
    )
    return {
        "campaign": started.campaign.id,
        "due_date": due.isoformat(),
        "sent": [r.enterprise_number for r, _ in started.requests],
        "skipped": started.skipped,
    }


def daily_review(session: Session, *, cfg: Config, clock: Clock) -> dict[str, Any]:
    """The daily run's step: reminders queued and organisations past their due date suspended (configured)
    — one unit of work, committed — then those past their due date reported."""
    done = commit_decision(
        session,
        lambda: tick(
            session,
            now=clock(),
            reminder_days=cfg.access_review.reminder_days,
            suspend_overdue=cfg.access_review.suspend_overdue,
        ),
        clock=clock,
        then=lambda t, queued: _name_messages(session, t.reminders, queued, cfg=cfg),
    )
    return {
        "reminders": [r.enterprise_number for r, _ in done.reminders],
        "newly_overdue": done.newly_overdue,
        "suspended": done.suspended,
        "overdue": review_status(session)["overdue"],
    }


def status(session: Session, *, campaign: int | None = None) -> dict[str, Any]:
    """``review-access status`` and the web page: campaigns, each organisation's state, the overdue ones."""
    return review_status(session, campaign=campaign)
