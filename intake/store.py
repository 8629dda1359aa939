"""The content-addressed document store (bytes on disk by SHA-256) and its tables: documents, arrivals, ledgers.

Every original is kept byte for byte at ``<root>/<sha[:2]>/<sha>``, written to a temporary file,
fsynced, renamed into place, and its folder fsynced — so a file under its final name is always
complete, and a crash leaves at most a stray temporary file. The bytes are written *before* the
database rows that point to them are committed; the rows are what count, so an orphan file after a
crash is harmless and is simply found again (same name, same bytes) on the retry.

Whole messages drained from a mailbox arrive by the thousand, and creating a file costs more than
fetching a message (0.05 ms on a quiet disk, near 1 ms while it writes back). A poller therefore
appends a batch's messages to a *pack* (``<root>/packs/*.pack``: records of SHA-256, length and
bytes, one ``fdatasync`` per batch) and ``unpack`` files them under their names later — stage 2
does it first thing, and ``open`` does it for a name not filed yet. A pack is deleted only once
every record it holds is durable under its own name; a torn record at its end (a crash while
writing, before the batch's rows were committed) fails its hash check and is dropped. A pack is
locked (``flock``) while its writer has it open, so an ``unpack`` elsewhere leaves it alone.

``document`` holds one row per distinct content; ``arrival`` one row per time that content came in
(channel, source, sender, Message-ID, Authentication-Results, time, the message it was attached
to). The same bytes twice: one document, processed once, both arrivals visible. The ledgers
(``imap_folder``, ``imap_ledger``, ``file_ledger``) remember what each source has already handed
over, so nothing is fetched or moved twice.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import hashlib
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import BigInteger, Column, DateTime, Table, UniqueConstraint, bindparam
from sqlalchemy.engine import Dialect, Engine
from sqlmodel import Field, Session, SQLModel, col, select

from errors import StoreError
from parsers.result import Channel

__all__ = [
    "TABLES",
    "Arrival",
    "Document",
    "DocumentKind",
    "DocumentStore",
    "FileLedger",
    "ImapFolder",
    "ImapLedger",
    "LedgerState",
    "ParseState",
    "PendingDocument",
    "arrivals_of",
    "create_tables",
    "existing_documents",
    "insert_rows",
    "known_messages",
    "mark_parsed",
    "pending_documents",
    "sha256_of",
]


class DocumentKind(StrEnum):
    MESSAGE = "message"   # a whole e-mail as received (kept as evidence, never parsed as a form)
    FORM = "form"         # a candidate form: PDF, XLSX or scan, to be parsed


class ParseState(StrEnum):
    PENDING = "pending"
    PARSED = "parsed"
    #: a whole message stored by a poller, its attachments not extracted yet (``explode_messages``)
    UNEXPLODED = "unexploded"
    NOT_APPLICABLE = "n/a"  # messages once exploded: their attachments are what gets parsed


class LedgerState(StrEnum):
    STORED = "stored"        # committed; the source copy may still need moving
    DUPLICATE = "duplicate"  # same bytes already stored from this channel (e.g. after a UIDVALIDITY change)
    MOVED = "moved"          # moved to Processed (IMAP), .Processed (Maildir), the archive (drop)
    RETRY = "retry"          # an attempt failed; tried again next run
    FAILING = "failing"      # out of attempts; to be moved to Failed
    FAILED = "failed"        # moved to Failed, reason in last_error
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


TABLES = [Document.__table__, Arrival.__table__, ImapFolder.__table__, ImapLedger.__table__,  # type: ignore[attr-defined]
          FileLedger.__table__]  # type: ignore[attr-defined]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``INSERT`` many rows as one ``executemany`` of the driver, in the session's transaction.

    SQLAlchemy's own executemany runs every value through its bind processors in Python: 15 µs a
    row of ``arrival``, more than fetching the message the row records. These tables hold only
    strings, integers, booleans and datetimes, which every driver takes as they are — except
    sqlite3, which gets datetimes in the text form SQLAlchemy itself writes (UTC, no offset).
    """
    if not rows:
        return
    conn = session.connection()
    sql, keys, datetimes = _insert_sql(table, tuple(rows[0]), conn.dialect)
    if conn.dialect.name == "sqlite" and datetimes:
        texts: dict[datetime, str] = {}  # a batch's rows share their ``now``: converted once

        def text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if (done := texts.get(value)) is None:
                done = texts[value] = _sqlite_datetime(value)
            return done

        converted = [{**row, **{k: text(row[k]) for k in datetimes}} for row in rows]
        rows = converted
    if conn.dialect.positional:  # qmark (sqlite3) or numeric: tuples
        conn.exec_driver_sql(sql, [tuple([row[k] for k in keys]) for row in rows])
    else:  # pyformat (psycopg): mappings
        conn.exec_driver_sql(sql, [{k: row[k] for k in keys} for row in rows])


