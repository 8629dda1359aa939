"""The append-only, hash-chained provisioning log: its actions, table, head row, canonical hash and appends.

Every decision the product takes is one ``audit_entry`` row. Each row's ``hash`` is SHA-256 over a
canonical JSON encoding of its immutable fields *including* ``seq`` and ``prev_hash``, so editing,
deleting, renumbering or swapping rows breaks the chain at the first touched sequence number.
A one-row ``audit_head`` table holds the last ``seq`` and ``hash``: appends lock it (an ``UPDATE``
first, which takes the row lock on PostgreSQL and the write lock on SQLite) so that concurrent
writers are serialised and never produce two entries with the same ``seq`` or a forked chain.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from extranet_intake.auditchain.prepared import Prepared
from extranet_intake.errors import AuditError

__all__ = [
    "AUDIT_ENTRY",
    "AUDIT_GUARD_DDL",
    "AUDIT_HEAD",
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "AuditAction",
    "AuditEntry",
    "AuditHead",
    "ChainProblem",
    "EntryFields",
    "VerifyReport",
    "append_entries",
    "append_entry",
    "canonical_details",
    "canonical_time",
    "chain",
    "entry_hash",
    "find_entry",
    "install_audit_guards",
    "iter_entries",
    "source_document",
    "verify_chain",
]

#: prev_hash of entry 1: a fixed, documented value so an empty-prefix forgery cannot pick its own
GENESIS_HASH = hashlib.sha256(b"extranet-intake audit genesis v1").hexdigest()

#: the immutable fields the hash covers, in the order of the canonical encoding
HASHED_FIELDS = ("seq", "at", "actor", "action", "org", "login", "document_sha256", "reason", "details", "prev_hash")


class AuditAction(StrEnum):
    DOCUMENT_RECEIVED = "document_received"
    DOCUMENT_DUPLICATE = "document_duplicate"
    DOCUMENT_REJECTED = "document_rejected"
    FORM_PARSED = "form_parsed"
    REVIEW_QUEUED = "review_queued"
    REVIEW_APPROVED = "review_approved"
    REVIEW_REJECTED = "review_rejected"
    #: one approval of a form that needs more than one person; the last one is REVIEW_APPROVED
    REVIEW_APPROVAL_RECORDED = "review_approval_recorded"
    #: a staff member opened an original document (personal data) in the desk
    DOCUMENT_OPENED = "document_opened"
    DOSSIER_OPENED = "dossier_opened"
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_MODIFIED = "account_modified"
    ACCOUNT_REVOKED = "account_revoked"
    ACCOUNT_EXPIRED = "account_expired"
    LEGACY_REVOKED = "legacy_revoked"
    MASTER_USER_REPLACED = "master_user_replaced"
    AGREEMENT_REPLACED = "agreement_replaced"
    CREDENTIALS_ISSUED = "credentials_issued"
    CREDENTIALS_REISSUED = "credentials_reissued"
    MAIL_QUEUED = "mail_queued"
    MAIL_SENT = "mail_sent"
    MAIL_FAILED = "mail_failed"
    MAIL_REFUSED = "mail_refused"
    MAIL_SUPERSEDED = "mail_superseded"
    EXPIRY_WARNED = "expiry_warned"
    NOTICE_SENT = "notice_sent"
    CHECKPOINT = "checkpoint"
    AUDIT_HEAD_REBUILT = "audit_head_rebuilt"
    STAFF_LOGIN = "staff_login"
    STAFF_LOGIN_FAILED = "staff_login_failed"
    STAFF_LOGOUT = "staff_logout"
    #: a staff account created, disabled, given a new password or a new TOTP authenticator (by ``actor``)
    STAFF_ADDED = "staff_added"
    STAFF_DISABLED = "staff_disabled"
    STAFF_PASSWORD_RESET = "staff_password_reset"  # noqa: S105 - an action's name, not a password
    STAFF_TOTP_ENROLLED = "staff_totp_enrolled"
    # the yearly access review by each Master User (issue 18.2; provisioning/access_review.py)
    ACCESS_REVIEW_STARTED = "access_review_started"
    ACCESS_REVIEW_REQUESTED = "access_review_requested"
    ACCESS_REVIEW_REMINDED = "access_review_reminded"
    ACCESS_REVIEW_CONFIRMED = "access_review_confirmed"
    ACCESS_REVIEW_CHANGES_ANNOUNCED = "access_review_changes_announced"
    ACCESS_REVIEW_REPLY_REFUSED = "access_review_reply_refused"
    ACCESS_REVIEW_OVERDUE = "access_review_overdue"
    ACCOUNT_SUSPENDED = "account_suspended"
    #: a suspended account made active again by a signed staff decision (``users reinstate``)
    ACCOUNT_REINSTATED = "account_reinstated"


class AuditEntry(SQLModel, table=True):
    """One decision. Written once by :func:`append_entry`; never updated or deleted."""

    __tablename__ = "audit_entry"
    # (column, seq): a filtered log page, newest first, reads just its rows (keyset paging)
    __table_args__ = (
        *(sa.Index(f"ix_audit_entry_{c}_seq", c, "seq") for c in ("org", "login", "action", "actor")),
        sa.Index("ix_audit_entry_org_action_seq", "org", "action", "seq"),
    )

    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    #: UTC; stored without offset on SQLite, as timestamptz on PostgreSQL
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=200)
    action: str = Field(max_length=40, index=True)
    org: str | None = Field(default=None, max_length=20, index=True)
    login: str | None = Field(default=None, max_length=64, index=True)
    document_sha256: str | None = Field(default=None, max_length=64, index=True)
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    #: canonical JSON text (sorted keys, no spaces); hashed as stored
    details: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """The single row naming the last entry; appends lock it to serialise writers."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    hash: str = Field(default=GENESIS_HASH, max_length=64)


