"""The IMAP poller against a real Dovecot: normal flow (plain, STARTTLS, TLS), trust headers, UIDVALIDITY change,
dropped connections, failures to Failed, the COPY + UID EXPUNGE fallback, and a 10,000-message mailbox."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from imapclient import IMAPClient
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, iter_entries
from extranet_intake.errors import SourceError
from extranet_intake.intake.config import ImapConfig, TlsMode
from extranet_intake.intake.sources import PollStep
from extranet_intake.intake.sources.imap import _Poller, connect, move_uids, poll_imap
from extranet_intake.intake.sources.imap_fetch import FetchReply
from extranet_intake.intake.sources.ingest import PollReport
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import Arrival, ImapLedger, LedgerState, pending_documents
from tests.fixtures.dovecot import ImapAccount
from tests.intake_mail import explode, fake_pdf, make_message, store_and_sessions

GATEWAY_PASS = "mx.ethias.be; dkim=pass header.d=example.be; spf=pass; dmarc=pass header.from=example.be"
GATEWAY_FAIL = "mx.ethias.be; dkim=none; spf=fail; dmarc=fail header.from=example.be"


def now() -> datetime:
    return datetime.now(UTC)


def message_arrivals(sessions) -> list[Arrival]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return list(s.exec(select(Arrival).where(col(Arrival.parent_sha256).is_(None))))


def rejected(sessions) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    """The DOCUMENT_REJECTED audit entries: (code, source with the UIDVALIDITY masked, attempts)."""
    with sessions() as s:
        entries = list(iter_entries(s.connection(), actions=[AuditAction.DOCUMENT_REJECTED]))
    found = []
    for e in entries:
        details = json.loads(e["details"])
        found.append((e["reason"], re.sub(r"uidvalidity=\d+", "uidvalidity=*", details["source"]), details["attempts"]))
    return found


def test_drain_on_each_database(imap_account: ImapAccount, tmp_path: Path, engine: sa.Engine) -> None:
    """The drain writes its rows through the driver (not SQLAlchemy's bind processing): on SQLite and
    PostgreSQL alike they must read back as SQLAlchemy would have written them."""
    raws = [make_message(attachments=[(f"d{i}.pdf", fake_pdf(f"db{i}"))]) for i in range(5)]
    imap_account.deliver_many(raws)
    store = DocumentStore(tmp_path / "store")
    report = poll_imap(
        imap_account.config(batch_size=2),
        store=store,
        session_factory=lambda: Session(engine),
        password=imap_account.password,
        clock=now,
    )
    assert (report.stored, report.moved) == (5, 5)
    with IMAPClient("127.0.0.1", port=imap_account.server.port, ssl=False) as c:
        c.login(imap_account.user, imap_account.password)
        c.select_folder("Processed")
        dates = {
            sha256_of(d[b"BODY[]"]): d[b"INTERNALDATE"]
            for d in c.fetch(c.search(), ["BODY.PEEK[]", "INTERNALDATE"]).values()
        }
    with Session(engine) as s:
        arrivals = {a.sha256: a for a in s.exec(select(Arrival))}
        ledger = list(s.exec(select(ImapLedger)))
    assert set(arrivals) == {sha256_of(r) for r in raws} == set(dates)
    for sha, arrival in arrivals.items():
        got = arrival.received_at if arrival.received_at.tzinfo else arrival.received_at.replace(tzinfo=UTC)
        assert got == dates[sha].astimezone(UTC)  # INTERNALDATE, to the second, in UTC
        assert (arrival.channel, arrival.outcome, arrival.auth_trusted) == ("email", "pending", False)
    assert sorted(r.uid for r in ledger) == [1, 2, 3, 4, 5]
    assert {r.state for r in ledger} == {LedgerState.MOVED}
    assert explode(store, lambda: Session(engine)).stored == 5


@pytest.mark.parametrize("tls", [TlsMode.NONE, TlsMode.STARTTLS, TlsMode.IMPLICIT])
def test_normal_flow(imap_account: ImapAccount, tmp_path: Path, tls: TlsMode) -> None:
    shared = fake_pdf("same form sent twice")
    raws = [make_message(attachments=[(f"f{i}.pdf", fake_pdf(f"n{i}"))], auth_results=[GATEWAY_PASS]) for i in range(4)]
    raws += [
        make_message(attachments=[("a.pdf", shared)]),
        make_message(attachments=[("b.pdf", shared)]),
        make_message(subject="no form here"),
    ]
    imap_account.deliver_many(raws)
    store, sessions, _ = store_and_sessions(tmp_path)
    report = poll_imap(
        imap_account.config(tls=tls, batch_size=3),
        store=store,
        session_factory=sessions,
        password=imap_account.password,
        clock=now,
    )
    assert report.ok, report.errors
    assert (report.stored, report.moved) == (7, 7)
    assert imap_account.files("INBOX") == []
    exploded = explode(store, sessions)
    assert exploded.ok, exploded.errors
    assert (exploded.seen, exploded.stored, exploded.documents, exploded.no_form) == (7, 7, 5, 1)
    assert sorted(imap_account.files("Processed")) == sorted(raws)
    for raw in raws:
        assert store.open(sha256_of(raw)) == raw  # every original kept byte for byte
    with sessions() as s:
        pending = pending_documents(s)
        assert len(pending) == 5
        twice = next(p for p in pending if p.sha256 == sha256_of(shared))
        assert twice.arrivals == 2  # same bytes: one document, both arrivals visible
        outcomes = sorted(a.outcome for a in message_arrivals(sessions))
        assert outcomes == ["forms"] * 6 + ["no-form-attachment"]
        first = next(a for a in s.exec(select(Arrival)) if a.filename == "f0.pdf")
        assert (first.sender, first.dmarc, first.auth_trusted) == ("mu@example.be", "pass", True)
        assert first.source.startswith(f"imap:{imap_account.user}@127.0.0.1/INBOX;uidvalidity=")
    again = poll_imap(
        imap_account.config(tls=tls), store=store, session_factory=sessions, password=imap_account.password, clock=now
    )
    assert (again.seen, again.stored, again.moved) == (0, 0, 0)


def test_forged_authentication_results_below_the_gateway_are_ignored(imap_account: ImapAccount, tmp_path: Path) -> None:
    forged = GATEWAY_PASS  # written by the sender with our gateway's id, below the gateway's real header
    imap_account.deliver(make_message(attachments=[("f.pdf", fake_pdf("forged"))], auth_results=[GATEWAY_FAIL, forged]))
    store, sessions, _ = store_and_sessions(tmp_path)
    poll_imap(imap_account.config(), store=store, session_factory=sessions, password=imap_account.password, clock=now)
    explode(store, sessions)
    with sessions() as s:
        arrivals = list(s.exec(select(Arrival)))
    assert len(arrivals) == 2  # the message and its form
    assert {(a.dmarc, a.spf, a.auth_trusted) for a in arrivals} == {("fail", "fail", True)}
    assert all("dmarc=pass" in a.authentication_results for a in arrivals)  # the raw headers are all kept


class _Abort(BaseException):
    pass


def test_uidvalidity_change_loses_and_duplicates_nothing(imap_account: ImapAccount, tmp_path: Path) -> None:
    raws = [make_message(attachments=[(f"u{i}.pdf", fake_pdf(f"uv{i}"))]) for i in range(5)]
    imap_account.deliver_many(raws)
    store, sessions, _ = store_and_sessions(tmp_path)

    def stop_before_second_move(step: PollStep, uids: Sequence[object]) -> None:
        if step is PollStep.COMMITTED and 4 in uids:
            raise _Abort  # the run dies after committing UIDs 4-5, before moving them

    with pytest.raises(_Abort):
        poll_imap(
            imap_account.config(batch_size=3),
            store=store,
            session_factory=sessions,
            password=imap_account.password,
            clock=now,
            on_progress=stop_before_second_move,
        )
    assert len(imap_account.files("Processed")) == 3
    assert len(imap_account.files("INBOX")) == 2
    imap_account.reset_uidvalidity("INBOX")
    late = make_message(attachments=[("late.pdf", fake_pdf("late"))])
    imap_account.deliver(late)
    report = poll_imap(
        imap_account.config(batch_size=3),
        store=store,
        session_factory=sessions,
        password=imap_account.password,
        clock=now,
    )
    assert report.uidvalidity_changed
    assert (report.stored, report.duplicates, report.moved) == (1, 2, 3)
    assert imap_account.files("INBOX") == []
    assert sorted(imap_account.files("Processed")) == sorted([*raws, late])
    arrivals = message_arrivals(sessions)
    assert sorted(a.sha256 for a in arrivals) == sorted(sha256_of(r) for r in [*raws, late])  # each once
    with sessions() as s:
        validities = set(s.exec(select(ImapLedger.uidvalidity)))
    assert len(validities) == 2


class CuttingProxy:
    """A loopback TCP proxy that cuts its first connection after ``cut_after`` bytes from the server."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            server = socket.create_connection(("127.0.0.1", self.target_port))
            limit = self.cut_after if self.connections == 1 else None
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, limit), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: limit - sent])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy_factory() -> Iterator[list[CuttingProxy]]:
    proxies: list[CuttingProxy] = []
    yield proxies
    for p in proxies:
        p.close()