@functools.lru_cache(maxsize=64)
def _insert_sql(table: Table, columns: tuple[str, ...],
                dialect: Dialect) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The driver's ``INSERT`` text, its parameters in order and its datetime columns (compiled once:
    1 ms a batch otherwise). A datetime column may be a ``TypeDecorator`` over ``DateTime``: its
    values must still reach sqlite3 as SQLAlchemy's text, not through sqlite3's own adapter."""
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    datetimes = tuple(key for key in columns
                      if isinstance(getattr(table.c[key].type, "impl", table.c[key].type), DateTime))
    return str(compiled), tuple(compiled.positiontup or columns), datetimes


def _sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy writes for a DateTime on SQLite (naive UTC, always with microseconds)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="microseconds")


def create_tables(engine: Engine) -> None:
    """Create this module's tables (tests and the embedded default; production uses Alembic)."""
    SQLModel.metadata.create_all(engine, tables=TABLES)


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


#: Linux ``syncfs(2)``: flush one file system (the store's) in one call
_syncfs: Callable[[int], int] | None = _load_syncfs()


def _store_error(exc: BaseException, sha: str) -> StoreError:
    return exc if isinstance(exc, StoreError) else StoreError("store-write-failed", str(exc), sha256=sha)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class DocumentStore:
    """Originals on disk, named by their SHA-256."""

    def __init__(self, root: Path, *, fsync: bool = True, threads: int = 8) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.threads = threads
        #: this store's open pack (descriptor, locked), created by the first ``put_packed``
        self._pack: int | None = None

    def path(self, sha256: str) -> Path:
        if not _is_sha256(sha256):
            raise StoreError("bad-sha256", "not a lower-case hex SHA-256", sha256=sha256[:80])
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> bytes:
        """The original bytes, checked against their name (a changed file is an error, not a document)."""
        path = self.path(sha256)
        try:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                # A message a poller packed and stage 2 has not filed yet: file it now or, while a
                # poller in another process still appends to that pack, read it from there.
                self.unpack()
                found = path.read_bytes() if path.is_file() else self._read_packed(sha256)
                if found is None:
                    found = path.read_bytes()  # filed by another process meanwhile, or missing
                data = found
        except FileNotFoundError as exc:
            raise StoreError("document-missing", "no such document in the store", sha256=sha256) from exc
        except OSError as exc:
            raise StoreError("document-unreadable", str(exc), sha256=sha256) from exc
        if sha256_of(data) != sha256:
            raise StoreError("document-corrupt", "stored bytes no longer match their SHA-256", sha256=sha256)
        return data

    def put(self, data: bytes) -> str:
        sha = sha256_of(data)
        failures = self.put_many({sha: data})
        if failures:
            raise failures[sha]
        return sha

    def put_many(self, blobs: dict[str, bytes]) -> dict[str, StoreError]:
        """Write every blob durably (keyed by its SHA-256); returns the ones that failed, with why.

        Durability is paid per batch, not per file: every blob is written to a temporary file, then
        one ``syncfs`` makes all their bytes durable, then the renames, then one more ``syncfs`` makes
        the names durable. A final name therefore always holds complete bytes (it is renamed only
        after its data is on disk), and the whole batch costs two journal commits instead of one
        ``fsync`` per file (~3 ms each on these disks). Without ``syncfs`` (not Linux) each file and
        folder is fsynced on a small thread pool instead, as before.
        """
        if not blobs:
            return {}
        failures: dict[str, StoreError] = {}
        staged: list[tuple[str, Path, Path]] = []
        dirs: set[Path] = set()
        per_file = self.fsync and _syncfs is None

        def stage(item: tuple[str, bytes]) -> None:
            sha, data = item
            try:
                final = self.path(sha)
                if final.exists():
                    return  # same name, same bytes: an earlier (maybe crashed) run already wrote it
                folder = final.parent
                if not folder.is_dir():
                    folder.mkdir(parents=True, exist_ok=True)
                    dirs.add(folder.parent)
                dirs.add(folder)
                staged.append((sha, self._write_tmp(folder, sha, data, fsync=per_file), final))
            except (OSError, StoreError) as exc:
                failures[sha] = _store_error(exc, sha)

        if len(blobs) == 1 or self.threads <= 1:
            for item in blobs.items():
                stage(item)
        else:
            # Creating a file waits on the file system's journal (0.2-0.9 ms each on these disks);
            # a few at a time overlap those waits (list/set appends are atomic under the GIL).
            with ThreadPoolExecutor(min(self.threads, len(blobs))) as pool:
                list(pool.map(stage, blobs.items()))
        if not staged:
            return failures
        try:
            if self.fsync and not per_file:
                self._syncfs()  # the bytes of every temporary file, in one go
        except OSError as exc:
            for sha, tmp, _ in staged:
                tmp.unlink(missing_ok=True)
                failures[sha] = _store_error(exc, sha)
            return failures
        renamed: list[str] = []
        for sha, tmp, final in staged:
            try:
                os.replace(tmp, final)
                renamed.append(sha)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                failures[sha] = _store_error(exc, sha)
        if not self.fsync:
            return failures
        try:
            if per_file:
                # The rename is durable only once the directory entry is: fsync each touched folder once.
                with ThreadPoolExecutor(max(1, min(self.threads, len(dirs)))) as pool:
                    list(pool.map(self._fsync_dir, sorted(dirs)))
            else:
                self._syncfs()
        except OSError as exc:
            for sha in renamed:
                failures[sha] = _store_error(exc, sha)
        return failures

    def put_packed(self, blobs: dict[str, bytes]) -> dict[str, StoreError]:
        """Append every blob to this store's pack and make them durable together (one ``fdatasync``);
        returns the ones that failed, with why. A record whose write fails is cut off again, so the
        pack stays a clean sequence of records; if even that fails, the pack is closed there."""
        if not blobs:
            return {}
        failures: dict[str, StoreError] = {}
        written: list[str] = []  # in the open pack, not yet made durable
        for sha, data in blobs.items():
            try:
                fd = self._open_pack()
            except OSError as exc:
                failures[sha] = _store_error(exc, sha)
                continue
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                self._append(fd, sha, data)
                written.append(sha)
            except OSError as exc:
                failures[sha] = _store_error(exc, sha)
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    # A torn record ends this pack; the next record starts a new one. What this call
                    # wrote before it is never synced: it fails too, and is fetched again.
                    failures.update({done: _store_error(exc, done) for done in written})
                    written = []
                    self._close_pack()
        if self.fsync and written and self._pack is not None:
            try:
                os.fdatasync(self._pack)
            except OSError as exc:
                # After a failed fdatasync nothing written since the last one can be trusted.
                failures.update({sha: _store_error(exc, sha) for sha in written})
                self._close_pack()
        if self._pack is not None and os.fstat(self._pack).st_size >= _PACK_BYTES:
            self._close_pack()
        return failures

    def packs(self) -> list[Path]:
        folder = self.root / "packs"
        return sorted(folder.glob("*.pack")) if folder.is_dir() else []

    def unpack(self) -> int:
        """File every packed record under its own name, durably, then delete the packs; returns how
        many records were filed. Packs another writer holds open are left for later."""
        self._close_pack()
        filed = 0
        for pack in self.packs():
            try:
                fd = os.open(pack, os.O_RDONLY)
            except FileNotFoundError:
                continue  # unpacked by someone else meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its writer is still appending
                if not _still_named(fd, pack):
                    continue  # filed and removed by another process between our open and our lock
                with os.fdopen(os.dup(fd), "rb") as reader:
                    for blobs in _record_chunks(reader):
                        failures = self.put_many(blobs)
                        if failures:
                            first = next(iter(failures.values()))
                            raise StoreError("unpack-failed", f"{len(failures)} packed documents could not be "
                                             f"filed: {first.message}", pack=pack.name)
                        filed += len(blobs)
                os.unlink(pack)  # still ours: the lock is held and the name checked under it
            finally:
                os.close(fd)
        return filed

    def _read_packed(self, sha256: str) -> bytes | None:
        """The record named ``sha256`` in a pack (unchecked: ``open`` checks it), or None."""
        key = sha256.encode()
        for pack in self.packs():
            try:
                with pack.open("rb") as reader:
                    while (head := _PACK_HEADER.fullmatch(reader.readline(200))) is not None:
                        length = int(head.group(2))
                        if head.group(1) == key:
                            data = reader.read(length)
                            if len(data) == length:
                                return data
                            break  # torn, or still being written
                        reader.seek(length, os.SEEK_CUR)
            except FileNotFoundError:
                continue  # filed and removed meanwhile
        return None

    def _open_pack(self) -> int:
        if self._pack is not None:
            return self._pack
        folder = self.root / "packs"
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}-{secrets.token_hex(4)}.pack"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not _still_named(fd, path):
                    # Another process's unpack took the new, empty pack before our lock and removed
                    # it: records appended now would go to a file without a name. Start another.
                    os.close(fd)
                    continue
                if self.fsync:
                    self._fsync_dir(folder)  # the pack's name is durable before any record counts on it
            except BaseException:
                os.close(fd)
                raise
            self._pack = fd
            return fd

    def _close_pack(self) -> None:
        if self._pack is not None:
            fd, self._pack = self._pack, None
            os.close(fd)

    @staticmethod
    def _append(fd: int, sha256: str, data: bytes) -> None:
        view = memoryview(b"%s %s %d\n" % (_PACK_MAGIC, sha256.encode(), len(data)) + data)
        while view:
            view = view[os.write(fd, view):]

    def _write_tmp(self, folder: Path, sha256: str, data: bytes, *, fsync: bool) -> Path:
        tmp = folder / f".{sha256}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return tmp

    def _syncfs(self) -> None:
        assert _syncfs is not None
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        finally:
            os.close(fd)

    @staticmethod
    def _fsync_dir(folder: Path) -> None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_PACK_MAGIC = b"EIPACK1"