# --- append-only guards ---------------------------------------------------------------------------

#: DDL refusing UPDATE/DELETE (and TRUNCATE on PostgreSQL) on audit_entry, per dialect name. The
#: Alembic revision runs these with ``op.execute``; ``create_all`` runs them via the event below.
AUDIT_GUARD_DDL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        """CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP USING ERRCODE = '42501';
END
$$""",
        "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
        "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
    ),
    "sqlite": (
        "CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: UPDATE refused'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: DELETE refused'); END",
    ),
}


def install_audit_guards(connection: Connection) -> None:
    """Create the append-only triggers for this connection's dialect (idempotent on SQLite)."""
    for statement in AUDIT_GUARD_DDL.get(connection.dialect.name, ()):
        # text() rather than exec_driver_sql: psycopg would read the PL/pgSQL '%' as a placeholder
        connection.execute(sa.text(statement))


def _after_entry_create(target: sa.Table, connection: Connection, **_: Any) -> None:
    install_audit_guards(connection)


def _after_head_create(target: sa.Table, connection: Connection, **_: Any) -> None:
    connection.execute(target.insert().values(id=1, seq=0, hash=GENESIS_HASH))


#: the Core tables, for streaming reads and inserts without an ORM object per row
AUDIT_ENTRY: sa.Table = AuditEntry.__table__  # type: ignore[attr-defined]
AUDIT_HEAD: sa.Table = AuditHead.__table__  # type: ignore[attr-defined]

event.listen(AUDIT_ENTRY, "after_create", _after_entry_create)
event.listen(AUDIT_HEAD, "after_create", _after_head_create)


# --- canonical encoding (pure) ------------------------------------------------------------------