@pytest.mark.parametrize("reconnects", [2, 0])
def test_connection_dropped_mid_fetch(
    imap_account: ImapAccount, tmp_path: Path, reconnects: int, proxy_factory: list[CuttingProxy]
) -> None:
    raws = [make_message(attachments=[(f"c{i}.pdf", fake_pdf(f"cut{reconnects}-{i}", size=4000))]) for i in range(40)]
    imap_account.deliver_many(raws)
    proxy = CuttingProxy(imap_account.server.port, cut_after=80_000)  # inside the second batch's FETCH
    proxy_factory.append(proxy)
    store, sessions, _ = store_and_sessions(tmp_path)
    cfg = imap_account.config(batch_size=10, reconnect_attempts=reconnects)
    cfg.port = proxy.port
    if reconnects:
        report = poll_imap(cfg, store=store, session_factory=sessions, password=imap_account.password, clock=now)
        assert report.reconnects == 1
    else:
        with pytest.raises(SourceError) as err:
            poll_imap(cfg, store=store, session_factory=sessions, password=imap_account.password, clock=now)
        assert err.value.code == "imap-connection-lost"
        assert imap_account.password not in str(err.value)
        partial = message_arrivals(sessions)
        assert 0 < len(partial) < 40  # the first batch was committed before the cut
        report = poll_imap(cfg, store=store, session_factory=sessions, password=imap_account.password, clock=now)
    assert proxy.connections == 4  # per attempt: the fetching connection (the first one is cut) and the mover's
    assert imap_account.files("INBOX") == []
    assert sorted(imap_account.files("Processed")) == sorted(raws)
    assert sorted(a.sha256 for a in message_arrivals(sessions)) == sorted(sha256_of(r) for r in raws)


