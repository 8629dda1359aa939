"""What every source shares: originals → store files + document/arrival rows (stage 1), messages → forms (stage 2).

Stage 1, ``ingest_batch``, is what a poller runs while it drains a source: hash, write the bytes
(whole messages appended to the store's pack, one durability point per batch), add the document
and arrival rows in bulk. The caller adds its
own ledger rows to the same session and commits once: the bytes are on disk before that commit,
and the source item is moved only after it. A whole e-mail is stored as it came, *unexploded* —
no MIME parsing there, so the drain runs at the speed of the mailbox and the disk.

Stage 2, ``explode_messages``, first files the packed messages under their names
(``DocumentStore.unpack``), then reads each stored message not yet exploded: its envelope, the
Authentication-Results verdict of the trusted gateway, its form attachments (by content), which it
stores and records as arrivals of their own (with the message's SHA-256, sender and verdict), and
the message's coded outcome. A message is exploded exactly once: its attachments' rows and its
``exploded`` mark are committed together, after the attachment bytes are durable; a crash before
that commit only means the same work is done again (same names, same bytes). Each message is its
own unit of work — one unreadable message is recorded with its code and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from errors import StoreError
from intake.access_review import ReplyFacts, read_reply, recognise_reply
from intake.authres import evaluate
from intake.config import SourcesConfig, TrustConfig
from intake.mime import Extraction, MimeLimits, MimeOutcome, SkipReason, extract, sniff
from intake.store import (
    Arrival,
    Document,
    DocumentKind,
    DocumentStore,
    FileLedger,
    LedgerState,
    ParseState,
    existing_documents,
    insert_rows,
    known_messages,
    sha256_of,
)
from parsers.result import Channel
from provisioning.audit import AuditAction, append_entry

__all__ = [
    "Clock",
    "Incoming",
    "ItemResult",
    "PollError",
    "PollReport",
    "PollStep",
    "ProgressHook",
    "audit_refusals",
    "count",
    "explode_limits",
    "explode_messages",
    "ingest_batch",
    "ledger_row",
    "load_file_ledger",
    "mark_file_ledger",
    "write_file_ledger",
]

#: returns the current time, timezone-aware (UTC)
Clock = Callable[[], datetime]

MESSAGE_MEDIA = "message/rfc822"
#: a stored message's arrival outcome until stage 2 gives it its coded outcome
MESSAGE_PENDING = "pending"
#: stage 2 outcome of a message whose bytes cannot be read as a message at all
MESSAGE_UNREADABLE = "message-unreadable"


class PollStep(StrEnum):
    """Points of a poll a progress hook is told about (the crash tests kill the process at each)."""

    FETCHED = "fetched"      # bytes in memory, nothing written
    STORED = "stored"        # files in the store, rows not committed
    COMMITTED = "committed"  # ledger and arrivals committed, source item not moved yet
    MOVED = "moved"          # source item moved to Processed / archive
    # explode_messages (stage 2) tells STORED (attachment files durable, rows not committed) and
    # COMMITTED (attachments recorded, messages marked exploded) with the messages' SHA-256s.


#: told (step, keys) after each step of each batch; the crash tests kill the process from here
ProgressHook = Callable[["PollStep", Sequence[object]], None]


@dataclass(frozen=True)
class PollError:
    """One item a poll (or stage 2) could not take in: the reason catalogue's code, what happened, and
    which item it was (an IMAP UID, a ledger key, a dropped file, a stored message) and which attempt."""

    code: str
    message: str
    uid: int | None = None
    key: str | None = None
    file: str | None = None
    sha256: str | None = None
    attempt: int | None = None

    def as_dict(self) -> dict[str, str]:
        """As the run report and its failures write it: code, message and the item's names, as text."""
        where = {"uid": self.uid, "key": self.key, "file": self.file, "sha256": self.sha256,
                 "attempt": self.attempt}
        return {"code": self.code, "message": self.message} | {k: str(v) for k, v in where.items() if v is not None}


@dataclass
class PollReport:
    source: str
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    documents: int = 0
    no_form: int = 0
    moved: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0
    reconnects: int = 0
    uidvalidity_changed: bool = False
    errors: list[PollError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, code: str, message: str, *, uid: int | None = None, key: str | None = None,
              file: str | None = None, sha256: str | None = None, attempt: int | None = None) -> None:
        self.errors.append(PollError(code, message, uid=uid, key=key, file=file, sha256=sha256, attempt=attempt))

    def as_dict(self) -> dict[str, Any]:
        return ({k: getattr(self, k) for k in self.__dataclass_fields__ if k != "errors"}
                | {"errors": [e.as_dict() for e in self.errors], "ok": self.ok})