def canonical_time(at: datetime) -> str:
    """UTC ISO-8601 with microseconds and ``Z``; a naive value is UTC (that is how SQLite returns it)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return (
        f"{at.year:04d}-{at.month:02d}-{at.day:02d}T{at.hour:02d}:{at.minute:02d}:{at.second:02d}.{at.microsecond:06d}Z"
    )


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: the exact text stored and hashed.

    ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    default=_json_default)``, calling the C encoder it would build (a fresh one, with its own
    circular-reference check) without building a ``JSONEncoder`` each time: every plan calls this.
    """
    value = dict(details or {})
    if _C_MAKE_ENCODER is None:  # pragma: no cover - CPython always has the C accelerator
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    encode = _C_MAKE_ENCODER({}, _json_default, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    return "".join(encode(value, 0))


_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return canonical_time(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"audit details cannot hold {type(value).__name__}")


def _make_array_encoder() -> Callable[[list[Any] | tuple[Any, ...]], str]:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, without its per-call setup.

    ``JSONEncoder.encode`` builds a fresh C encoder on every call, which is most of the cost of
    hashing one entry; verifying 100,000 entries calls it 100,000 times.
    """
    c_make = getattr(json.encoder, "c_make_encoder", None)
    if c_make is None:  # pragma: no cover - CPython always has the C accelerator
        encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
        return encoder.encode

    def refuse(value: Any) -> Any:
        raise TypeError(f"cannot hash {type(value).__name__}")

    make = c_make(None, refuse, json.encoder.encode_basestring, None, ":", ",", True, False, False)

    def encode(value: list[Any] | tuple[Any, ...]) -> str:
        return "".join(make(value, 0))

    return encode


_encode_array = _make_array_encoder()


def entry_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    org: str | None,
    login: str | None,
    document_sha256: str | None,
    reason: str,
    details: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical encoding of one entry's immutable fields.

    The encoding is a JSON array in :data:`HASHED_FIELDS` order; JSON quoting makes field
    boundaries unambiguous, so no two different entries share an encoding.
    """
    encoded = _encode_array([seq, at, actor, action, org, login, document_sha256, reason, details, prev_hash])
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class EntryFields:
    """An entry before it gets its place in the chain (used by bulk builders such as the benchmark)."""

    at: datetime
    actor: str
    action: AuditAction
    org: str | None
    login: str | None
    document_sha256: str | None
    reason: str
    details: str = "{}"


def chain(
    fields: Iterable[EntryFields], *, start_seq: int = 1, prev_hash: str = GENESIS_HASH
) -> Iterator[dict[str, Any]]:
    """Give each entry its seq, prev_hash and hash: the pure core of :func:`append_entry`."""
    seq = start_seq
    for f in fields:
        at = f.at.astimezone(UTC) if f.at.tzinfo else f.at.replace(tzinfo=UTC)
        digest = entry_hash(
            seq=seq,
            at=canonical_time(at),
            actor=f.actor,
            action=str(f.action),
            org=f.org,
            login=f.login,
            document_sha256=f.document_sha256,
            reason=f.reason,
            details=f.details,
            prev_hash=prev_hash,
        )
        yield {
            "seq": seq,
            "at": at,
            "actor": f.actor,
            "action": str(f.action),
            "org": f.org,
            "login": f.login,
            "document_sha256": f.document_sha256,
            "reason": f.reason,
            "details": f.details,
            "prev_hash": prev_hash,
            "hash": digest,
        }
        prev_hash = digest
        seq += 1


# --- append (I/O) ---------------------------------------------------------------------------------

_head = AUDIT_HEAD
_entry = AUDIT_ENTRY


#: statements built once: every plan appends, and building a statement costs more than running it.
#: The lock writes the head row without changing it (``seq = seq``): the entries' count is only
#: known for certain after a rebuilt head's note, so :data:`_SET_HEAD` names the last entry at the end.
#: They run on the driver's cursor (:class:`Prepared`), in the caller's transaction.
_LOCK_HEAD = Prepared(
    sa.update(_head).where(_head.c.id == 1).values(seq=_head.c.seq).returning(_head.c.seq, _head.c.hash)
)
_SET_HEAD = Prepared(
    sa.update(_head).where(_head.c.id == 1).values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)
_INSERT_ENTRY = Prepared(_entry.insert(), column_keys=(*HASHED_FIELDS, "hash"))
_LAST_ENTRY = Prepared(sa.select(_entry.c.seq, _entry.c.hash).order_by(_entry.c.seq.desc()).limit(1))
#: SQLite: the lock and the chain's last entry in one statement. Its reads run under the write lock
#: the UPDATE takes first, so they see what a SELECT after it would (no other writer can commit in
#: between, and a stale snapshot cannot take the lock at all). Not on PostgreSQL: there the
#: statement's snapshot predates a wait on the row lock, and would miss the entries of the
#: transaction it waited for; a separate SELECT after the lock sees them.
_LOCK_HEAD_READ_LAST = Prepared(
    sa.update(_head)
    .where(_head.c.id == 1)
    .values(seq=_head.c.seq)
    .returning(
        _head.c.seq,
        _head.c.hash,
        *(sa.select(c).order_by(_entry.c.seq.desc()).limit(1).scalar_subquery() for c in (_entry.c.seq, _entry.c.hash)),
    )
)


def _lock_head(connection: Connection) -> tuple[int, str]:
    """Lock the head row and read it; returns (the next entry's seq, the last entry's hash).

    The head is checked against the chain's last entry rather than trusted: a head row that was
    deleted is rebuilt from a chain that verifies (and the rebuild is itself an entry), and a head
    that names another entry than the last is a coded refusal — never a crash on a duplicate
    ``seq``, never an entry chained to something else than the last one.
    """
    # UPDATE … RETURNING both takes the lock (row lock on PostgreSQL, RESERVED on SQLite, waiting
    # on busy_timeout) and reads the head in one round trip; a SELECT first would let two SQLite
    # readers race to upgrade, and on PostgreSQL would need FOR UPDATE anyway.
    together = connection.dialect.name == "sqlite"
    lock = _LOCK_HEAD_READ_LAST if together else _LOCK_HEAD
    rows = lock.execute(connection)
    if not rows:
        if _create_head(connection):
            _rebuilt_head(connection)
        rows = lock.execute(connection)
        if not rows:  # pragma: no cover - the insert above guarantees the row
            raise AuditError("audit-head-missing", "audit_head row could not be created")
    seq, prev = int(rows[0][0]) + 1, str(rows[0][1])
    if together:
        last = (int(rows[0][2]), str(rows[0][3])) if rows[0][2] is not None else None
    else:
        last = _last_entry(connection)
    if (last or (0, GENESIS_HASH)) != (seq - 1, prev):
        raise AuditError(
            "audit-head-mismatch",
            f"the audit head names entry {seq - 1} but the log ends at entry "
            f"{last[0] if last else 0}: run `audit verify`; nothing is appended to a tampered chain",
            head_seq=seq - 1,
            last_seq=last[0] if last else 0,
        )
    return seq, prev


def _last_entry(connection: Connection) -> tuple[int, str] | None:
    rows = _LAST_ENTRY.execute(connection)
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def _rebuilt_head(connection: Connection) -> None:
    """The head row was missing and has just been made at genesis: put it on the chain's last entry.

    Only a chain that verifies is extended; the rebuild is recorded as an entry of its own, so an
    auditor sees that the head was lost (and a checkpoint still catches a tail cut with it).
    """
    last = _last_entry(connection)
    if last is None:
        return  # a first append on a schema made without the head row: genesis is right
    report = verify_chain(connection, check_head=False)
    if not report.ok:
        raise AuditError(
            "audit-chain-broken",
            f"the audit head row is missing and the chain is broken at entry "
            f"{report.first_bad_seq} ({report.problem}): nothing is appended",
            seq=report.first_bad_seq,
        )
    connection.execute(sa.update(_head).where(_head.c.id == 1).values(seq=last[0], hash=last[1]))
    connection.info["audit_head_rebuilt"] = last[0]


def _create_head(connection: Connection) -> bool:
    """Insert the genesis head row if there is none; True when this call made it."""
    # The head row is normally made by create_all / the migration; this covers a schema made some
    # other way, or a row deleted. ON CONFLICT DO NOTHING keeps two first writers from failing each other.
    name = connection.dialect.name
    values = {"id": 1, "seq": 0, "hash": GENESIS_HASH}
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        result = connection.execute(pg_insert(_head).values(**values).on_conflict_do_nothing())
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        result = connection.execute(sqlite_insert(_head).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - only the two supported databases
        result = connection.execute(_head.insert().values(**values))
    return bool(result.rowcount)


def append_entry(
    session: Session,
    *,
    actor: str,
    action: AuditAction,
    org: str | None,
    login: str | None,
    document_sha256: str | None,
    reason: str,
    details: dict[str, Any] | None = None,
    at: datetime,
) -> AuditEntry:
    """Append one entry inside the caller's transaction (the caller commits or rolls back).

    The head row stays locked until that transaction ends, so keep the transaction short. The
    returned object is a detached copy of the row written through Core: do not ``session.add`` it.
    """
    rows = append_entries(
        session,
        [
            EntryFields(
                at=at,
                actor=actor,
                action=action,
                org=org,
                login=login,
                document_sha256=document_sha256,
                reason=reason,
                details=canonical_details(details),
            )
        ],
    )
    return AuditEntry(**rows[-1])


def append_entries(
    session: Session, entries: Sequence[EntryFields], *, connection: Connection | None = None
) -> list[dict[str, Any]]:
    """Append ``entries`` in their order inside the caller's transaction; returns the rows written.

    One head lock, one multi-row INSERT and one head update, however many entries (a plan writes
    two or more): the entries are hashed exactly as one :func:`append_entry` after another would
    hash them, so the chain is the same. ``details`` is canonical JSON (:func:`canonical_details`).
    ``connection`` is the session's own (``session.connection()``) when the caller already holds it.
    """
    if not entries:
        return []
    for e in entries:
        if not e.actor:
            raise AuditError("audit-actor-missing", "an audit entry needs an actor")
        if e.at.tzinfo is None:
            raise AuditError("audit-naive-time", "audit times must carry a timezone", action=str(e.action))
        AuditAction(e.action)  # a value outside the catalogue is refused before anything is written
    connection = connection or session.connection()
    seq, prev = _lock_head(connection)
    fields = list(entries)
    rebuilt = connection.info.pop("audit_head_rebuilt", None)
    if rebuilt is not None:
        fields.insert(
            0,
            EntryFields(
                at=entries[0].at,
                actor="system",
                action=AuditAction.AUDIT_HEAD_REBUILT,
                org=None,
                login=None,
                document_sha256=None,
                reason=f"the audit head row was missing; rebuilt on entry {rebuilt} after the chain verified",
                details=canonical_details({"head_seq": rebuilt}),
            ),
        )
    rows = list(chain(fields, start_seq=seq, prev_hash=prev))
    _INSERT_ENTRY.executemany(connection, rows)
    _SET_HEAD.execute(connection, {"new_seq": rows[-1]["seq"], "new_hash": rows[-1]["hash"]})
    return rows


# --- reading and verifying (streamed Core rows, no ORM object per row) -----------------------------

_COLUMNS = tuple(AUDIT_ENTRY.c[name] for name in (*HASHED_FIELDS, "hash"))


def iter_entries(
    connection: Connection,
    *,
    org: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    actions: Iterable[AuditAction] | None = None,
    limit: int | None = None,
    batch_size: int = 5000,
) -> Iterator[dict[str, Any]]:
    """Entries in ``seq`` order as plain dicts (``at`` as an aware UTC datetime), streamed in batches."""
    stmt = sa.select(*_COLUMNS).order_by(AUDIT_ENTRY.c.seq)
    if org is not None:
        stmt = stmt.where(AUDIT_ENTRY.c.org == org)
    if since is not None:
        stmt = stmt.where(AUDIT_ENTRY.c.at >= _utc(since))
    if until is not None:
        stmt = stmt.where(AUDIT_ENTRY.c.at < _utc(until))
    if actions is not None:
        stmt = stmt.where(AUDIT_ENTRY.c.action.in_([str(a) for a in actions]))
    if limit is not None:
        stmt = stmt.limit(limit)
    names = [c.name for c in _COLUMNS]
    result = connection.execution_options(yield_per=batch_size).execute(stmt)
    for part in result.partitions():
        for row in part:
            item = dict(zip(names, row, strict=True))
            item["at"] = _utc(item["at"])
            yield item


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)


class ChainProblem(StrEnum):
    MISSING = "missing"  # a seq number is absent: a row was deleted
    ALTERED = "altered"  # fields no longer give the stored hash: edited or moved
    RELINKED = "relinked"  # prev_hash is not the previous entry's hash: reordered/spliced
    TRUNCATED = "truncated"  # the head row or the checkpoint names entries that are gone
    HEAD_MISMATCH = "head_mismatch"  # the head row's hash is not that of the entry it names
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # chain up to the checkpoint was rewritten
    HEAD_MISSING = "head_missing"  # the head row was deleted: a cut tail could no longer be seen
    UNREADABLE = "unreadable"  # a row or column the chain cannot be read from (type changed …)


@dataclass(frozen=True)
class VerifyReport:
    count: int
    last_seq: int
    last_hash: str
    first_bad_seq: int | None = None
    problem: ChainProblem | None = None
    message: str = ""
    checkpoint_seq: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "count": self.count,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "first_bad_seq": self.first_bad_seq,
            "problem": str(self.problem) if self.problem else None,
            "message": self.message,
            "checkpoint_seq": self.checkpoint_seq,
            "seconds": round(self.seconds, 3),
        }