class PoisonedStore(DocumentStore):
    """A store whose disk refuses one message (a real failure, not a mock of the poller)."""

    @staticmethod
    def _write_records(fd: int, blobs: dict[str, bytes]) -> None:
        if any(b"POISON" in data for data in blobs.values()):
            raise OSError(28, "No space left on device")  # the batch's write: each record is then tried alone
        DocumentStore._write_records(fd, blobs)

    @staticmethod
    def _append(fd: int, sha256: str, data: bytes) -> None:
        if b"POISON" in data:
            os.write(fd, b"EIPACK1 half a rec")  # a torn record, as a full disk leaves it
            raise OSError(28, "No space left on device")
        DocumentStore._append(fd, sha256, data)


def test_message_failing_n_times_goes_to_failed(imap_account: ImapAccount, tmp_path: Path) -> None:
    good = make_message(attachments=[("g.pdf", fake_pdf("good"))])
    bad = make_message(subject="POISON", attachments=[("p.pdf", fake_pdf("POISON"))])
    imap_account.deliver_many([good, bad])
    _, sessions, _ = store_and_sessions(tmp_path)
    store = PoisonedStore(tmp_path / "store")
    cfg = imap_account.config(max_attempts=2)
    first = poll_imap(cfg, store=store, session_factory=sessions, password=imap_account.password, clock=now)
    assert (first.stored, first.retrying, first.failed) == (1, 1, 0)
    assert [e.code for e in first.errors] == ["store-write-failed"]
    assert imap_account.files("INBOX") == [bad]
    second = poll_imap(cfg, store=store, session_factory=sessions, password=imap_account.password, clock=now)
    assert (second.stored, second.failed) == (0, 1)
    assert imap_account.files("INBOX") == []
    assert imap_account.files("Failed") == [bad]
    with sessions() as s:
        row = s.exec(select(ImapLedger).where(col(ImapLedger.state) == LedgerState.FAILED)).one()
    assert row.attempts == 2
    assert "No space left on device" in row.last_error
    inbox = f"imap:{imap_account.user}@127.0.0.1/INBOX"
    assert rejected(sessions) == [("store-write-failed", f"{inbox};uidvalidity=*;uid=2", 2)]
    third = poll_imap(cfg, store=store, session_factory=sessions, password=imap_account.password, clock=now)
    assert (third.seen, third.failed) == (0, 0)


