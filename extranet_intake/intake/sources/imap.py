"""The IMAP poller: drain a folder into the document store exactly once, then move what was stored.

Order of work, per batch, is what makes it crash-safe (paperless lost or duplicated mail exactly
where it moved first and recorded later):

1. ``UID SEARCH UNDELETED``, minus the UIDs the ledger already holds for this UIDVALIDITY;
2. ``UID FETCH <batch> (BODY.PEEK[])`` — PEEK so a failed run leaves the \\Seen flag alone;
3. the raw messages go to the store's pack (one durability point per batch), their document,
   arrival and ledger rows are committed together — no MIME parsing here: ``explode_messages``
   (stage 2) reads the stored messages after the drain;
4. only then ``UID MOVE`` to Processed (or COPY + ``UID EXPUNGE`` of those UIDs only, RFC 4315);
   the ledger's ``moved`` mark rides on a later commit.

The steps of neighbouring batches overlap, never the steps of one batch: the FETCH of batch n+1 is
sent, and its reply read, while batch n is stored and committed (the server and the socket go on
while the disk and the database work) — its bytes packed in one thread, then its rows added and
committed in another while the first packs batch n+1 — and the MOVEs run on a second connection,
in a fourth thread, while later batches are read and stored. A batch is moved only
after its commit; one MOVE runs at a time, and the batches committed while it runs go together in
the next.

A crash before 3 leaves nothing recorded and the message in place: it is fetched again. A crash
between 3 and 4 leaves the ledger saying ``stored``: the next run only moves it. A crash after 4
leaves ``stored`` rows whose UIDs are gone from the folder: the next run records them as moved. A UIDVALIDITY
change invalidates every UID; the content hash then decides — a message whose exact bytes were
already stored is acknowledged as a duplicate and moved, never stored twice.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from sqlalchemy import Table, delete
from sqlmodel import Session, col, select

from extranet_intake.errors import ConfigError, SourceError
from extranet_intake.intake.config import ImapConfig, TlsMode
from extranet_intake.intake.sources.imap_fetch import FetchReply, read_fetch, send_fetch
from extranet_intake.intake.sources.ingest import (
    Clock,
    Incoming,
    Packed,
    PollReport,
    PollStep,
    ProgressHook,
    audit_refusals,
    count,
    pack_items,
    record_packed,
)
from extranet_intake.intake.sources.peek import Peek
from extranet_intake.intake.store import DocumentStore
from extranet_intake.intake.store_tables import (
    ImapFolder,
    ImapLedger,
    LedgerState,
    driver_datetimes,
    insert_rows,
    insert_values,
    mark_imap_ledger,
)
from extranet_intake.parsers.result import Channel

__all__ = ["account_of", "connect", "move_uids", "poll_imap"]


_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_CONNECTION_LOST = (IMAPClientAbortError, OSError, socket.timeout, EOFError)


class _ConnectionLost(Exception):
    pass


def account_of(cfg: ImapConfig) -> str:
    """The mailbox's name in the ledger: the same login on another server is another mailbox."""
    return f"{cfg.user}@{cfg.host}"