@dataclass(frozen=True)
class Incoming:
    """One original as a source hands it over."""

    key: str
    data: bytes
    #: the arrival's ``source`` column (unique with the content)
    source: str
    received_at: datetime
    #: a whole e-mail (read for attachments) or a file as dropped (a candidate form itself)
    is_message: bool = True
    filename: str = ""


@dataclass(frozen=True)
class ItemResult:
    key: str
    sha256: str | None
    #: MimeOutcome value for messages, ``stored`` for files, ``duplicate`` for bytes already in
    outcome: str
    error_code: str = ""
    error: str = ""
    new_documents: int = 0

    @property
    def ok(self) -> bool:
        return not self.error_code


#: parts a message carried that were refused (not merely "not a form": a text body, a logo)
_REFUSED_PARTS = frozenset({SkipReason.PART_TOO_LARGE, SkipReason.NESTING_TOO_DEEP, SkipReason.UNDECODABLE,
                            SkipReason.TOO_MANY_PARTS})


def _detail(ex: Extraction) -> str:
    return "\n".join(f"{s.filename or '-'}: {s.reason.value}" for s in ex.skipped)


def ingest_batch(session: Session, store: DocumentStore, items: Sequence[Incoming], *,
                 channel: Channel, limits: MimeLimits | None = None, trusted_ids: Sequence[str] = (),
                 clock: Clock) -> list[ItemResult]:
    """Stage 1: store the items' bytes and add their rows to ``session`` (not committed); one result per item.

    Messages are stored whole and left ``unexploded`` for ``explode_messages`` (``limits`` and
    ``trusted_ids`` are read there now; the parameters stay for callers of the one-stage API).
    """
    del limits, trusted_ids
    now = clock()
    results: dict[str, ItemResult] = {}
    prepared = [(item, sha256_of(item.data)) for item in items]
    # Identical bytes of a whole message are the same delivery seen again (a UIDVALIDITY reset, a
    # copy left behind by a crash): recorded once, the duplicate only acknowledged.
    already = known_messages(session, [sha for it, sha in prepared if it.is_message], channel=channel)
    todo: list[tuple[Incoming, str]] = []
    for item, sha in prepared:
        if item.is_message and sha in already:
            results[item.key] = ItemResult(item.key, sha, "duplicate")
        else:
            if item.is_message:
                already.add(sha)
            todo.append((item, sha))
    # Whole messages go to the store's pack (one durability point per batch; stage 2 files them),
    # dropped files straight under their names.
    messages = {sha: item.data for item, sha in todo if item.is_message}
    files = {sha: item.data for item, sha in todo if not item.is_message}
    failures = store.put_packed(messages) | store.put_many(files)
    for key, result in results.items():
        failed = failures.get(result.sha256 or "")
        if failed is not None:  # a copy within this batch, acknowledged only if its twin was stored
            results[key] = ItemResult(key, result.sha256, "error", failed.code, failed.message)
    rows = _Rows(known=existing_documents(session, [sha for _, sha in todo]), now=now)
    for item, sha in todo:
        failed = failures.get(sha)
        if failed is not None:
            results[item.key] = ItemResult(item.key, sha, "error", failed.code, failed.message)
            continue
        results[item.key] = rows.add(item, sha, channel=channel)
    # Driver bulk inserts: building ORM objects one by one cost more than the whole network fetch.
    insert_rows(session, _DOCUMENT, rows.documents)
    insert_rows(session, _ARRIVAL, rows.arrivals)
    return [results[item.key] for item in items]