def test_a_message_the_server_cannot_serve_goes_to_failed_and_the_rest_drains(
    imap_account: ImapAccount, tmp_path: Path
) -> None:
    raws = [make_message(attachments=[(f"s{i}.pdf", fake_pdf(f"serve-{i}"))]) for i in range(5)]
    files = imap_account.deliver_many(raws)
    os.chmod(files[2], 0)  # Dovecot (not root) cannot read it: it answers the FETCH with BYE and hangs up
    store, sessions, _ = store_and_sessions(tmp_path)
    cfg = imap_account.config(max_attempts=2, reconnect_attempts=3)
    report = poll_imap(cfg, store=store, session_factory=sessions, password=imap_account.password, clock=now)
    # the batch is cut; fetched again one by one, the unreadable message is cut twice and failed
    assert [e.code for e in report.errors] == ["imap-fetch-cut", "imap-fetch-cut"]
    assert report.reconnects == 3
    assert imap_account.files("Failed") == [raws[2]]
    assert sorted(imap_account.files("Processed")) == sorted(raws[:2] + raws[3:])
    assert imap_account.files("INBOX") == []
    with sessions() as s:
        failed = s.exec(select(ImapLedger).where(col(ImapLedger.state) == LedgerState.FAILED)).one()
    assert failed.attempts == 2
    assert failed.last_error.startswith("imap-fetch-cut: the connection broke while this message alone")
    assert sorted(a.sha256 for a in message_arrivals(sessions)) == sorted(sha256_of(r) for r in raws[:2] + raws[3:])


def test_a_refused_command_is_a_coded_source_error(imap_account: ImapAccount, tmp_path: Path) -> None:
    raw = make_message()
    imap_account.deliver_many([raw])
    store, sessions, _ = store_and_sessions(tmp_path)
    cfg = imap_account.config(processed_folder="P" * 2000)  # a name Dovecot will not create
    with pytest.raises(SourceError) as refused:  # an IntakeError: the daily run records it and goes on
        poll_imap(cfg, store=store, session_factory=sessions, password=imap_account.password, clock=now)
    assert refused.value.code == "imap-command-refused"
    assert imap_account.files("INBOX") == [raw]


def test_a_refused_fetch_counts_an_attempt_for_what_it_left_out(tmp_path: Path) -> None:
    """The server answered NO and sent only some of the batch (Dovecot's "Some messages could not be
    FETCHed"): what came is stored, the rest retried and, after N times, failed — never taken for
    expunged and silently skipped. (The reply is built here: no server refuses on request.)"""
    store, sessions, _ = store_and_sessions(tmp_path)
    poller = _Poller(
        ImapConfig(max_attempts=2),
        store=store,
        session_factory=sessions,
        clock=now,
        hook=lambda step, uids: None,
        report=PollReport(source="test"),
    )
    raw = make_message()
    refused = FetchReply(
        {1: (raw, None)}, problem="the server refused the FETCH: NO Some messages could not be FETCHed"
    )
    assert poller._store(7, [1, 2], refused, {}) == ([1], [])
    assert poller._store(7, [2], FetchReply(problem=refused.problem), {2: 1}) == ([], [2])
    assert poller._store(7, [3], FetchReply(too_large={3}), {}) == ([], [3])  # over the cap: failed at once
    assert poller._store(7, [4], FetchReply(), {}) == ([], [])  # complete reply without it: expunged meanwhile
    with sessions() as s:
        rows = {r.uid: r for r in s.exec(select(ImapLedger))}
    assert (rows[1].state, rows[2].state, rows[3].state) == (
        LedgerState.STORED,
        LedgerState.FAILING,
        LedgerState.FAILING,
    )
    assert rows[2].attempts == 2
    assert rows[2].last_error.startswith("imap-fetch-refused: the server refused the FETCH: NO")
    assert rows[3].last_error.startswith("message-too-large")
    assert 4 not in rows
    assert [e.code for e in poller.report.errors] == ["imap-fetch-refused", "imap-fetch-refused", "message-too-large"]


def test_a_copy_in_the_same_batch_is_acknowledged_only_once_its_twin_is_stored(
    imap_account: ImapAccount, tmp_path: Path
) -> None:
    bad = make_message(subject="POISON", attachments=[("p.pdf", fake_pdf("POISON twice"))])
    imap_account.deliver_many([bad, bad])  # the same bytes twice, one batch
    store, sessions, _ = store_and_sessions(tmp_path)
    first = poll_imap(
        imap_account.config(),
        store=PoisonedStore(tmp_path / "store"),
        session_factory=sessions,
        password=imap_account.password,
        clock=now,
    )
    assert [e.code for e in first.errors] == ["store-write-failed", "store-write-failed"]
    assert (first.duplicates, first.moved) == (0, 0)
    assert imap_account.files("INBOX") == [bad, bad]  # not a copy moved away while no copy is stored
    second = poll_imap(
        imap_account.config(), store=store, session_factory=sessions, password=imap_account.password, clock=now
    )
    assert (second.stored, second.duplicates, second.moved) == (1, 1, 2)
    assert store.open(sha256_of(bad)) == bad


