"""The document store's tables and the queries over them: documents, arrivals, the sources' ledgers.

``document`` holds one row per distinct content (its bytes are in ``intake.store.DocumentStore``);
``arrival`` one row per time that content came in (channel, source, sender, Message-ID,
Authentication-Results, time, the message it was attached to). The same bytes twice: one document,
processed once, both arrivals visible. The ledgers (``imap_folder``, ``imap_ledger``, ``file_ledger``)
remember what each source has already handed over, so nothing is fetched or moved twice.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Table, UniqueConstraint, bindparam, update
from sqlalchemy.engine import Dialect, Engine
from sqlmodel import Field, Session, SQLModel, col, select

from extranet_intake.errors import StoreError
from extranet_intake.parsers.result import Channel

__all__ = [
    "ARRIVAL_DEFAULTS",
    "TABLES",
    "Arrival",
    "Document",
    "DocumentKind",
    "FileLedger",
    "ImapFolder",
    "ImapLedger",
    "LedgerState",
    "ParseState",
    "PendingDocument",
    "create_tables",
    "driver_datetimes",
    "existing_documents",
    "insert_rows",
    "insert_values",
    "known_messages",
    "mark_imap_ledger",
    "mark_parsed",
    "pending_documents",
]


class DocumentKind(StrEnum):
    MESSAGE = "message"  # a whole e-mail as received (kept as evidence, never parsed as a form)
    FORM = "form"  # a candidate form: PDF, XLSX or scan, to be parsed


class ParseState(StrEnum):
    PENDING = "pending"
    PARSED = "parsed"
    #: a whole message stored by a poller, its attachments not extracted yet (``intake.explode``)
    UNEXPLODED = "unexploded"
    NOT_APPLICABLE = "n/a"  # messages once exploded: their attachments are what gets parsed


class LedgerState(StrEnum):
    STORED = "stored"  # committed; the source copy may still need moving
    DUPLICATE = "duplicate"  # same bytes already stored from this channel (e.g. after a UIDVALIDITY change)
    MOVED = "moved"  # moved to Processed (IMAP), .Processed (Maildir), the archive (drop)
    RETRY = "retry"  # an attempt failed; tried again next run
    FAILING = "failing"  # out of attempts; to be moved to Failed
    FAILED = "failed"  # moved to Failed, reason in last_error
    #: moved on from Processed to the people folder (no form, or every form refused), left unread
    FOR_PEOPLE = "for-people"


class Document(SQLModel, table=True):
    __tablename__ = "document"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    #: a ``DocumentKind`` value (plain strings in the database: no PostgreSQL enum types to migrate)
    kind: str = Field(max_length=20)
    #: by content (magic bytes), ``message/rfc822`` for whole messages
    media_type: str = Field(max_length=100)
    first_seen_at: datetime
    #: a ``ParseState`` value
    parse_state: str = Field(index=True, max_length=20)
    parsed_at: datetime | None = None
    parse_outcome: str | None = Field(default=None, max_length=100)


class Arrival(SQLModel, table=True):
    __tablename__ = "arrival"
    # One arrival per source item and content: a retried or re-read source item adds nothing.
    __table_args__ = (UniqueConstraint("source", "sha256", name="uq_arrival_source_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(foreign_key="document.sha256", index=True, max_length=64)
    #: a ``Channel`` value: ``email`` or ``post``
    channel: str = Field(max_length=10)
    #: ``imap:<account>/<folder>;uidvalidity=<v>;uid=<u>``, ``maildir:<key>``, ``drop:<file name>``
    source: str = Field(max_length=500)
    filename: str = Field(default="", max_length=255)
    sender: str = Field(default="", max_length=320, index=True)
    message_id: str = Field(default="", max_length=998)
    subject: str = Field(default="", max_length=998)
    #: every Authentication-Results header of the message as received, top first, one per line
    authentication_results: str = ""
    auth_trusted: bool = False
    auth_authserv_id: str = Field(default="", max_length=255)
    dmarc: str = Field(default="absent", max_length=20)
    dkim: str = Field(default="absent", max_length=20)
    spf: str = Field(default="absent", max_length=20)
    received_at: datetime
    #: for an attachment: the SHA-256 of the message it came in
    parent_sha256: str | None = Field(default=None, index=True, max_length=64)
    #: coded outcome: ``forms``, ``no-form-attachment``, ``message-too-large`` (messages), ``stored``
    outcome: str = Field(max_length=100)
    #: what was skipped inside the message and why, ``name: reason`` per line
    detail: str = ""


class ImapFolder(SQLModel, table=True):
    __tablename__ = "imap_folder"

    account: str = Field(primary_key=True, max_length=320)
    folder: str = Field(primary_key=True, max_length=255)
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    changed_at: datetime


class ImapLedger(SQLModel, table=True):
    __tablename__ = "imap_ledger"

    account: str = Field(primary_key=True, max_length=320)
    folder: str = Field(primary_key=True, max_length=255)
    uidvalidity: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    uid: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    #: a ``LedgerState`` value
    state: str = Field(max_length=20)
    attempts: int = 0
    last_error: str = ""
    sha256: str | None = Field(default=None, max_length=64)
    updated_at: datetime


class FileLedger(SQLModel, table=True):
    __tablename__ = "file_ledger"

    #: ``maildir`` or ``drop``
    source: str = Field(primary_key=True, max_length=20)
    key: str = Field(primary_key=True, max_length=500)
    #: a ``LedgerState`` value
    state: str = Field(max_length=20)
    attempts: int = 0
    last_error: str = ""
    sha256: str | None = Field(default=None, max_length=64)
    updated_at: datetime


#: the arrival columns a bulk insert must spell out (what the model's defaults give an ORM insert)
ARRIVAL_DEFAULTS: dict[str, Any] = {
    "filename": "",
    "sender": "",
    "message_id": "",
    "subject": "",
    "authentication_results": "",
    "auth_trusted": False,
    "auth_authserv_id": "",
    "dmarc": "absent",
    "dkim": "absent",
    "spf": "absent",
    "parent_sha256": None,
    "detail": "",
}

TABLES: list[Table] = [
    Document.__table__,  # type: ignore[attr-defined]
    Arrival.__table__,  # type: ignore[attr-defined]
    ImapFolder.__table__,  # type: ignore[attr-defined]
    ImapLedger.__table__,  # type: ignore[attr-defined]
    FileLedger.__table__,  # type: ignore[attr-defined]
]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``INSERT`` many rows as one ``executemany`` of the driver, in the session's transaction.

    SQLAlchemy's own executemany runs every value through its bind processors in Python: 15 µs a
    row of ``arrival``, more than fetching the message the row records. These tables hold only
    strings, integers, booleans and datetimes, which every driver takes as they are — except
    sqlite3, which gets datetimes in the text form SQLAlchemy itself writes (UTC, no offset).
    Every row has the first row's keys.
    """
    if not rows:
        return
    conn = session.connection()
    sql, keys, datetimes = _insert_sql(table, tuple(rows[0]), conn.dialect)
    if not conn.dialect.positional:  # pyformat (psycopg): mappings, datetimes as they are
        conn.exec_driver_sql(sql, [{k: row[k] for k in keys} for row in rows])
        return
    # qmark (sqlite3) or numeric: tuples, taken from each row in one C call
    values = operator.itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    tuples: list[Any] = [values(row) for row in rows]
    if conn.dialect.name == "sqlite" and datetimes:
        tuples = _sqlite_datetimes(tuples, datetimes)
    conn.exec_driver_sql(sql, tuples)