class _Rows:
    def __init__(self, *, known: set[str], now: datetime) -> None:
        self.known = known
        self.now = now
        self.documents: list[dict[str, Any]] = []
        self.arrivals: list[dict[str, Any]] = []

    def document(self, sha: str, size: int, kind: DocumentKind, media: str) -> int:
        if sha in self.known:
            return 0
        self.known.add(sha)
        self.documents.append({
            "sha256": sha, "size": size, "kind": kind.value, "media_type": media, "first_seen_at": self.now,
            "parse_state": (ParseState.UNEXPLODED if kind is DocumentKind.MESSAGE else ParseState.PENDING).value,
            "parsed_at": None, "parse_outcome": None,
        })
        return 1 if kind is DocumentKind.FORM else 0

    def arrival(self, **values: Any) -> None:
        row = dict(_ARRIVAL_DEFAULTS)
        row.update(values)
        self.arrivals.append(row)

    def add(self, item: Incoming, sha: str, *, channel: Channel) -> ItemResult:
        if not item.is_message:  # a dropped file: the file is the candidate form (the parser rejects what is not one)
            kind = sniff(item.data)
            new = self.document(sha, len(item.data), DocumentKind.FORM,
                                kind.value if kind else "application/octet-stream")
            self.arrival(sha256=sha, channel=channel.value, source=item.source, filename=item.filename,
                         received_at=item.received_at, outcome="stored")
            return ItemResult(item.key, sha, "stored", new_documents=new)
        self.document(sha, len(item.data), DocumentKind.MESSAGE, MESSAGE_MEDIA)
        self.arrival(sha256=sha, channel=channel.value, source=item.source, filename=item.filename,
                     received_at=item.received_at, outcome=MESSAGE_PENDING)
        return ItemResult(item.key, sha, "stored")


_ARRIVAL_DEFAULTS: dict[str, Any] = {
    "filename": "", "sender": "", "message_id": "", "subject": "", "authentication_results": "",
    "auth_trusted": False, "auth_authserv_id": "", "dmarc": "absent", "dkim": "absent", "spf": "absent",
    "parent_sha256": None, "detail": "",
}


def count(report: PollReport, result: ItemResult) -> None:
    """Add one item's result to the report's counters."""
    if not result.ok:
        return
    if result.outcome == "duplicate":
        report.duplicates += 1
        return
    report.stored += 1
    report.documents += result.new_documents
    if result.outcome in (MimeOutcome.NO_FORM_ATTACHMENT.value, MimeOutcome.MESSAGE_TOO_LARGE.value):
        report.no_form += 1


def load_file_ledger(session: Session, source: str, keys: Iterable[str]) -> dict[str, FileLedger]:
    wanted = sorted(set(keys))
    found: dict[str, FileLedger] = {}
    for start in range(0, len(wanted), 500):
        for row in session.exec(select(FileLedger).where(col(FileLedger.source) == source,
                                                         col(FileLedger.key).in_(wanted[start:start + 500]))):
            found[row.key] = row
    return found


def audit_refusals(session: Session, rows: Iterable[dict[str, Any]], *,
                   source: Callable[[dict[str, Any]], str]) -> None:
    """An audit entry for every ledger row that gives up on its item (``failing``: too large, a link,
    failed N times…), in the caller's transaction: bad input is a coded rejection *and* an audit entry."""
    for row in rows:
        if row["state"] == LedgerState.FAILING.value:
            code, _, detail = str(row["last_error"]).partition(": ")
            append_entry(session, actor="system", action=AuditAction.DOCUMENT_REJECTED, org=None, login=None,
                         document_sha256=row.get("sha256"), reason=code or "failed",
                         details={"source": source(row), "detail": detail[:500], "attempts": row["attempts"]},
                         at=row["updated_at"])


def write_file_ledger(session: Session, source: str, rows: list[dict[str, Any]], *, existing: Iterable[str]) -> None:
    """Insert ledger rows for a batch (replacing rows of earlier failed attempts) and audit the items
    given up on; the caller commits."""
    audit_refusals(session, rows, source=lambda row: f"{source}:{row['key']}")
    again = sorted({r["key"] for r in rows} & set(existing))
    for start in range(0, len(again), 500):
        session.execute(delete(FileLedger).where(col(FileLedger.source) == source,
                                                 col(FileLedger.key).in_(again[start:start + 500])))
    if rows:
        session.execute(insert(FileLedger), [{"source": source, **r} for r in rows])


def mark_file_ledger(session: Session, source: str, keys: Sequence[str], state: LedgerState, now: datetime) -> None:
    for start in range(0, len(keys), 500):
        session.execute(update(FileLedger).where(col(FileLedger.source) == source,
                                                 col(FileLedger.key).in_(keys[start:start + 500]))
                        .values(state=state.value, updated_at=now))


def ledger_row(key: str, *, state: LedgerState, attempts: int, now: datetime, sha256: str | None = None,
               last_error: str = "") -> dict[str, Any]:
    return {"key": key, "state": state.value, "attempts": attempts, "last_error": last_error[:2000], "sha256": sha256,
            "updated_at": now}