def test_oversized_message_goes_to_failed_unread(imap_account: ImapAccount, tmp_path: Path) -> None:
    big = make_message(attachments=[("big.pdf", fake_pdf("big", size=60_000))])
    imap_account.deliver_many([big, make_message()])
    store, sessions, _ = store_and_sessions(tmp_path)
    report = poll_imap(
        imap_account.config(max_message_bytes=30_000),
        store=store,
        session_factory=sessions,
        password=imap_account.password,
        clock=now,
    )
    assert [e.code for e in report.errors] == ["message-too-large"]
    assert imap_account.files("Failed") == [big]
    assert not store.exists(sha256_of(big))
    inbox = f"imap:{imap_account.user}@127.0.0.1/INBOX"
    assert rejected(sessions) == [("message-too-large", f"{inbox};uidvalidity=*;uid=1", 1)]


def test_copy_and_uid_expunge_fallback_touches_only_our_uids(imap_account: ImapAccount) -> None:
    raws = [make_message(subject=f"m{i}") for i in range(3)]
    imap_account.deliver_many(raws)
    client = connect(imap_account.config(), password=imap_account.password)
    try:
        client.create_folder("Processed")
        client.select_folder("INBOX")
        uids = sorted(client.search(["ALL"]))
        client.add_flags([uids[2]], [b"\\Deleted"])  # someone else's pending deletion
        move_uids(client, uids[:2], "Processed", caps={b"UIDPLUS"})  # as on a server without MOVE
        left = sorted(client.search(["ALL"]))
    finally:
        client.logout()
    assert left == [uids[2]]  # a plain EXPUNGE would have removed it too
    assert len(imap_account.files("Processed")) == 2


def test_wrong_password_is_a_coded_error_without_the_password(imap_account: ImapAccount, tmp_path: Path) -> None:
    store, sessions, _ = store_and_sessions(tmp_path)
    with pytest.raises(SourceError) as err:
        poll_imap(imap_account.config(), store=store, session_factory=sessions, password="wrong-Secret-42", clock=now)
    assert err.value.code == "imap-login-failed"
    assert "wrong-Secret-42" not in str(err.value)
    assert not isinstance(err.value.__cause__, Exception)


def quick_message(i: int) -> bytes:
    """A small message with a PDF attachment, built by formatting (the email package is too slow for 10,000)."""
    pdf = base64.b64encode(fake_pdf(f"tenk{i}", size=600)).decode()
    return (
        f"From: mu{i % 50}@example.be\r\nTo: extranet2P@ethias.be\r\nSubject: fiche {i}\r\n"
        f"Message-ID: <tenk{i}@example.be>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n'
        f"--b{i}\r\nContent-Type: text/plain\r\n\r\nForm attached.\r\n"
        f"--b{i}\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="t{i}.pdf"\r\n\r\n{pdf}\r\n--b{i}--\r\n'
    ).encode()


def test_ten_thousand_messages(imap_account: ImapAccount, tmp_path: Path) -> None:
    n = 10_000
    raws = [quick_message(i) for i in range(n)]
    imap_account.deliver_many(raws)
    # fsync off: this test is about the mailbox (search, ledger, batches, moves), not the disk.
    store, sessions, _ = store_and_sessions(tmp_path, fsync=False)
    t0 = time.perf_counter()
    report = poll_imap(
        imap_account.config(batch_size=500),
        store=store,
        session_factory=sessions,
        password=imap_account.password,
        clock=now,
    )
    elapsed = time.perf_counter() - t0
    assert report.ok, report.errors[:3]
    assert (report.stored, report.moved) == (n, n)
    processed = imap_account.folder_path("Processed")
    assert sum(len(list((processed / d).iterdir())) for d in ("new", "cur")) == n
    assert len(imap_account.files("INBOX")) == 0
    with sessions() as s:
        assert len(list(s.exec(select(ImapLedger.uid).where(col(ImapLedger.state) == LedgerState.MOVED)))) == n
    print(f"10,000 messages drained in {elapsed:.1f} s ({n / elapsed:.0f} msg/s)")
    with IMAPClient("127.0.0.1", port=imap_account.server.port, ssl=False) as c:
        c.login(imap_account.user, imap_account.password)
        assert c.select_folder("Processed")[b"EXISTS"] == n
