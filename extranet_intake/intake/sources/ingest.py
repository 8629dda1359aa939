"""Stage 1, what every source shares: originals → store files + document/arrival rows.

``ingest_batch`` is what a poller runs while it drains a source: hash, write the bytes (whole
messages appended to the store's pack, one durability point per batch), add the document and
arrival rows in bulk. The caller adds its own ledger rows to the same session and commits once: the
bytes are on disk before that commit, and the source item is moved only after it. A whole e-mail is
stored as it came, *unexploded* — no MIME parsing there, so the drain runs at the speed of the
mailbox and the disk; stage 2 (``intake.explode``) reads its attachments later. The IMAP poller
runs it in two halves, ``pack_items`` (the bytes) then ``record_packed`` (the rows), in two threads,
so that one batch is packed while the one before it is recorded and committed.

The pollers' shared pieces live here too: the poll report, the progress hook the crash tests kill
from, and the file ledger of the Maildir and drop-folder sources.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, delete, insert, update
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.errors import StoreError
from extranet_intake.intake.mime import sniff
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import (
    ARRIVAL_DEFAULTS,
    Arrival,
    Document,
    DocumentKind,
    FileLedger,
    LedgerState,
    ParseState,
    driver_datetimes,
    existing_documents,
    insert_values,
    known_messages,
)
from extranet_intake.parsers.result import Channel

__all__ = [
    "Clock",
    "Incoming",
    "ItemResult",
    "Packed",
    "PollError",
    "PollReport",
    "PollStep",
    "ProgressHook",
    "audit_refusals",
    "count",
    "ingest_batch",
    "ledger_row",
    "load_file_ledger",
    "mark_file_ledger",
    "pack_items",
    "record_packed",
    "write_file_ledger",
]

#: returns the current time, timezone-aware (UTC)
Clock = Callable[[], datetime]

MESSAGE_MEDIA = "message/rfc822"
#: a stored message's arrival outcome until stage 2 gives it its coded outcome
MESSAGE_PENDING = "pending"


class PollStep(StrEnum):
    """Points of a poll a progress hook is told about (the crash tests kill the process at each)."""

    FETCHED = "fetched"  # bytes in memory, nothing written
    STORED = "stored"  # files in the store, rows not committed
    COMMITTED = "committed"  # ledger and arrivals committed, source item not moved yet
    MOVED = "moved"  # source item moved to Processed / archive
    # intake.explode (stage 2) tells STORED (attachment files durable, rows not committed) and
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
        where = {"uid": self.uid, "key": self.key, "file": self.file, "sha256": self.sha256, "attempt": self.attempt}
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

    def error(
        self,
        code: str,
        message: str,
        *,
        uid: int | None = None,
        key: str | None = None,
        file: str | None = None,
        sha256: str | None = None,
        attempt: int | None = None,
    ) -> None:
        self.errors.append(PollError(code, message, uid=uid, key=key, file=file, sha256=sha256, attempt=attempt))

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "errors"} | {
            "errors": [e.as_dict() for e in self.errors],
            "ok": self.ok,
        }


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
    #: ``stored`` (a message kept whole, or a file), ``duplicate`` (a message already in), ``error``
    outcome: str
    error_code: str = ""
    error: str = ""
    new_documents: int = 0

    @property
    def ok(self) -> bool:
        return not self.error_code


def ingest_batch(
    session: Session, store: DocumentStore, items: Sequence[Incoming], *, channel: Channel, clock: Clock
) -> list[ItemResult]:
    """Stage 1: store the items' bytes and add their rows to ``session`` (not committed); one result per item.

    Messages are stored whole and left ``unexploded`` for stage 2 (``intake.explode``), which applies
    the MIME limits and the trusted gateways. A message that arrived before is not written again.
    """
    now = clock()
    prepared = [(item, sha256_of(item.data)) for item in items]
    known, already = _seen(session, prepared, channel)
    failures = _put(store, [(item, sha) for item, sha in prepared if not (item.is_message and sha in already)])
    return _record(session, prepared, known, already, failures, channel=channel, now=now)


@dataclass(frozen=True)
class Packed:
    """A batch whose bytes ``pack_items`` made durable (or failed to), waiting for ``record_packed``."""

    #: each item with its SHA-256, in order
    prepared: list[tuple[Incoming, str]]
    #: what could not be stored, by SHA-256
    failures: dict[str, StoreError]
    #: the results and rows ``record_packed`` adds if the database knows none of the batch (the
    #: common case), built beforehand outside its transaction; None if they cannot be
    guess: tuple[list[ItemResult], _Rows] | None = None
    #: the batch's time, taken when it was packed: the rows carry it whichever way they are built
    now: datetime | None = None


def pack_items(
    store: DocumentStore,
    items: Sequence[Incoming],
    *,
    channel: Channel | None = None,
    clock: Clock | None = None,
    when: Callable[[datetime], Any] | None = None,
) -> Packed:
    """The first half of ``ingest_batch``, without the database, for a poller that stores a batch
    while it records the one before (``intake.sources.imap``): hash and store every item's bytes.
    Whether a message arrived before is not known yet: its bytes are written again (the pack is
    named by content, stage 2 files a second copy as the first), and ``record_packed`` acknowledges
    it as the duplicate it is — rare (a UIDVALIDITY reset, a copy a crash left behind).

    Given ``channel``, ``clock`` and ``when`` (``driver_datetimes`` of the database to come), the
    rows are built here too, as they will be if the database knows none of the batch."""
    prepared = [(item, sha256_of(item.data)) for item in items]
    failures = _put(store, prepared)
    guess = None
    now = clock() if clock is not None else None
    if channel is not None and now is not None and when is not None and not failures:
        guess = _build(prepared, set(), set(), {}, channel=channel, now=now, when=when)
    return Packed(prepared, failures, guess, now)


def record_packed(session: Session, packed: Packed, *, channel: Channel, clock: Clock) -> list[ItemResult]:
    """The second half: add the rows of a batch ``pack_items`` stored to ``session`` (not committed),
    exactly as ``ingest_batch`` would have; one result per item."""
    known, already = _seen(session, packed.prepared, channel)
    if not known and packed.guess is not None:  # nothing known (so no message either), nothing failed
        results, rows = packed.guess
        _insert(session, rows)
        return results
    now = packed.now if packed.now is not None else clock()
    return _record(session, packed.prepared, known, already, packed.failures, channel=channel, now=now)


def _seen(session: Session, prepared: Sequence[tuple[Incoming, str]], channel: Channel) -> tuple[set[str], set[str]]:
    """(contents already in ``document``, whole messages that already arrived on ``channel``).

    One look-up by SHA-256 in the common case (nothing of the batch seen before): a message's
    arrival has its document row (a foreign key; documents are never deleted), so only contents
    already in ``document`` can be messages that arrived before."""
    known = existing_documents(session, [sha for _, sha in prepared])
    messages = [sha for item, sha in prepared if item.is_message and sha in known]
    return known, known_messages(session, messages, channel=channel)


def _put(store: DocumentStore, todo: Sequence[tuple[Incoming, str]]) -> dict[str, StoreError]:
    """Whole messages go to the store's pack (one durability point per batch; stage 2 files them),
    dropped files straight under their names."""
    messages = {sha: item.data for item, sha in todo if item.is_message}
    files = {sha: item.data for item, sha in todo if not item.is_message}
    return store.put_packed(messages) | store.put_many(files)


def _record(
    session: Session,
    prepared: Sequence[tuple[Incoming, str]],
    known: set[str],
    already: set[str],
    failures: dict[str, StoreError],
    *,
    channel: Channel,
    now: datetime,
) -> list[ItemResult]:
    results, rows = _build(prepared, known, already, failures, channel=channel, now=now, when=driver_datetimes(session))
    _insert(session, rows)
    return results


def _build(
    prepared: Sequence[tuple[Incoming, str]],
    known: set[str],
    already: set[str],
    failures: dict[str, StoreError],
    *,
    channel: Channel,
    now: datetime,
    when: Callable[[datetime], Any],
) -> tuple[list[ItemResult], _Rows]:
    """The results and rows of a batch, given what the database knows and what could not be stored."""
    results: dict[str, ItemResult] = {}
    # Identical bytes of a whole message are the same delivery seen again (a UIDVALIDITY reset, a
    # copy left behind by a crash): recorded once, the duplicate only acknowledged.
    before = set(already)
    todo: list[tuple[Incoming, str]] = []
    for item, sha in prepared:
        if item.is_message and sha in already:
            failed = None if sha in before else failures.get(sha)
            if failed is None:
                results[item.key] = ItemResult(item.key, sha, "duplicate")
            else:  # a copy within this batch, acknowledged only if its twin was stored
                results[item.key] = ItemResult(item.key, sha, "error", failed.code, failed.message)
        else:
            if item.is_message:
                already.add(sha)
            todo.append((item, sha))
    rows = _Rows(known=known, now=now, when=when)
    for item, sha in todo:
        failed = failures.get(sha)
        if failed is not None:
            results[item.key] = ItemResult(item.key, sha, "error", failed.code, failed.message)
            continue
        results[item.key] = rows.add(item, sha, channel=channel)
    return [results[item.key] for item, _ in prepared], rows


def _insert(session: Session, rows: _Rows) -> None:
    # Driver bulk inserts: building ORM objects one by one cost more than the whole network fetch.
    insert_values(session, _DOCUMENT, _DOCUMENT_COLUMNS, rows.documents)
    insert_values(session, _ARRIVAL, _ARRIVAL_COLUMNS, rows.arrivals)


class _Rows:
    """The batch's document and arrival rows, as tuples in the order of ``_DOCUMENT_COLUMNS`` and
    ``_ARRIVAL_COLUMNS``, datetimes as the driver takes them."""

    def __init__(self, *, known: set[str], now: datetime, when: Callable[[datetime], Any]) -> None:
        self.known = known
        self.now = when(now)
        self.when = when
        self.documents: list[tuple[Any, ...]] = []
        self.arrivals: list[tuple[Any, ...]] = []

    def document(self, sha: str, size: int, kind: str, media: str, state: str) -> None:
        if sha in self.known:
            return
        self.known.add(sha)
        self.documents.append((sha, size, kind, media, self.now, state, None, None))

    def add(self, item: Incoming, sha: str, *, channel: Channel) -> ItemResult:
        known = len(self.documents)
        if not item.is_message:  # a dropped file: the file is the candidate form (the parser rejects what is not one)
            kind = sniff(item.data)
            media = kind.value if kind else "application/octet-stream"
            self.document(sha, len(item.data), _FORM, media, _PENDING)
            outcome = "stored"
        else:
            self.document(sha, len(item.data), _MESSAGE, MESSAGE_MEDIA, _UNEXPLODED)
            outcome = MESSAGE_PENDING
        self.arrivals.append(
            (sha, channel.value, item.source, item.filename, self.when(item.received_at), outcome, *_ARRIVAL_REST)
        )
        new = 1 if not item.is_message and len(self.documents) > known else 0
        return ItemResult(item.key, sha, "stored", new_documents=new)


_UNEXPLODED = ParseState.UNEXPLODED.value
_PENDING = ParseState.PENDING.value
_MESSAGE = DocumentKind.MESSAGE.value
_FORM = DocumentKind.FORM.value


def count(report: PollReport, result: ItemResult) -> None:
    """Add one item's result to the report's counters (messages without a form are counted by stage 2,
    which reads them)."""
    if not result.ok:
        return
    if result.outcome == "duplicate":
        report.duplicates += 1
        return
    report.stored += 1
    report.documents += result.new_documents


def load_file_ledger(session: Session, source: str, keys: Iterable[str]) -> dict[str, FileLedger]:
    wanted = sorted(set(keys))
    found: dict[str, FileLedger] = {}
    for start in range(0, len(wanted), 500):
        for row in session.exec(
            select(FileLedger).where(
                col(FileLedger.source) == source, col(FileLedger.key).in_(wanted[start : start + 500])
            )
        ):
            found[row.key] = row
    return found


def audit_refusals(
    session: Session, rows: Iterable[dict[str, Any]], *, source: Callable[[dict[str, Any]], str]
) -> None:
    """An audit entry for every ledger row that gives up on its item (``failing``: too large, a link,
    failed N times…), in the caller's transaction: bad input is a coded rejection *and* an audit entry."""
    for row in rows:
        if row["state"] == LedgerState.FAILING.value:
            code, _, detail = str(row["last_error"]).partition(": ")
            append_entry(
                session,
                actor="system",
                action=AuditAction.DOCUMENT_REJECTED,
                org=None,
                login=None,
                document_sha256=row.get("sha256"),
                reason=code or "failed",
                details={"source": source(row), "detail": detail[:500], "attempts": row["attempts"]},
                at=row["updated_at"],
            )