_ARRIVAL: Table = Arrival.__table__  # type: ignore[attr-defined]
_DOCUMENT: Table = Document.__table__  # type: ignore[attr-defined]


def explode_limits(sources: SourcesConfig) -> MimeLimits:
    """The MIME caps stage 2 applies: the loosest of the enabled mail sources (each refused bigger
    messages already, unread, in stage 1)."""
    enabled = [c for c in (sources.imap, sources.maildir) if c.enabled] or [sources.imap, sources.maildir]
    return MimeLimits(max_message_bytes=max(c.max_message_bytes for c in enabled),
                      max_part_bytes=max(c.max_part_bytes for c in enabled))


@dataclass
class _Exploded:
    """One message read in stage 2, its rows not written yet."""

    sha256: str
    arrivals: list[Arrival]
    outcome: str
    extraction: Extraction | None = None
    error_code: str = ""
    error: str = ""
    #: what the message says about answering an access review mail (None: it answers nothing)
    reply: ReplyFacts | None = None


def explode_messages(session: Session, store: DocumentStore, *, trust: TrustConfig, limits: MimeLimits,
                     clock: Clock, chunk: int = 100, on_progress: ProgressHook | None = None) -> PollReport:
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
        query = (select(Arrival.sha256).join(Document, col(Document.sha256) == col(Arrival.sha256))
                 .where(col(Document.kind) == DocumentKind.MESSAGE.value,
                        col(Document.parse_state) == ParseState.UNEXPLODED.value,
                        col(Arrival.parent_sha256).is_(None))
                 .order_by(col(Arrival.received_at), col(Arrival.id)))
        shas = list(dict.fromkeys(sha for sha in session.exec(query) if sha not in skip))[:chunk]
        if not shas:
            return report
        report.seen += len(shas)
        try:
            _explode_chunk(session, store, shas, trust=trust, limits=limits, clock=clock, report=report,
                           skip=skip, hook=hook)
        except (StoreError, SQLAlchemyError) as exc:
            session.rollback()
            if len(shas) == 1:
                skip.add(shas[0])
                report.retrying += 1
                report.error(getattr(exc, "code", "explode-failed"), f"{type(exc).__name__}: {exc}"[:2000],
                             sha256=shas[0])
                continue
            for sha in shas:  # find the bad one: each message on its own
                try:
                    _explode_chunk(session, store, [sha], trust=trust, limits=limits, clock=clock,
                                   report=report, skip=skip, hook=hook)
                except (StoreError, SQLAlchemyError) as one:
                    session.rollback()
                    skip.add(sha)
                    report.retrying += 1
                    report.error(getattr(one, "code", "explode-failed"), f"{type(one).__name__}: {one}"[:2000],
                                 sha256=sha)


#: stored bytes that do not match their name: final (the message is rejected with this code); any
#: other store error (missing, an I/O error, packed messages that cannot be filed) may pass, and
#: leaves the message pending for the next run
_FINAL_STORE_ERRORS = frozenset({"document-corrupt"})


def _access_review_reply(session: Session, one: _Exploded, common: dict[str, Any], *, trust: TrustConfig,
                         now: datetime) -> None:
    """A reply to an access review mail is recorded as the organisation's answer (or refused) here,
    before the message's fate is decided; either way it then goes its usual way (to a person when it
    holds no form — its text may ask for more than a confirmation)."""
    if one.reply is None or not one.arrivals:
        return
    first = one.arrivals[0]
    arrival = Arrival(sha256=one.sha256, channel=first.channel, source=first.source, sender=common["sender"],
                      message_id=common["message_id"], auth_trusted=common["auth_trusted"], dmarc=common["dmarc"],
                      received_at=first.received_at, outcome=one.outcome)
    recognise_reply(session, one.reply, arrival=arrival, require_dmarc=trust.require_dmarc,
                    has_forms=one.outcome == MimeOutcome.FORMS.value, now=now)


def _read_one(store: DocumentStore, sha: str, arrivals: list[Arrival], limits: MimeLimits) -> _Exploded:
    try:
        data = store.open(sha)
    except StoreError as exc:
        if exc.code not in _FINAL_STORE_ERRORS:
            raise  # explode_messages leaves it for the next run, with the error in its report
        return _Exploded(sha, arrivals, exc.code, error_code=exc.code, error=exc.message)
    try:
        ex = extract(data, limits=limits)
    except Exception as exc:  # a hostile message must not stop the run
        return _Exploded(sha, arrivals, MESSAGE_UNREADABLE, error_code=MESSAGE_UNREADABLE,
                         error=f"{type(exc).__name__}: {exc}"[:2000])
    return _Exploded(sha, arrivals, ex.outcome.value, extraction=ex, reply=read_reply(data))