def connect(cfg: ImapConfig, *, password: str) -> IMAPClient:
    """Open and log in: implicit TLS, STARTTLS, or (loopback only) plain."""
    if cfg.tls is TlsMode.NONE and cfg.host not in _LOOPBACK:
        # A password in clear over a real network is never acceptable, whatever the config says.
        raise ConfigError(
            "imap-plaintext-refused",
            "sources.imap.tls = 'none' is allowed on loopback only",
            key="sources.imap.tls",
            host=cfg.host,
        )
    context = ssl.create_default_context(cafile=cfg.ca_file or None)
    try:
        client = IMAPClient(
            cfg.host,
            port=cfg.port,
            ssl=cfg.tls is TlsMode.IMPLICIT,
            ssl_context=context if cfg.tls is TlsMode.IMPLICIT else None,
            timeout=cfg.timeout_seconds,
        )
        # Keep INTERNALDATE timezone-aware instead of converted to the machine's local time.
        client.normalise_times = False
        # imapclient sets imaplib's debug level to 5, which makes imaplib format every response line
        # and literal — whole message bodies — into debug strings, logged or not: that tripled the
        # fetch time, and mail content has no business in a log anyway.
        client._imap.debug = 0
        if cfg.tls is TlsMode.STARTTLS:
            client.starttls(context)
    except (*_CONNECTION_LOST, IMAPClientError) as exc:
        raise SourceError(
            "imap-connect-failed", f"cannot connect: {type(exc).__name__}: {exc}", host=cfg.host, port=cfg.port
        ) from exc
    try:
        client.login(cfg.user, password)
    except LoginError:
        _close(client)
        # The server's text may echo the user name, never the password; ours carries neither.
        raise SourceError(
            "imap-login-failed", "the IMAP server refused the login", host=cfg.host, user=cfg.user
        ) from None
    except (*_CONNECTION_LOST, IMAPClientError) as exc:
        _close(client)
        raise SourceError(
            "imap-connect-failed", f"connection lost at login: {type(exc).__name__}", host=cfg.host, port=cfg.port
        ) from exc
    return client


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # a broken connection may fail to close in any way
        with contextlib.suppress(Exception):
            client.shutdown()


def poll_imap(
    cfg: ImapConfig,
    *,
    store: DocumentStore,
    session_factory: Callable[[], Session],
    password: str,
    clock: Clock,
    on_progress: ProgressHook | None = None,
    peek: Peek | None = None,
) -> PollReport:
    """Drain ``cfg.folder`` into the store; returns what happened. Per-message failures are in the report;
    only an unusable configuration, a refused login or a connection that keeps dropping raise.
    With ``peek``: read only (``run --dry-run``), see ``intake.sources.peek``: the folder is selected
    read-only, and nothing is recorded, stored or moved."""
    report = PollReport(source=f"imap:{cfg.user}@{cfg.host}/{cfg.folder}")
    poller = _Poller(
        cfg,
        store=store,
        session_factory=session_factory,
        clock=clock,
        hook=on_progress or (lambda step, uids: None),
        report=report,
        peek=peek,
    )
    for attempt in range(cfg.reconnect_attempts + 1):
        client = connect(cfg, password=password)
        try:
            poller.run(client, lambda: connect(cfg, password=password))
            return report
        except _ConnectionLost as exc:
            if attempt == cfg.reconnect_attempts:
                raise SourceError(
                    "imap-connection-lost",
                    f"the connection kept dropping: {exc.__cause__}",
                    host=cfg.host,
                    folder=cfg.folder,
                ) from exc
            report.reconnects += 1
        finally:
            # Whatever ends the run (even an exception that is not ours), the session ends with it, as
            # it would if the process died: a session left open keeps the server's view of the folder.
            _close(client)
    return report  # pragma: no cover - the loop returns or raises


def _chunks(items: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), max(1, size)):
        yield list(items[start : start + size])