def write_file_ledger(session: Session, source: str, rows: list[dict[str, Any]], *, existing: Iterable[str]) -> None:
    """Insert ledger rows for a batch (replacing rows of earlier failed attempts) and audit the items
    given up on; the caller commits."""
    audit_refusals(session, rows, source=lambda row: f"{source}:{row['key']}")
    again = sorted({r["key"] for r in rows} & set(existing))
    for start in range(0, len(again), 500):
        session.execute(
            delete(FileLedger).where(
                col(FileLedger.source) == source, col(FileLedger.key).in_(again[start : start + 500])
            )
        )
    if rows:
        session.execute(insert(FileLedger), [{"source": source, **r} for r in rows])


def mark_file_ledger(session: Session, source: str, keys: Sequence[str], state: LedgerState, now: datetime) -> None:
    for start in range(0, len(keys), 500):
        session.execute(
            update(FileLedger)
            .where(col(FileLedger.source) == source, col(FileLedger.key).in_(keys[start : start + 500]))
            .values(state=state.value, updated_at=now)
        )


def ledger_row(
    key: str, *, state: LedgerState, attempts: int, now: datetime, sha256: str | None = None, last_error: str = ""
) -> dict[str, Any]:
    return {
        "key": key,
        "state": state.value,
        "attempts": attempts,
        "last_error": last_error[:2000],
        "sha256": sha256,
        "updated_at": now,
    }


_ARRIVAL: Table = Arrival.__table__  # type: ignore[attr-defined]
_DOCUMENT: Table = Document.__table__  # type: ignore[attr-defined]
_DOCUMENT_COLUMNS = (
    "sha256",
    "size",
    "kind",
    "media_type",
    "first_seen_at",
    "parse_state",
    "parsed_at",
    "parse_outcome",
)
#: an arrival's own values first, then the columns stage 1 leaves at their defaults
_ARRIVAL_OWN = ("sha256", "channel", "source", "filename", "received_at", "outcome")
_ARRIVAL_COLUMNS = (*_ARRIVAL_OWN, *(k for k in ARRIVAL_DEFAULTS if k not in _ARRIVAL_OWN))
_ARRIVAL_REST = tuple(v for k, v in ARRIVAL_DEFAULTS.items() if k not in _ARRIVAL_OWN)