def insert_values(session: Session, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """``insert_rows`` for rows built as tuples in the order of ``columns``, their datetimes already
    as ``driver_datetimes`` gives them: nothing is converted per row but the order of the values."""
    if not rows:
        return
    conn = session.connection()
    sql, keys, _ = _insert_sql(table, columns, conn.dialect)
    if not conn.dialect.positional:
        conn.exec_driver_sql(sql, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    if keys != columns:
        order = operator.itemgetter(*(columns.index(k) for k in keys))
        rows = [order(row) for row in rows]
    conn.exec_driver_sql(sql, list(rows))


def driver_datetimes(session: Session | Dialect) -> Callable[[datetime], Any]:
    """What a datetime is given to the driver of a session (or dialect) as: itself, or on SQLite the
    text SQLAlchemy writes (each value converted once: a batch's rows share their ``now``, often
    their second)."""
    dialect = session.connection().dialect if isinstance(session, Session) else session
    if dialect.name != "sqlite":
        return _same
    texts: dict[datetime, str] = {}

    def text(value: datetime) -> str:
        if (done := texts.get(value)) is None:
            if len(texts) >= 4096:  # a converter kept for a whole run stays small
                texts.clear()
            done = texts[value] = _sqlite_datetime(value)
        return done

    return text


def _same(value: datetime) -> datetime:
    return value


def _sqlite_datetimes(tuples: list[Any], positions: tuple[int, ...]) -> list[Any]:
    """The rows with their datetimes as SQLAlchemy's text for SQLite (a batch's rows share their
    ``now`` and often their arrival second: each value is converted once)."""
    texts: dict[datetime, str] = {}

    def text(value: datetime | None) -> str | None:
        if value is None:
            return None
        if (done := texts.get(value)) is None:
            done = texts[value] = _sqlite_datetime(value)
        return done

    converted = []
    for row in tuples:
        row = list(row)
        for i in positions:
            row[i] = text(row[i])
        converted.append(tuple(row))
    return converted


@functools.lru_cache(maxsize=64)
def _insert_sql(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...], tuple[int, ...]]:
    """The driver's ``INSERT`` text, its parameters in order and the positions of its datetime
    columns among them (compiled once: 1 ms a batch otherwise). A datetime column may be a
    ``TypeDecorator`` over ``DateTime``: its values must still reach sqlite3 as SQLAlchemy's text,
    not through sqlite3's own adapter."""
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    keys = tuple(compiled.positiontup or columns)
    datetimes = tuple(
        i for i, key in enumerate(keys) if isinstance(getattr(table.c[key].type, "impl", table.c[key].type), DateTime)
    )
    return str(compiled), keys, datetimes


def mark_imap_ledger(
    session: Session, account: str, folder: str, uidvalidity: int, uids: Sequence[int], state: str, now: datetime
) -> None:
    """Set ``state`` on these UIDs' ledger rows: one ``executemany`` of the driver, by primary key,
    its statement compiled once (SQLAlchemy's expanding ``IN`` re-rendered it per call)."""
    if not uids:
        return
    conn = session.connection()
    sql, keys = _mark_sql(conn.dialect)
    at: Any = _sqlite_datetime(now) if conn.dialect.name == "sqlite" else now
    given = {"account": account, "folder": folder, "uidvalidity": uidvalidity, "state": state, "at": at}
    if conn.dialect.positional:
        before = tuple(given[k] for k in keys[: keys.index("uid")])
        after = tuple(given[k] for k in keys[keys.index("uid") + 1 :])
        conn.exec_driver_sql(sql, [(*before, uid, *after) for uid in uids])
    else:
        conn.exec_driver_sql(sql, [{**given, "uid": uid} for uid in uids])


@functools.lru_cache(maxsize=8)
def _mark_sql(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    ledger: Table = ImapLedger.__table__  # type: ignore[attr-defined]
    stmt = (
        ledger.update()
        .where(
            ledger.c.account == bindparam("account"),
            ledger.c.folder == bindparam("folder"),
            ledger.c.uidvalidity == bindparam("uidvalidity"),
            ledger.c.uid == bindparam("uid"),
        )
        .values(state=bindparam("state"), updated_at=bindparam("at"))
    )
    compiled = stmt.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def _sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy writes for a DateTime on SQLite (naive UTC, always with microseconds)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="microseconds")


def create_tables(engine: Engine) -> None:
    """Create this module's tables (tests and the embedded default; production uses Alembic)."""
    SQLModel.metadata.create_all(engine, tables=TABLES)


@dataclass(frozen=True)
class PendingDocument:
    """A stored form candidate not parsed yet, with its first arrival (channel, sender, trust)."""

    sha256: str
    media_type: str
    size: int
    arrival: Arrival
    #: how many times these bytes came in (all arrivals stay visible in ``arrival``)
    arrivals: int


def pending_documents(session: Session, *, limit: int | None = None) -> list[PendingDocument]:
    """Form candidates stored but not yet parsed, oldest first — one per content, however often it came."""
    query = (
        select(Document)
        .where(col(Document.parse_state) == ParseState.PENDING.value)
        .order_by(col(Document.first_seen_at), col(Document.sha256))
    )
    if limit is not None:
        query = query.limit(limit)
    docs = list(session.exec(query))
    if not docs:
        return []
    by_sha: dict[str, list[Arrival]] = {}
    shas = [d.sha256 for d in docs]
    for start in range(0, len(shas), 500):
        arrivals = session.exec(
            select(Arrival)
            .where(col(Arrival.sha256).in_(shas[start : start + 500]))
            .order_by(col(Arrival.received_at), col(Arrival.id))
        )
        for a in arrivals:
            by_sha.setdefault(a.sha256, []).append(a)
    pending = [
        PendingDocument(d.sha256, d.media_type, d.size, by_sha[d.sha256][0], len(by_sha[d.sha256]))
        for d in docs
        if d.sha256 in by_sha
    ]
    # In the order they arrived (attachments of one message in the order they stand in it), as the
    # dossier rules and a dry run see them — not in the order of their hashes.
    pending.sort(key=lambda p: (p.arrival.received_at, p.arrival.id or 0))
    return pending


def mark_parsed(session: Session, sha256: str, *, outcome: str, at: datetime) -> None:
    """Record that a document was parsed (the caller commits with its own results); one UPDATE."""
    t = Document.__table__  # type: ignore[attr-defined]
    done = session.execute(
        update(t)
        .where(t.c.sha256 == sha256)
        .values(parse_state=ParseState.PARSED.value, parse_outcome=outcome, parsed_at=at)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise StoreError("document-missing", "no such document in the store", sha256=sha256)
    loaded = session.identity_map.get(session.identity_key(Document, sha256))
    if loaded is not None:
        session.expire(loaded)  # an object of it in this session reads the new state back


def existing_documents(session: Session, shas: Iterable[str]) -> set[str]:
    wanted = sorted(set(shas))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(sha for (sha,) in _select_in(session, "documents", wanted[start : start + 500]))
    return found


def known_messages(session: Session, shas: Sequence[str], *, channel: Channel) -> set[str]:
    """Which of these whole messages already arrived on ``channel`` (identical bytes = the same delivery)."""
    wanted = sorted(set(shas))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        # ``parent_sha256 IS NULL`` is checked here, not in SQL: SQLite (no ANALYZE) then searched
        # the parent index, i.e. every message ever stored, on each batch: a cost growing with volume.
        found.update(
            sha
            for sha, parent in _select_in(session, "messages", wanted[start : start + 500], channel=channel.value)
            if parent is None
        )
    return found


def _select_in(session: Session, query: str, values: Sequence[str], **extra: str) -> list[Any]:
    """Rows of one of the lookups by SHA-256 below, through the driver: the statement is compiled
    once per size (SQLAlchemy's expanding IN re-rendered it per call, several ms a batch)."""
    conn = session.connection()
    sql, keys = _in_sql(query, len(values), conn.dialect)
    params = {f"v{i}": v for i, v in enumerate(values)} | extra
    if conn.dialect.positional:
        return list(conn.exec_driver_sql(sql, tuple(params[k] for k in keys)))
    return list(conn.exec_driver_sql(sql, params))


@functools.lru_cache(maxsize=64)
def _in_sql(query: str, size: int, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    values: list[Any] = [bindparam(f"v{i}") for i in range(size)]
    if query == "documents":
        stmt: Any = select(Document.sha256).where(col(Document.sha256).in_(values))
    else:
        stmt = select(Arrival.sha256, Arrival.parent_sha256).where(
            col(Arrival.sha256).in_(values), col(Arrival.channel) == bindparam("channel")
        )
    compiled = stmt.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())