class _Poller:
    def __init__(
        self,
        cfg: ImapConfig,
        *,
        store: DocumentStore,
        session_factory: Callable[[], Session],
        clock: Clock,
        hook: ProgressHook,
        report: PollReport,
        peek: Peek | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.session_factory = session_factory
        self.clock = clock
        self.hook = hook
        self.report = report
        self.account = account_of(cfg)
        #: (uidvalidity, uids, state) moved on the server, recorded with the next commit
        self.marks: list[tuple[int, list[int], LedgerState]] = []
        #: UIDs of a batch whose FETCH broke the connection: fetched one by one after reconnecting
        self.suspects: set[int] = set()
        #: read-only mode: told what a run would take in or refuse, instead of doing it
        self.peek = peek
        #: datetimes as the database's driver takes them (known once a session was opened): the
        #: packer builds a batch's rows beforehand with it
        self.when: Callable[[datetime], Any] | None = None

    def run(self, client: IMAPClient, connect_mover: Callable[[], IMAPClient]) -> None:
        try:
            self._run(client, connect_mover)
        except _CONNECTION_LOST as exc:
            raise _ConnectionLost(str(exc)) from exc
        except IMAPClientError as exc:
            # A command the server refused (a MOVE over quota, a folder it will not create…): this
            # source stops here with a coded error, the run goes on; what was committed stays so.
            raise SourceError(
                "imap-command-refused",
                f"the IMAP server refused a command: {str(exc)[:500]}",
                host=self.cfg.host,
                folder=self.cfg.folder,
            ) from exc
        finally:
            # Moves done but not yet recorded: record them now if the database still answers; if not
            # (or on SIGKILL), the next run finds those UIDs gone from the folder and records them.
            with contextlib.suppress(Exception), self.session_factory() as session:
                self._flush_marks(session)
                session.commit()

    def _run(self, client: IMAPClient, connect_mover: Callable[[], IMAPClient]) -> None:
        cfg = self.cfg
        read_only = self.peek is not None
        for folder in () if read_only else (cfg.processed_folder, cfg.failed_folder):
            if not client.folder_exists(folder):
                client.create_folder(folder)
        selected = client.select_folder(cfg.folder, readonly=read_only)
        uidvalidity = int(selected[b"UIDVALIDITY"])
        caps = {c.upper() for c in client.capabilities()}
        with self.session_factory() as session:
            if not read_only:
                self._record_uidvalidity(session, uidvalidity)
            uids = sorted(int(u) for u in client.search(["UNDELETED"]))
            if not read_only:
                self._record_gone(session, uidvalidity, set(uids))
            ledger = self._ledger(session, uidvalidity, uids)
            self.when = driver_datetimes(session)
        fresh = {u for u in uids if u not in ledger}
        self.report.seen = len(fresh) + sum(1 for row in ledger.values() if row.state == LedgerState.RETRY)
        # Left from an earlier run that stopped between its commit and its move: only move them.
        self._move(
            client,
            uidvalidity,
            [
                u
                for u in uids
                if u in ledger and ledger[u].state in (LedgerState.STORED, LedgerState.DUPLICATE, LedgerState.MOVED)
            ],
            cfg.processed_folder,
            LedgerState.MOVED,
            caps,
        )
        self._move(
            client,
            uidvalidity,
            [u for u in uids if u in ledger and ledger[u].state in (LedgerState.FAILING, LedgerState.FAILED)],
            cfg.failed_folder,
            LedgerState.FAILED,
            caps,
        )
        todo = [u for u in uids if u in fresh or ledger[u].state == LedgerState.RETRY]
        attempts = {u: ledger[u].attempts for u in todo if u in ledger}
        todo = self._refuse_oversized(client, uidvalidity, todo, attempts, caps)
        # A batch whose FETCH broke the connection is fetched again one message at a time: a message
        # the server cannot serve (it drops the connection on it) is found and failed, not retried
        # with its neighbours for ever.
        batches = [[u] for u in todo if u in self.suspects] + list(
            _chunks([u for u in todo if u not in self.suspects], cfg.batch_size)
        )
        if not batches:
            return
        with (
            _Mover(self, connect_mover, uidvalidity, caps) as mover,
            _Writer(self, mover, uidvalidity, attempts) as writer,
        ):
            tag = send_fetch(client, batches[0])
            for i, batch in enumerate(batches):
                try:
                    fetched = read_fetch(client, tag, max_bytes=cfg.max_message_bytes)
                except _CONNECTION_LOST as exc:
                    if len(batch) == 1:
                        writer.drain()  # one session at a time: the batches read before it first
                        self._record_cut(uidvalidity, batch[0], attempts, exc)
                    self.suspects.update(batch)
                    raise
                if i + 1 < len(batches):
                    tag = send_fetch(client, batches[i + 1])
                writer.put(batch, fetched)

    def _record_cut(self, uidvalidity: int, uid: int, attempts: dict[int, int], exc: BaseException) -> None:
        """The connection broke while this message alone was being fetched: an attempt of its own."""
        tries = attempts.get(uid, 0) + 1
        state = LedgerState.FAILING if tries >= self.cfg.max_attempts else LedgerState.RETRY
        message = f"the connection broke while this message alone was being fetched: {type(exc).__name__}"
        if self.peek is not None:
            self.report.error("imap-fetch-cut", message, uid=uid, attempt=tries)
            return
        with self.session_factory() as session:
            self._write_ledger(
                session,
                uidvalidity,
                [
                    self._row(
                        uidvalidity,
                        uid,
                        state=state,
                        attempts=tries,
                        last_error=f"imap-fetch-cut: {message}",
                        now=self.clock(),
                    )
                ],
                existing=attempts,
            )
            session.commit()
        self.report.error("imap-fetch-cut", message, uid=uid, attempt=tries)

    def _record_gone(self, session: Session, uidvalidity: int, present: set[int]) -> None:
        """Committed rows whose message has left the folder were moved by a run that stopped before
        recording it (the MOVED mark rides on the next batch's commit): record that now."""
        query = select(ImapLedger.uid, ImapLedger.state).where(
            col(ImapLedger.account) == self.account,
            col(ImapLedger.folder) == self.cfg.folder,
            col(ImapLedger.uidvalidity) == uidvalidity,
            col(ImapLedger.state).in_(
                [LedgerState.STORED.value, LedgerState.DUPLICATE.value, LedgerState.FAILING.value]
            ),
        )
        for uid, state in session.exec(query):
            if uid not in present:
                done = LedgerState.FAILED if state == LedgerState.FAILING else LedgerState.MOVED
                self.marks.append((uidvalidity, [uid], done))
        self._flush_marks(session)
        session.commit()

    def _flush_marks(self, session: Session) -> None:
        marks, self.marks = self.marks, []
        now = self.clock()
        for uidvalidity, uids, state in marks:
            mark_imap_ledger(session, self.account, self.cfg.folder, uidvalidity, uids, state.value, now)

    def _record_uidvalidity(self, session: Session, uidvalidity: int) -> None:
        row = session.get(ImapFolder, (self.account, self.cfg.folder))
        if row is not None and row.uidvalidity == uidvalidity:
            return
        if row is None:
            row = ImapFolder(
                account=self.account, folder=self.cfg.folder, uidvalidity=uidvalidity, changed_at=self.clock()
            )
        else:
            self.report.uidvalidity_changed = True
            row.uidvalidity = uidvalidity
            row.changed_at = self.clock()
        session.add(row)
        session.commit()

    def _ledger(self, session: Session, uidvalidity: int, uids: Sequence[int]) -> dict[int, ImapLedger]:
        if not uids:
            return {}
        query = select(ImapLedger).where(
            col(ImapLedger.account) == self.account,
            col(ImapLedger.folder) == self.cfg.folder,
            col(ImapLedger.uidvalidity) == uidvalidity,
            col(ImapLedger.uid) >= uids[0],
            col(ImapLedger.uid) <= uids[-1],
        )
        wanted = set(uids)
        return {row.uid: row for row in session.exec(query) if row.uid in wanted}

    def _refuse_oversized(
        self, client: IMAPClient, uidvalidity: int, todo: list[int], attempts: dict[int, int], caps: set[bytes]
    ) -> list[int]:
        """Drop (to Failed, with the reason) messages over the size cap — without downloading them:
        the server finds them (``SEARCH LARGER``)."""
        if not todo:
            return todo
        wanted = set(todo)
        try:
            larger = client.search(["UNDELETED", "LARGER", self.cfg.max_message_bytes])
        except IMAPClientAbortError:
            raise
        except IMAPClientError:
            # Refused (Dovecot does when it cannot read a message to size it): the FETCH reader
            # enforces the cap as well, so the drain goes on without this shortcut.
            return todo
        too_big = sorted(u for u in (int(u) for u in larger) if u in wanted)
        if not too_big:
            return todo
        big = set(too_big)
        if self.peek is not None:
            for uid in too_big:
                self.peek.refuse(self._source(uidvalidity, uid), "message-too-large")
            return [u for u in todo if u not in big]
        now = self.clock()
        with self.session_factory() as session:
            rows = []
            for uid in too_big:
                rows.append(
                    self._row(
                        uidvalidity,
                        uid,
                        state=LedgerState.FAILING,
                        attempts=attempts.get(uid, 0) + 1,
                        last_error="message-too-large",
                        now=now,
                    )
                )
                self.report.error("message-too-large", "message over the size cap, moved to Failed", uid=uid)
            self._write_ledger(session, uidvalidity, rows, existing=attempts)
            session.commit()
        self._move(client, uidvalidity, too_big, self.cfg.failed_folder, LedgerState.FAILED, caps)
        self.report.failed += len(too_big)
        return [u for u in todo if u not in big]

    def _items(self, uidvalidity: int, batch: list[int], reply: FetchReply) -> list[Incoming]:
        items: list[Incoming] = []
        for uid in batch:
            got = reply.messages.get(uid)
            if got is not None:
                body, received = got
                items.append(
                    Incoming(
                        key=str(uid),
                        data=body,
                        received_at=received or self.clock(),
                        source=self._source(uidvalidity, uid),
                    )
                )
        return items

    def _pack(self, uidvalidity: int, batch: list[int], reply: FetchReply) -> tuple[list[Incoming], Packed | None]:
        """The first half of storing a batch: its messages' bytes durable in the store's pack (nothing
        in read-only mode)."""
        items = self._items(uidvalidity, batch, reply)
        if self.peek is not None:
            return items, None
        return items, pack_items(self.store, items, channel=Channel.EMAIL, clock=self.clock, when=self.when)

    def _store(
        self,
        uidvalidity: int,
        batch: list[int],
        reply: FetchReply,
        attempts: dict[int, int],
        packed: tuple[list[Incoming], Packed | None] | None = None,
    ) -> tuple[list[int], list[int]]:
        """Store and commit one fetched batch (its bytes already packed by ``_pack`` if ``packed``
        is given); returns (UIDs for Processed, UIDs for Failed)."""
        items, stored = packed if packed is not None else self._pack(uidvalidity, batch, reply)
        # (uid, sha256, code, message, final): what could not be stored, and whether to give up at once
        failed: list[tuple[int, str | None, str, str, bool]] = []
        for uid in batch:
            if uid in reply.too_large:
                failed.append((uid, None, "message-too-large", "message over the size cap, moved to Failed", True))
            elif uid not in reply.messages and reply.problem:
                failed.append((uid, None, "imap-fetch-refused", reply.problem, False))
            # neither: expunged by someone else between SEARCH and FETCH, nothing to do
        if self.peek is not None:
            self._peek(uidvalidity, items, failed)
            return [], []
        now = self.clock()
        done: list[int] = []
        failing: list[int] = []
        with self.session_factory() as session:
            assert stored is not None
            results = record_packed(session, stored, channel=Channel.EMAIL, clock=self.clock)
            self.hook(PollStep.STORED, batch)
            # the ledger rows of what was taken in, as tuples in ``_LEDGER_COLUMNS``' order
            at = driver_datetimes(session)(now)
            account, folder = self.account, self.cfg.folder
            taken: list[tuple[Any, ...]] = []
            for result in results:
                uid = int(result.key)
                if result.error_code:
                    failed.append((uid, result.sha256, result.error_code, result.error, False))
                    continue
                count(self.report, result)
                state = _DUPLICATE if result.outcome == "duplicate" else _STORED
                taken.append(
                    (account, folder, uidvalidity, uid, state, attempts.get(uid, 0) + 1, "", result.sha256, at)
                )
                done.append(uid)
            rows = []
            for uid, sha, code, message, final in failed:
                tries = attempts.get(uid, 0) + 1
                state = LedgerState.FAILING if final or tries >= self.cfg.max_attempts else LedgerState.RETRY
                rows.append(
                    self._row(
                        uidvalidity,
                        uid,
                        state=state,
                        attempts=tries,
                        sha256=sha,
                        last_error=f"{code}: {message}"[:2000],
                        now=now,
                    )
                )
                self.report.error(code, message, uid=uid, attempt=tries)
                if state is LedgerState.FAILING:
                    failing.append(uid)
                else:
                    self.report.retrying += 1
            self._write_ledger(session, uidvalidity, rows, existing=attempts, taken=taken)
            self._flush_marks(session)  # earlier batches' moves ride on this commit
            session.commit()
        self.hook(PollStep.COMMITTED, batch)
        return done, failing

    def _peek(
        self, uidvalidity: int, items: list[Incoming], failed: list[tuple[int, str | None, str, str, bool]]
    ) -> None:
        assert self.peek is not None
        for item in items:
            self.peek.take(item)
        for uid, _sha, code, _message, _final in failed:
            self.peek.refuse(self._source(uidvalidity, uid), code)

    def _move(
        self, client: IMAPClient, uidvalidity: int, uids: list[int], folder: str, state: LedgerState, caps: set[bytes]
    ) -> None:
        if not uids or self.peek is not None:
            return
        move_uids(client, uids, folder, caps=caps)
        self._moved(uidvalidity, uids, state)

    def _moved(self, uidvalidity: int, uids: list[int], state: LedgerState) -> None:
        # Recorded with the next commit (or the final one): a separate commit per move cost as much as
        # the fetch; if the run dies first, the UIDs are gone from the folder and _record_gone sees it.
        self.marks.append((uidvalidity, uids, state))
        if state is LedgerState.MOVED:
            self.report.moved += len(uids)

    def _row(
        self,
        uidvalidity: int,
        uid: int,
        *,
        state: LedgerState,
        attempts: int,
        now: datetime,
        sha256: str | None = None,
        last_error: str = "",
    ) -> dict[str, Any]:
        return {
            "account": self.account,
            "folder": self.cfg.folder,
            "uidvalidity": uidvalidity,
            "uid": uid,
            "state": state.value,
            "attempts": attempts,
            "last_error": last_error,
            "sha256": sha256,
            "updated_at": now,
        }

    def _source(self, uidvalidity: int, uid: int) -> str:
        """Where a message came from, as its arrival and audit entries name it."""
        return f"imap:{self.account}/{self.cfg.folder};uidvalidity={uidvalidity};uid={uid}"

    def _write_ledger(
        self,
        session: Session,
        uidvalidity: int,
        rows: list[dict[str, Any]],
        *,
        existing: dict[int, int],
        taken: Sequence[tuple[Any, ...]] = (),
    ) -> None:
        """Insert the batch's ledger rows (``rows``, and ``taken`` already as tuples of
        ``_LEDGER_COLUMNS``), replacing the rows of earlier failed attempts, and audit the messages
        given up on."""
        audit_refusals(session, rows, source=lambda row: self._source(row["uidvalidity"], row["uid"]))
        again = [r["uid"] for r in rows if r["uid"] in existing] + [r[3] for r in taken if r[3] in existing]
        for chunk in _chunks(again, 500):
            session.execute(
                delete(ImapLedger).where(
                    col(ImapLedger.account) == self.account,
                    col(ImapLedger.folder) == self.cfg.folder,
                    col(ImapLedger.uidvalidity) == uidvalidity,
                    col(ImapLedger.uid).in_(chunk),
                )
            )
        insert_rows(session, _LEDGER, rows)
        insert_values(session, _LEDGER, _LEDGER_COLUMNS, taken)


_LEDGER: Table = ImapLedger.__table__  # type: ignore[attr-defined]
_LEDGER_COLUMNS = ("account", "folder", "uidvalidity", "uid", "state", "attempts", "last_error", "sha256", "updated_at")
_STORED = LedgerState.STORED.value
_DUPLICATE = LedgerState.DUPLICATE.value


def move_uids(client: IMAPClient, uids: list[int], folder: str, *, caps: set[bytes]) -> None:
    """MOVE (RFC 6851), else COPY + UID EXPUNGE of exactly these UIDs (RFC 4315).

    A plain EXPUNGE would also remove every message someone else flagged \\Deleted; without UIDPLUS
    the copies are left flagged \\Deleted (and skipped by ``UNDELETED`` searches) instead.
    """
    for chunk in _chunks(uids, 1000):
        if b"MOVE" in caps:
            client.move(chunk, folder)
            continue
        client.copy(chunk, folder)
        client.delete_messages(chunk, silent=True)
        if b"UIDPLUS" in caps:
            client.uid_expunge(chunk)


class _Mover:
    """Moves committed batches on a second connection, in a thread, one MOVE at a time.

    ``add`` is called only after the batch's commit. While a MOVE runs, the batches committed
    meanwhile wait and then go together in the next one: a MOVE costs the server per command (it
    rewrites the folder's index) as much as per message, so a fast drain sends few large MOVEs and a
    slow one moves each batch as soon as it is committed. ``finish`` moves what is left and records
    it all (the ledger marks ride on a later commit; the hook hears ``moved`` per batch). The
    connection is opened with the first move and must see the folder's UIDVALIDITY unchanged, or
    nothing is moved: a UID of another UIDVALIDITY is another message.
    """

    def __init__(self, poller: _Poller, connect: Callable[[], IMAPClient], uidvalidity: int, caps: set[bytes]) -> None:
        self.poller = poller
        self.connect = connect
        self.uidvalidity = uidvalidity
        self.caps = caps
        self.client: IMAPClient | None = None
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="imap-move")
        self.waiting = _Moves()
        self.running: tuple[Future[None], _Moves] | None = None

    def __enter__(self) -> _Mover:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.finish()
            else:
                with contextlib.suppress(Exception):  # already failing: record what did get moved
                    self._collect()
        finally:
            self.pool.shutdown(wait=True)
            if self.client is not None:
                _close(self.client)

    def add(self, batch: list[int], done: list[int], failing: list[int]) -> None:
        """Queue a committed batch; start a MOVE if none is running (collecting one that has ended)."""
        self.waiting.add(batch, done, failing)
        if self.running is not None and self.running[0].done():
            self._collect()
        if self.running is None:
            self._start()

    def finish(self) -> None:
        """Move everything queued and wait for it."""
        while self.running is not None:
            self._collect()
            self._start()

    def _start(self) -> None:
        moves, self.waiting = self.waiting, _Moves()
        if moves.done or moves.failing:
            self.running = (self.pool.submit(self._move, moves.done, moves.failing), moves)
        else:
            for batch in moves.batches:  # nothing of it to move (all to retry, or gone)
                self.poller.hook(PollStep.MOVED, batch)

    def _collect(self) -> None:
        if self.running is None:
            return
        future, moves = self.running
        self.running = None
        future.result()
        poller = self.poller
        if moves.done:
            poller._moved(self.uidvalidity, moves.done, LedgerState.MOVED)
        if moves.failing:
            poller._moved(self.uidvalidity, moves.failing, LedgerState.FAILED)
            poller.report.failed += len(moves.failing)
        for batch in moves.batches:
            poller.hook(PollStep.MOVED, batch)

    def _move(self, done: list[int], failing: list[int]) -> None:
        if self.client is None:
            client = self.connect()
            try:
                selected = client.select_folder(self.poller.cfg.folder)
            except BaseException:
                _close(client)
                raise
            self.client = client
            if int(selected[b"UIDVALIDITY"]) != self.uidvalidity:
                raise IMAPClientAbortError("the folder's UIDVALIDITY changed during the run")
        cfg = self.poller.cfg
        if done:
            move_uids(self.client, done, cfg.processed_folder, caps=self.caps)
        if failing:
            move_uids(self.client, failing, cfg.failed_folder, caps=self.caps)