def _time_text(dialect: str) -> str | None:
    """SQL giving ``at`` already in canonical text, so verification parses no datetime per row."""
    if dialect == "postgresql":
        return """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    if dialect == "sqlite":
        # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (fixed width, UTC here)
        return "replace(at, ' ', 'T') || 'Z'"
    return None


def _stream_raw(connection: Connection, sql: str, batch_size: int) -> Generator[tuple[Any, ...], None, None]:
    """Rows straight from the driver in batches: a server-side (named) cursor on PostgreSQL."""
    dbapi: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        cursor = dbapi.cursor(name="audit_verify")
        cursor.itersize = batch_size
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch_size):
            yield from rows
    finally:
        cursor.close()


def verify_chain(
    connection: Connection,
    *,
    pinned: tuple[int, str] | None = None,
    batch_size: int = 20_000,
    check_head: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> VerifyReport:
    """Walk the whole chain once and report the first bad sequence number, if any.

    ``pinned`` is ``(seq, head_hash)`` from a checkpoint whose signature the caller has checked: it
    catches what an internally consistent chain cannot show — a truncated tail, or a prefix whose
    hashes were all recomputed after a forgery. The head row is compared with the chain's own last
    entry (never trusted); a missing head row is a break, since a cut tail would go unseen. Never
    raises for what it reads: a value of the wrong type (a BLOB put in ``details``), a row that
    cannot be decoded or a table that cannot be read is a reported break, not a traceback.
    """
    started = clock()
    time_sql = _time_text(connection.dialect.name)
    names = ", ".join(HASHED_FIELDS[2:])
    sql = f"SELECT seq, {time_sql or 'at'}, {names}, hash FROM audit_entry ORDER BY seq"  # noqa: S608
    expected = 1
    prev = GENESIS_HASH
    pinned_seen = False
    encode = _encode_array
    sha256 = hashlib.sha256

    def report(bad: int | None, problem: ChainProblem | None, message: str) -> VerifyReport:
        return VerifyReport(
            count=expected - 1,
            last_seq=expected - 1,
            last_hash=prev,
            first_bad_seq=bad,
            problem=problem,
            message=message,
            checkpoint_seq=pinned[0] if pinned else None,
            seconds=clock() - started,
        )

    try:
        head = connection.execute(sa.select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.hash).where(AUDIT_HEAD.c.id == 1)).first()
        rows = _stream_raw(connection, sql, batch_size)
    except (sa.exc.DBAPIError, ValueError, TypeError) as exc:
        return report(1, ChainProblem.UNREADABLE, f"the audit tables cannot be read: {_why(exc)}")
    try:
        while True:
            try:
                row = next(rows, None)
            except (sa.exc.DBAPIError, ValueError, TypeError, UnicodeError) as exc:
                # the driver failed on a row (an undecodable value, a type it cannot convert)
                return report(expected, ChainProblem.UNREADABLE, f"entry {expected} cannot be read: {_why(exc)}")
            except Exception as exc:  # DB-API drivers raise their own classes for a bad row
                if not _is_driver_error(exc):
                    raise
                return report(expected, ChainProblem.UNREADABLE, f"entry {expected} cannot be read: {_why(exc)}")
            if row is None:
                break
            seq = row[0]
            stored = row[10]
            if type(seq) is not int:
                return report(
                    expected,
                    ChainProblem.UNREADABLE,
                    f"the entry after {expected - 1} has a sequence number of type "
                    f"{type(seq).__name__} ({shown_value(seq)}): the table was tampered with",
                )
            if seq != expected:
                return report(
                    expected,
                    ChainProblem.MISSING,
                    f"entry {expected} is missing (next present is {seq}): a row was deleted",
                )
            wrong = [
                HASHED_FIELDS[i]
                for i in range(1 if time_sql else 2, 10)
                if row[i] is not None and type(row[i]) is not str
            ]
            if wrong or type(stored) is not str:
                names_ = ", ".join(wrong or ["hash"])
                return report(
                    seq,
                    ChainProblem.ALTERED,
                    f"entry {seq} holds a value of the wrong type in {names_} "
                    f"({type(row[HASHED_FIELDS.index(wrong[0])] if wrong else stored).__name__}): "
                    "it was edited outside the application",
                )
            fields = row[:10]  # the C encoder writes a tuple as a JSON array, as it does a list
            if time_sql is None:
                fields = (seq, canonical_time(row[1]), *row[2:10])
            try:
                digest = sha256(encode(fields).encode("utf-8")).hexdigest()
            except (TypeError, ValueError, UnicodeError) as exc:
                return report(
                    seq,
                    ChainProblem.ALTERED,
                    f"entry {seq} cannot be hashed ({_why(exc)}): it was edited outside the application",
                )
            if digest != stored:
                return report(
                    seq, ChainProblem.ALTERED, f"entry {seq} does not match its own hash: it was edited or moved"
                )
            if row[9] != prev:
                # entry seq-1 hashes correctly but is not the one seq was chained to: seq-1 was
                # replaced by a self-consistent forgery (or the genesis link was changed)
                bad = max(seq - 1, 1)
                return report(
                    bad,
                    ChainProblem.RELINKED,
                    f"entry {seq} was not chained to the present entry {seq - 1}: entry {bad} "
                    "was replaced (its hash recomputed) or entries were reordered",
                )
            if pinned is not None and seq == pinned[0]:
                pinned_seen = True
                if stored != pinned[1]:
                    return report(
                        seq,
                        ChainProblem.CHECKPOINT_MISMATCH,
                        f"the chain up to entry {seq} is not the one the checkpoint signed: "
                        f"entries at or before {seq} were rewritten",
                    )
            prev = stored
            expected += 1
    finally:
        rows.close()
    last = expected - 1
    if pinned is not None and not pinned_seen:
        return report(
            last + 1,
            ChainProblem.TRUNCATED,
            f"the checkpoint names entry {pinned[0]} but the log ends at {last}: the tail was removed",
        )
    if not check_head:
        return report(None, None, f"{last} entries, chain intact")
    if head is None:
        return report(
            last + 1,
            ChainProblem.HEAD_MISSING,
            f"the audit head row is missing (the log ends at entry {last}): it was deleted, and entries "
            "after it may have been removed with it — compare with a signed checkpoint",
        )
    try:
        head_seq, head_hash = int(head[0]), str(head[1])
    except (TypeError, ValueError):
        return report(last + 1, ChainProblem.HEAD_MISMATCH, "the audit head row holds values of the wrong type")
    if head_seq > last:
        return report(
            last + 1,
            ChainProblem.TRUNCATED,
            f"the head names entry {head_seq} but the log ends at {last}: the tail was removed",
        )
    if head_seq < last:
        return report(
            head_seq + 1,
            ChainProblem.HEAD_MISMATCH,
            f"the head names entry {head_seq} but the log goes on to {last}: entries were added "
            "outside the application, or the head was set back",
        )
    if head_hash != prev:
        return report(last, ChainProblem.HEAD_MISMATCH, f"the head's hash is not that of entry {last}")
    return report(None, None, f"{last} entries, chain intact")


def shown_value(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _why(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:160]}"


def _is_driver_error(exc: BaseException) -> bool:
    """A PEP 249 error of the driver (sqlite3.Error, psycopg.Error …): all have ``Error`` in their MRO names."""
    return any(
        cls.__name__ in ("Error", "DatabaseError", "DataError") and cls.__module__ != "builtins"
        for cls in type(exc).__mro__
    )


def find_entry(connection: Connection, seq: int) -> dict[str, Any]:
    """One entry by its sequence number, as a dict like :func:`iter_entries` gives."""
    row = connection.execute(sa.select(*_COLUMNS).where(AUDIT_ENTRY.c.seq == seq)).first()
    if row is None:
        raise AuditError("audit-entry-not-found", f"no audit entry {seq}", seq=seq)
    item = dict(zip([c.name for c in _COLUMNS], row, strict=True))
    item["at"] = _utc(item["at"])
    return item


def source_document(
    connection: Connection, seq: int, *, open_document: Callable[[str], bytes]
) -> tuple[dict[str, Any], bytes]:
    """The entry ``seq`` and the original bytes it was decided on, by SHA-256 from the store.

    ``open_document`` (e.g. ``DocumentStore.open``) must refuse bytes that no longer hash to the
    name; the check is repeated here so an auditor never sees a substituted document.
    """
    entry = find_entry(connection, seq)
    sha = entry["document_sha256"]
    if not sha:
        raise AuditError("audit-no-document", f"audit entry {seq} concerns no document", seq=seq)
    data = open_document(sha)
    if hashlib.sha256(data).hexdigest() != sha:
        raise AuditError(
            "audit-document-mismatch", "the stored document does not match the entry's SHA-256", seq=seq, sha256=sha
        )
    return entry, data