def _explode_chunk(session: Session, store: DocumentStore, shas: list[str], *, trust: TrustConfig,
                   limits: MimeLimits, clock: Clock, report: PollReport, skip: set[str],
                   hook: ProgressHook) -> None:
    now = clock()
    by_sha: dict[str, list[Arrival]] = {sha: [] for sha in shas}
    for arrival in session.exec(select(Arrival).where(col(Arrival.sha256).in_(shas),
                                                      col(Arrival.parent_sha256).is_(None))
                                .order_by(col(Arrival.received_at), col(Arrival.id))):
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
    done: list[_Exploded] = []
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
        env = ex.envelope if ex else None
        verdict = evaluate(env.authentication_results if env else (), trusted_ids=trust.trusted_authserv_ids,
                           sender=env.sender if env else "")
        common: dict[str, Any] = {
            "sender": env.sender[:320] if env else "", "message_id": env.message_id if env else "",
            "subject": env.subject if env else "",
            "authentication_results": "\n".join(env.authentication_results) if env else "",
            "auth_trusted": verdict.trusted, "auth_authserv_id": verdict.authserv_id,
            "dmarc": verdict.dmarc.value, "dkim": verdict.dkim.value, "spf": verdict.spf.value,
        }
        _access_review_reply(session, one, common, trust=trust, now=now)
        detail = _detail(ex) if ex else f"{one.error_code}: {one.error}"
        new = 0
        for message in one.arrivals:
            updates.append({"b_id": message.id, "outcome": one.outcome, "detail": detail, **common})
            seen: set[str] = set()
            for att in atts:
                att_sha = sha256_of(att.data)
                if att_sha in seen:  # the same file attached twice to one mail is one arrival
                    continue
                seen.add(att_sha)
                if att_sha not in known:
                    known.add(att_sha)
                    new += 1
                    documents.append({
                        "sha256": att_sha, "size": len(att.data), "kind": DocumentKind.FORM.value,
                        "media_type": att.sniffed.value, "first_seen_at": now,
                        "parse_state": ParseState.PENDING.value, "parsed_at": None, "parse_outcome": None})
                arrivals.append({**_ARRIVAL_DEFAULTS, **common, "sha256": att_sha, "channel": message.channel,
                                 "source": message.source, "filename": att.filename,
                                 "received_at": message.received_at, "parent_sha256": one.sha256,
                                 "outcome": "stored"})
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
        session.execute(update(_ARRIVAL).where(_ARRIVAL.c.id == bindparam("b_id"))
                        .values({k: bindparam(k) for k in updates[0] if k != "b_id"}), updates)
    for one in done:
        # Bad input is a coded rejection and an audit entry (docs/architecture.md, habit 5), in the same
        # commit: a message without a form, and a part refused beside the forms that were read (too large, too deep…).
        ex = one.extraction
        refused = [s for s in ex.skipped if s.reason in _REFUSED_PARTS] if ex else []
        if one.error_code or one.outcome != MimeOutcome.FORMS.value or refused:
            details: dict[str, Any] = {"sender": ex.envelope.sender if ex else "",
                                       "sources": [a.source for a in one.arrivals]}
            if ex and ex.skipped:
                details["skipped"] = [{"filename": s.filename, "type": s.declared_type[:100],
                                       "reason": s.reason.value, "size": s.size} for s in ex.skipped[:50]]
            reason = one.error_code or (one.outcome if one.outcome != MimeOutcome.FORMS.value
                                        else refused[0].reason.value)
            append_entry(session, actor="system", action=AuditAction.DOCUMENT_REJECTED, org=None, login=None,
                         document_sha256=one.sha256, reason=reason, details=details, at=now)
    if done:
        session.execute(update(_DOCUMENT).where(_DOCUMENT.c.sha256 == bindparam("b_sha"))
                        .values(parse_state=ParseState.NOT_APPLICABLE.value, parse_outcome=bindparam("b_outcome"),
                                parsed_at=now),
                        [{"b_sha": one.sha256, "b_outcome": one.outcome[:100]} for one in done])
    session.commit()
    hook(PollStep.COMMITTED, shas)