class _Writer:
    """Stores and commits the fetched batches, in order, in two threads of their own, while the next
    batch is read off the socket: the pack's ``fdatasync`` and the commit's wait on the disk no longer
    stop the reading (the server meanwhile fills the socket with the next batch, then waits).

    The packer hashes a batch and makes its bytes durable in the store's pack; the recorder then adds
    its document, arrival and ledger rows and commits, while the packer goes on with the next batch
    (hashing, the pack's writes and ``fdatasync``, SQLite's steps and its commit all let the other
    threads run). Each batch goes through the same steps as before, in the same order (``fetched``
    is heard when its packing begins, then ``stored`` once its rows are added, ``committed``; its
    commit comes after its bytes are durable, and the mover is handed the batch only after its
    commit). At most one fetched batch waits for the packer, and one packed batch for the recorder.
    The first failure stops the storing (batches after it are dropped: nothing of them was
    committed, the next run fetches them again) and is raised in the reading thread, at its next
    ``put`` or when the block ends.
    """

    def __init__(self, poller: _Poller, mover: _Mover, uidvalidity: int, attempts: dict[int, int]) -> None:
        self.poller = poller
        self.mover = mover
        self.uidvalidity = uidvalidity
        self.attempts = attempts
        self.queue: queue.Queue[tuple[list[int], FetchReply] | None] = queue.Queue(maxsize=1)
        self.packed: queue.Queue[_PackedBatch | None] = queue.Queue(maxsize=1)
        self.failure: BaseException | None = None
        self.packer = threading.Thread(target=self._pack, name="imap store packer", daemon=True)
        self.thread = threading.Thread(target=self._work, name="imap store writer", daemon=True)
        self.packer.start()
        self.thread.start()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.drain()
        if exc_type is None and self.failure is not None:
            raise self.failure

    def put(self, batch: list[int], reply: FetchReply) -> None:
        if self.failure is not None:
            raise self.failure
        self.queue.put((batch, reply))

    def drain(self) -> None:
        """Wait until every batch handed over is stored (or dropped after a failure)."""
        if self.packer.is_alive():
            self.queue.put(None)
            self.packer.join()
        self.thread.join()

    def _pack(self) -> None:
        poller = self.poller
        try:
            while (item := self.queue.get()) is not None:
                if self.failure is not None:
                    continue
                batch, reply = item
                try:
                    poller.hook(PollStep.FETCHED, batch)
                    self.packed.put((batch, reply, poller._pack(self.uidvalidity, batch, reply)))
                except BaseException as exc:  # raised again in the reading thread
                    self.failure = exc
        finally:
            self.packed.put(None)

    def _work(self) -> None:
        poller = self.poller
        while (item := self.packed.get()) is not None:
            if self.failure is not None:
                continue
            batch, reply, packed = item
            try:
                self.mover.add(batch, *poller._store(self.uidvalidity, batch, reply, self.attempts, packed))
            except BaseException as exc:  # raised again in the reading thread
                self.failure = exc


#: a fetched batch, its reply and what ``_Poller._pack`` made of it
_PackedBatch = tuple[list[int], FetchReply, tuple[list[Incoming], Packed | None]]


@dataclass
class _Moves:
    """Committed batches waiting for one MOVE: their UIDs for Processed and for Failed."""

    batches: list[list[int]] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    failing: list[int] = field(default_factory=list)

    def add(self, batch: list[int], done: list[int], failing: list[int]) -> None:
        self.batches.append(batch)
        self.done += done
        self.failing += failing
