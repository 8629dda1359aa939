"""What every source shares: a batch of incoming originals → store files + document/arrival rows, and the report.

The caller adds its own ledger rows to the same session and commits once: the bytes are on disk
before that commit, and the source item is moved only after it. Each item is its own unit of
work — one unreadable message is recorded with its reason and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from intake.authres import evaluate
from intake.mime import Extraction, MimeLimits, MimeOutcome, extract, sniff
from intake.store import (
    Arrival,
    Document,
    DocumentKind,
    DocumentStore,
    FileLedger,
    LedgerState,
    ParseState,
    existing_documents,
    known_messages,
    sha256_of,
)
from parsers.result import Channel

__all__ = [
    "Clock",
    "Incoming",
    "ItemResult",
    "PollReport",
    "PollStep",
    "ProgressHook",
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


class PollStep(StrEnum):
    """Points of a poll a progress hook is told about (the crash tests kill the process at each)."""

    FETCHED = "fetched"      # bytes in memory, nothing written
    STORED = "stored"        # files in the store, rows not committed
    COMMITTED = "committed"  # ledger and arrivals committed, source item not moved yet
    MOVED = "moved"          # source item moved to Processed / archive


#: told (step, keys) after each step of each batch; the crash tests kill the process from here
ProgressHook = Callable[["PollStep", Sequence[object]], None]


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
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, code: str, message: str, **data: Any) -> None:
        self.errors.append({"code": code, "message": message, **{k: str(v) for k, v in data.items()}})

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"ok": self.ok}


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


def _detail(ex: Extraction) -> str:
    return "\n".join(f"{s.filename or '-'}: {s.reason.value}" for s in ex.skipped)


def ingest_batch(session: Session, store: DocumentStore, items: Sequence[Incoming], *,
                 channel: Channel, limits: MimeLimits, trusted_ids: Sequence[str],
                 clock: Clock) -> list[ItemResult]:
    """Store the items' bytes and add their rows to ``session`` (not committed); one result per item."""
    now = clock()
    results: dict[str, ItemResult] = {}
    prepared: list[tuple[Incoming, str, Extraction | None]] = []
    for item in items:
        try:
            sha = sha256_of(item.data)
            prepared.append((item, sha, extract(item.data, limits=limits) if item.is_message else None))
        except Exception as exc:  # a hostile message must not stop the batch
            results[item.key] = ItemResult(item.key, None, "error", "message-unreadable",
                                           f"{type(exc).__name__}: {exc}")
    # Identical bytes of a whole message are the same delivery seen again (a UIDVALIDITY reset, a
    # copy left behind by a crash): recorded once, the duplicate only acknowledged.
    already = known_messages(session, [sha for it, sha, _ in prepared if it.is_message], channel=channel)
    todo: list[tuple[Incoming, str, Extraction | None]] = []
    for item, sha, ex in prepared:
        if item.is_message and sha in already:
            results[item.key] = ItemResult(item.key, sha, "duplicate")
        else:
            if item.is_message:
                already.add(sha)
            todo.append((item, sha, ex))
    blobs: dict[str, bytes] = {}
    for item, sha, ex in todo:
        blobs[sha] = item.data
        for att in ex.attachments if ex else ():
            blobs.setdefault(sha256_of(att.data), att.data)
    failures = store.put_many(blobs)
    rows = _Rows(known=existing_documents(session, blobs), now=now)
    for item, sha, ex in todo:
        shas = [sha] + [sha256_of(a.data) for a in (ex.attachments if ex else ())]
        failed = next((failures[s] for s in shas if s in failures), None)
        if failed is not None:
            results[item.key] = ItemResult(item.key, sha, "error", failed.code, failed.message)
            continue
        results[item.key] = rows.add(item, sha, ex, channel=channel, trusted_ids=trusted_ids)
    # Core bulk inserts: building ORM objects one by one cost more than the whole network fetch.
    if rows.documents:
        session.execute(insert(Document), rows.documents)
    if rows.arrivals:
        session.execute(insert(Arrival), rows.arrivals)
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
            "parse_state": (ParseState.NOT_APPLICABLE if kind is DocumentKind.MESSAGE else ParseState.PENDING).value,
            "parsed_at": None, "parse_outcome": None,
        })
        return 1 if kind is DocumentKind.FORM else 0

    def arrival(self, **values: Any) -> None:
        row = dict(_ARRIVAL_DEFAULTS)
        row.update(values)
        self.arrivals.append(row)

    def add(self, item: Incoming, sha: str, ex: Extraction | None, *, channel: Channel,
            trusted_ids: Sequence[str]) -> ItemResult:
        if ex is None:  # a dropped file: the file is the candidate form (the parser rejects what is not one)
            kind = sniff(item.data)
            new = self.document(sha, len(item.data), DocumentKind.FORM,
                                kind.value if kind else "application/octet-stream")
            self.arrival(sha256=sha, channel=channel.value, source=item.source, filename=item.filename,
                         received_at=item.received_at, outcome="stored")
            return ItemResult(item.key, sha, "stored", new_documents=new)
        env = ex.envelope
        verdict = evaluate(env.authentication_results, trusted_ids=trusted_ids)
        common: dict[str, Any] = {
            "channel": channel.value, "source": item.source, "sender": env.sender[:320],
            "message_id": env.message_id, "subject": env.subject,
            "authentication_results": "\n".join(env.authentication_results),
            "auth_trusted": verdict.trusted, "auth_authserv_id": verdict.authserv_id,
            "dmarc": verdict.dmarc.value, "dkim": verdict.dkim.value, "spf": verdict.spf.value,
            "received_at": item.received_at,
        }
        self.document(sha, len(item.data), DocumentKind.MESSAGE, MESSAGE_MEDIA)
        self.arrival(sha256=sha, filename=item.filename, outcome=ex.outcome.value, detail=_detail(ex), **common)
        new = 0
        seen: set[str] = set()
        for att in ex.attachments:
            att_sha = sha256_of(att.data)
            if att_sha in seen:  # the same file attached twice to one mail is one arrival
                continue
            seen.add(att_sha)
            new += self.document(att_sha, len(att.data), DocumentKind.FORM, att.sniffed.value)
            self.arrival(sha256=att_sha, filename=att.filename, parent_sha256=sha, outcome="stored", **common)
        return ItemResult(item.key, sha, ex.outcome.value, new_documents=new)


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


def write_file_ledger(session: Session, source: str, rows: list[dict[str, Any]], *, existing: Iterable[str]) -> None:
    """Insert ledger rows for a batch (replacing rows of earlier failed attempts); the caller commits."""
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