#: a pack is closed (and the next one started) once it holds this much
_PACK_BYTES = 256 * 1024 * 1024
_PACK_HEADER = re.compile(rb"EIPACK1 ([0-9a-f]{64}) (\d{1,12})\n")


def _still_named(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (checked under the file's lock)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)


def _record_chunks(reader: BinaryIO) -> Iterable[dict[str, bytes]]:
    """The intact records of a pack, some 64 MiB at a time; reading stops at the first torn one."""
    chunk: dict[str, bytes] = {}
    size = 0
    while (head := _PACK_HEADER.fullmatch(reader.readline(200))) is not None:
        length = int(head.group(2))
        data = reader.read(length)
        sha = head.group(1).decode()
        if len(data) != length or sha256_of(data) != sha:
            break
        chunk[sha] = data
        size += length
        if size >= _PACK_BYTES // 4:
            yield chunk
            chunk, size = {}, 0
    if chunk:
        yield chunk


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
    query = (select(Document).where(col(Document.parse_state) == ParseState.PENDING.value)
             .order_by(col(Document.first_seen_at), col(Document.sha256)))
    if limit is not None:
        query = query.limit(limit)
    docs = list(session.exec(query))
    if not docs:
        return []
    by_sha: dict[str, list[Arrival]] = {}
    shas = [d.sha256 for d in docs]
    for start in range(0, len(shas), 500):
        arrivals = session.exec(select(Arrival).where(col(Arrival.sha256).in_(shas[start:start + 500]))
                                .order_by(col(Arrival.received_at), col(Arrival.id)))
        for a in arrivals:
            by_sha.setdefault(a.sha256, []).append(a)
    pending = [PendingDocument(d.sha256, d.media_type, d.size, by_sha[d.sha256][0], len(by_sha[d.sha256]))
               for d in docs if d.sha256 in by_sha]
    # In the order they arrived (attachments of one message in the order they stand in it), as the
    # dossier rules and a dry run see them — not in the order of their hashes.
    pending.sort(key=lambda p: (p.arrival.received_at, p.arrival.id or 0))
    return pending


def mark_parsed(session: Session, sha256: str, *, outcome: str, at: datetime) -> None:
    """Record that a document was parsed (the caller commits with its own results)."""
    doc = session.get(Document, sha256)
    if doc is None:
        raise StoreError("document-missing", "no such document in the store", sha256=sha256)
    doc.parse_state = ParseState.PARSED.value
    doc.parse_outcome = outcome
    doc.parsed_at = at
    session.add(doc)


def arrivals_of(session: Session, sha256: str) -> list[Arrival]:
    return list(session.exec(select(Arrival).where(col(Arrival.sha256) == sha256)
                             .order_by(col(Arrival.received_at), col(Arrival.id))))


def existing_documents(session: Session, shas: Iterable[str]) -> set[str]:
    wanted = sorted(set(shas))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(sha for sha, in _select_in(session, "documents", wanted[start:start + 500]))
    return found


def known_messages(session: Session, shas: Sequence[str], *, channel: Channel) -> set[str]:
    """Which of these whole messages already arrived on ``channel`` (identical bytes = the same delivery)."""
    wanted = sorted(set(shas))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        # ``parent_sha256 IS NULL`` is checked here, not in SQL: SQLite (no ANALYZE) then searched
        # the parent index, i.e. every message ever stored, on each batch: a cost growing with volume.
        found.update(sha for sha, parent in _select_in(session, "messages", wanted[start:start + 500],
                                                       channel=channel.value) if parent is None)
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
            col(Arrival.sha256).in_(values), col(Arrival.channel) == bindparam("channel"))
    compiled = stmt.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())
