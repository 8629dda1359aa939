"""Stage 1, what every source shares: originals → store files + document/arrival rows.

``ingest_batch`` is what a poller runs while it drains a source: hash, write the bytes (whole
messages appended to the store's pack, one durability point per batch), add the document and
arrival rows in bulk. The caller adds its own ledger rows to the same session and commits once: the
bytes are on disk before that commit, and the source item is moved only after it. A whole e-mail is
stored as it came, *unexploded* — no MIME parsing there, so the drain runs at the speed of the
mailbox and the disk; stage 2 (``intake.explode``) reads its attachments later.

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
    existing_documents,
    insert_rows,
    known_messages,
)
from extranet_intake.parsers.result import Channel

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
    the MIME limits and the trusted gateways.
    """
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
        self.documents.append(
            {
                "sha256": sha,
                "size": size,
                "kind": kind.value,
                "media_type": media,
                "first_seen_at": self.now,
                "parse_state": (ParseState.UNEXPLODED if kind is DocumentKind.MESSAGE else ParseState.PENDING).value,
                "parsed_at": None,
                "parse_outcome": None,
            }
        )
        return 1 if kind is DocumentKind.FORM else 0

    def arrival(self, **values: Any) -> None:
        row = dict(ARRIVAL_DEFAULTS)
        row.update(values)
        self.arrivals.append(row)

    def add(self, item: Incoming, sha: str, *, channel: Channel) -> ItemResult:
        if not item.is_message:  # a dropped file: the file is the candidate form (the parser rejects what is not one)
            kind = sniff(item.data)
            new = self.document(
                sha, len(item.data), DocumentKind.FORM, kind.value if kind else "application/octet-stream"
            )
            self.arrival(
                sha256=sha,
                channel=channel.value,
                source=item.source,
                filename=item.filename,
                received_at=item.received_at,
                outcome="stored",
            )
            return ItemResult(item.key, sha, "stored", new_documents=new)
        self.document(sha, len(item.data), DocumentKind.MESSAGE, MESSAGE_MEDIA)
        self.arrival(
            sha256=sha,
            channel=channel.value,
            source=item.source,
            filename=item.filename,
            received_at=item.received_at,
            outcome=MESSAGE_PENDING,
        )
        return ItemResult(item.key, sha, "stored")


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
