"""Stage 2: every stored message exploded into its form attachments, exactly once.

``explode_messages`` first files the packed messages under their names (``DocumentStore.unpack``),
then reads each stored message not yet exploded: its envelope, the Authentication-Results verdict
of the trusted gateway, its form attachments (by content), which it stores and records as arrivals
of their own (with the message's SHA-256, sender and verdict), and the message's coded outcome. A
message is exploded exactly once: its attachments' rows and its ``exploded`` mark are committed
together, after the attachment bytes are durable; a crash before that commit only means the same
work is done again (same names, same bytes). Each message is its own unit of work — one unreadable
message is recorded with its code and the others go on. Stage 1 (storing the messages whole) is
``intake.sources.ingest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.errors import StoreError
from extranet_intake.intake.access_review import ReplyFacts, read_reply, recognise_reply
from extranet_intake.intake.authres import evaluate
from extranet_intake.intake.config import SourcesConfig, TrustConfig
from extranet_intake.intake.mime import Attachment, Extraction, MimeLimits, MimeOutcome, SkipReason, extract
from extranet_intake.intake.sources.ingest import Clock, PollReport, PollStep, ProgressHook
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import (
    ARRIVAL_DEFAULTS,
    Arrival,
    Document,
    DocumentKind,
    ParseState,
    existing_documents,
)

__all__ = [
    "MESSAGE_UNREADABLE",
    "Exploded",
    "attachment_rows",
    "explode_limits",
    "explode_messages",
    "message_facts",
    "read_message",
]

#: stage 2 outcome of a message whose bytes cannot be read as a message at all
MESSAGE_UNREADABLE = "message-unreadable"

#: parts a message carried that were refused (not merely "not a form": a text body, a logo)
_REFUSED_PARTS = frozenset(
    {SkipReason.PART_TOO_LARGE, SkipReason.NESTING_TOO_DEEP, SkipReason.UNDECODABLE, SkipReason.TOO_MANY_PARTS}
)


def _detail(ex: Extraction) -> str:
    return "\n".join(f"{s.filename or '-'}: {s.reason.value}" for s in ex.skipped)


def explode_limits(sources: SourcesConfig) -> MimeLimits:
    """The MIME caps stage 2 applies: the loosest of the enabled mail sources (each refused bigger
    messages already, unread, in stage 1)."""
    enabled = [c for c in (sources.imap, sources.maildir) if c.enabled] or [sources.imap, sources.maildir]
    return MimeLimits(
        max_message_bytes=max(c.max_message_bytes for c in enabled),
        max_part_bytes=max(c.max_part_bytes for c in enabled),
    )


@dataclass
class Exploded:
    """One message read in stage 2, its rows not written yet."""

    sha256: str
    arrivals: list[Arrival]
    outcome: str
    extraction: Extraction | None = None
    error_code: str = ""
    error: str = ""
    #: what the message says about answering an access review mail (None: it answers nothing)
    reply: ReplyFacts | None = None


def explode_messages(
    session: Session,
    store: DocumentStore,
    *,
    trust: TrustConfig,
    limits: MimeLimits,
    clock: Clock,
    chunk: int = 100,
    on_progress: ProgressHook | None = None,
) -> PollReport:
    """Stage 2: extract the attachments of every stored message not exploded yet; returns what happened.

    Messages are taken ``chunk`` at a time, oldest first, and committed together (one durability
    point for their attachment files, one commit). A message that cannot be read as a message, or
    whose stored bytes no longer match their name, gets its coded outcome (``message-unreadable``,
    ``document-corrupt``…) and counts as exploded; one that cannot be read from the store for now
    (missing, an I/O error) or whose attachments cannot be written (a disk error) stays pending for
    the next run. If a chunk fails, its messages are retried one by one so only the bad one is left out.
    """
    report = PollReport(source="explode")
    hook = on_progress or (lambda step, keys: None)
    try:
        store.unpack()  # the messages the pollers packed, each under its own name
    except (StoreError, OSError) as exc:
        # Nothing lost (the packs stay); the messages still packed are read through ``open``.
        report.error(getattr(exc, "code", "unpack-failed"), f"{type(exc).__name__}: {exc}"[:2000])
    skip: set[str] = set()  # failed for a reason that may pass (disk): left for the next run
    while True:
        # In order of arrival, so attachments get their arrival rows in the order the mail came in.
        query = (
            select(Arrival.sha256)
            .join(Document, col(Document.sha256) == col(Arrival.sha256))
            .where(
                col(Document.kind) == DocumentKind.MESSAGE.value,
                col(Document.parse_state) == ParseState.UNEXPLODED.value,
                col(Arrival.parent_sha256).is_(None),
            )
            .order_by(col(Arrival.received_at), col(Arrival.id))
        )
        shas = list(dict.fromkeys(sha for sha in session.exec(query) if sha not in skip))[:chunk]
        if not shas:
            return report
        report.seen += len(shas)
        try:
            _explode_chunk(
                session, store, shas, trust=trust, limits=limits, clock=clock, report=report, skip=skip, hook=hook
            )
        except (StoreError, SQLAlchemyError) as exc:
            session.rollback()
            if len(shas) == 1:
                skip.add(shas[0])
                report.retrying += 1
                report.error(
                    getattr(exc, "code", "explode-failed"), f"{type(exc).__name__}: {exc}"[:2000], sha256=shas[0]
                )
                continue
            for sha in shas:  # find the bad one: each message on its own
                try:
                    _explode_chunk(
                        session,
                        store,
                        [sha],
                        trust=trust,
                        limits=limits,
                        clock=clock,
                        report=report,
                        skip=skip,
                        hook=hook,
                    )
                except (StoreError, SQLAlchemyError) as one:
                    session.rollback()
                    skip.add(sha)
                    report.retrying += 1
                    report.error(
                        getattr(one, "code", "explode-failed"), f"{type(one).__name__}: {one}"[:2000], sha256=sha
                    )


#: stored bytes that do not match their name: final (the message is rejected with this code); any
#: other store error (missing, an I/O error, packed messages that cannot be filed) may pass, and
#: leaves the message pending for the next run
_FINAL_STORE_ERRORS = frozenset({"document-corrupt"})


def _access_review_reply(
    session: Session, one: Exploded, common: dict[str, Any], *, trust: TrustConfig, now: datetime
) -> None:
    """A reply to an access review mail is recorded as the organisation's answer (or refused) here,
    before the message's fate is decided; either way it then goes its usual way (to a person when it
    holds no form — its text may ask for more than a confirmation)."""
    if one.reply is None or not one.arrivals:
        return
    first = one.arrivals[0]
    arrival = Arrival(
        sha256=one.sha256,
        channel=first.channel,
        source=first.source,
        sender=common["sender"],
        message_id=common["message_id"],
        auth_trusted=common["auth_trusted"],
        dmarc=common["dmarc"],
        received_at=first.received_at,
        outcome=one.outcome,
    )
    recognise_reply(
        session,
        one.reply,
        arrival=arrival,
        require_dmarc=trust.require_dmarc,
        has_forms=one.outcome == MimeOutcome.FORMS.value,
        now=now,
    )


def _read_one(store: DocumentStore, sha: str, arrivals: list[Arrival], limits: MimeLimits) -> Exploded:
    try:
        data = store.open(sha)
    except StoreError as exc:
        if exc.code not in _FINAL_STORE_ERRORS:
            raise  # explode_messages leaves it for the next run, with the error in its report
        return Exploded(sha, arrivals, exc.code, error_code=exc.code, error=exc.message)
    return read_message(sha, data, arrivals, limits=limits)


def read_message(sha: str, data: bytes, arrivals: list[Arrival], *, limits: MimeLimits) -> Exploded:
    """One stored message read as stage 2 reads it (its MIME limits), writing nothing: its attachments,
    or the code it is refused with (``message-unreadable``). Also what ``run --dry-run`` opens messages with."""
    try:
        ex = extract(data, limits=limits)
    except Exception as exc:  # a hostile message must not stop the run
        return Exploded(
            sha,
            arrivals,
            MESSAGE_UNREADABLE,
            error_code=MESSAGE_UNREADABLE,
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
    return Exploded(sha, arrivals, ex.outcome.value, extraction=ex, reply=read_reply(data))


def message_facts(one: Exploded, *, trust: TrustConfig) -> dict[str, Any]:
    """The envelope and the trusted gateway's verdict (Authentication-Results, DMARC) that stage 2 writes
    on the message's arrival and on each of its attachments' arrivals."""
    ex = one.extraction
    env = ex.envelope if ex else None
    verdict = evaluate(
        env.authentication_results if env else (),
        trusted_ids=trust.trusted_authserv_ids,
        sender=env.sender if env else "",
    )
    return {
        "sender": env.sender[:320] if env else "",
        "message_id": env.message_id if env else "",
        "subject": env.subject if env else "",
        "authentication_results": "\n".join(env.authentication_results) if env else "",
        "auth_trusted": verdict.trusted,
        "auth_authserv_id": verdict.authserv_id,
        "dmarc": verdict.dmarc.value,
        "dkim": verdict.dkim.value,
        "spf": verdict.spf.value,
    }


def attachment_rows(one: Exploded, message: Arrival, common: dict[str, Any]) -> list[tuple[Attachment, dict[str, Any]]]:
    """The attachments stage 2 records for one arrival of the message, each with its arrival row (the
    same file attached twice to one mail is one arrival)."""
    rows: list[tuple[Attachment, dict[str, Any]]] = []
    seen: set[str] = set()
    for att in one.extraction.attachments if one.extraction else ():
        att_sha = sha256_of(att.data)
        if att_sha in seen:
            continue
        seen.add(att_sha)
        rows.append(
            (
                att,
                {
                    **ARRIVAL_DEFAULTS,
                    **common,
                    "sha256": att_sha,
                    "channel": message.channel,
                    "source": message.source,
                    "filename": att.filename,
                    "received_at": message.received_at,
                    "parent_sha256": one.sha256,
                    "outcome": "stored",
                },
            )
        )
    return rows


def _explode_chunk(
    session: Session,
    store: DocumentStore,
    shas: list[str],
    *,
    trust: TrustConfig,
    limits: MimeLimits,
    clock: Clock,
    report: PollReport,
    skip: set[str],
    hook: ProgressHook,
) -> None:
    now = clock()
    by_sha: dict[str, list[Arrival]] = {sha: [] for sha in shas}
    for arrival in session.exec(
        select(Arrival)
        .where(col(Arrival.sha256).in_(shas), col(Arrival.parent_sha256).is_(None))
        .order_by(col(Arrival.received_at), col(Arrival.id))
    ):
        by_sha[arrival.sha256].append(arrival)
    read = [_read_one(store, sha, by_sha[sha], limits) for sha in shas]
    blobs: dict[str, bytes] = {}
    for one in read:
        for att in one.extraction.attachments if one.extraction else ():
            blobs.setdefault(sha256_of(att.data), att.data)
    failures = store.put_many(blobs)
    hook(PollStep.STORED, shas)
    known = existing_documents(session, blobs)
    documents: list[dict[str, Any]] = []
    arrivals: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    done: list[Exploded] = []
    for one in read:
        ex = one.extraction
        atts = ex.attachments if ex else ()
        failed = next((failures[s] for s in (sha256_of(a.data) for a in atts) if s in failures), None)
        if failed is not None:
            skip.add(one.sha256)
            report.retrying += 1
            report.error(failed.code, failed.message, sha256=one.sha256)
            continue
        done.append(one)
        common = message_facts(one, trust=trust)
        _access_review_reply(session, one, common, trust=trust, now=now)
        detail = _detail(ex) if ex else f"{one.error_code}: {one.error}"
        new = 0
        for message in one.arrivals:
            updates.append({"b_id": message.id, "outcome": one.outcome, "detail": detail, **common})
            for att, row in attachment_rows(one, message, common):
                att_sha = row["sha256"]
                if att_sha not in known:
                    known.add(att_sha)
                    new += 1
                    documents.append(
                        {
                            "sha256": att_sha,
                            "size": len(att.data),
                            "kind": DocumentKind.FORM.value,
                            "media_type": att.sniffed.value,
                            "first_seen_at": now,
                            "parse_state": ParseState.PENDING.value,
                            "parsed_at": None,
                            "parse_outcome": None,
                        }
                    )
                arrivals.append(row)
        report.stored += 1
        report.documents += new
        if one.error_code:
            report.failed += 1
            report.error(one.error_code, one.error, sha256=one.sha256)
        elif one.outcome in (MimeOutcome.NO_FORM_ATTACHMENT.value, MimeOutcome.MESSAGE_TOO_LARGE.value):
            report.no_form += 1
    if documents:
        session.execute(insert(Document), documents)
    if arrivals:
        session.execute(insert(Arrival), arrivals)
    # Core tables, not the ORM classes: an ORM update with a parameter list is a bulk update by
    # primary key, which would ignore these WHERE clauses.
    if updates:
        session.execute(
            update(_ARRIVAL)
            .where(_ARRIVAL.c.id == bindparam("b_id"))
            .values({k: bindparam(k) for k in updates[0] if k != "b_id"}),
            updates,
        )
    for one in done:
        # Bad input is a coded rejection and an audit entry (docs/architecture.md, habit 5), in the same
        # commit: a message without a form, and a part refused beside the forms that were read (too large, too deep…).
        ex = one.extraction
        refused = [s for s in ex.skipped if s.reason in _REFUSED_PARTS] if ex else []
        if one.error_code or one.outcome != MimeOutcome.FORMS.value or refused:
            details: dict[str, Any] = {
                "sender": ex.envelope.sender if ex else "",
                "sources": [a.source for a in one.arrivals],
            }
            if ex and ex.skipped:
                details["skipped"] = [
                    {"filename": s.filename, "type": s.declared_type[:100], "reason": s.reason.value, "size": s.size}
                    for s in ex.skipped[:50]
                ]
            reason = one.error_code or (
                one.outcome if one.outcome != MimeOutcome.FORMS.value else refused[0].reason.value
            )
            append_entry(
                session,
                actor="system",
                action=AuditAction.DOCUMENT_REJECTED,
                org=None,
                login=None,
                document_sha256=one.sha256,
                reason=reason,
                details=details,
                at=now,
            )
    if done:
        session.execute(
            update(_DOCUMENT)
            .where(_DOCUMENT.c.sha256 == bindparam("b_sha"))
            .values(parse_state=ParseState.NOT_APPLICABLE.value, parse_outcome=bindparam("b_outcome"), parsed_at=now),
            [{"b_sha": one.sha256, "b_outcome": one.outcome[:100]} for one in done],
        )
    session.commit()
    hook(PollStep.COMMITTED, shas)


_ARRIVAL: Table = Arrival.__table__  # type: ignore[attr-defined]
_DOCUMENT: Table = Document.__table__  # type: ignore[attr-defined]
