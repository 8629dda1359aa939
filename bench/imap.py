"""Benchmark: messages/s the IMAP poller drains from a real Dovecot on loopback, against the raw floor.

Floor: bare ``imaplib`` ``UID FETCH <batch> (BODY.PEEK[])`` of the same messages, in the same
batch size, nothing stored. Every measure runs ``--runs`` times on a warm server and the best run
counts, the floor's and the poller's alike (this shared machine's figures vary by 2x from hour to
hour).

Poller (stage 1, the drain): ``poll_imap`` end to end — login, fetch, SHA-256, raw messages durable
in the store's pack, ledger/document/arrival rows committed, messages moved to Processed (second
connection). Drain + explode adds stage 2 (``explode_messages``: packed messages filed, MIME
reading, attachments stored, their arrivals and the messages' outcomes committed), so nobody
mistakes the drain for the whole intake.

For context it also prints bare ``imaplib`` FETCH with the ``UID MOVE`` the poller must send after
its commit — of each batch, of each batch on a second connection while the next is fetched (the
poller's way), and of everything at once after the last fetch. The move costs the server about as
much as the fetch (maildir) or half of it (mdbox): no client that moves what it drained has reached
0.7 of the FETCH-only floor in any run here. The poller's ratio to the best of them is printed too.

Both of Dovecot's storages are measured: ``maildir`` (a MOVE renames one file per message) and
``mdbox`` (a MOVE rewrites indexes only).

    .venv/bin/python bench/imap.py [--messages 2000] [--batch 200] [--size 4096] [--runs 3] [--storage both]

Needs root and Debian ``dovecot-imapd`` (the same server the integration tests start).
"""

from __future__ import annotations

import argparse
import imaplib
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.sources.imap import poll_imap
from tests.fixtures.dovecot import DovecotServer, ImapAccount
from tests.intake_mail import explode, fake_pdf, make_message, store_and_sessions


def floor(account: ImapAccount, batch: int, *, move: str = "") -> tuple[int, float]:
    """Bare imaplib ``UID FETCH`` of every batch; ``move``: "" (none), "batch" (``UID MOVE`` of each
    batch after its fetch), "parallel" (each fetched batch moved on a second connection while the
    next is fetched, as the poller does) or "end" (one ``UID MOVE`` of everything after the last fetch)."""
    t0 = time.perf_counter()
    m = _login(account)
    if move:
        m.create("Processed")
    m.select("INBOX")
    moved: queue.Queue[str | None] = queue.Queue()
    mover = threading.Thread(target=_move_from, args=(account, moved))
    if move == "parallel":
        mover.start()
    _, data = m.uid("SEARCH", "UNDELETED")
    uids = data[0].split()
    got = 0
    for start in range(0, len(uids), batch):
        chunk = b",".join(uids[start:start + batch]).decode()
        _, resp = m.uid("FETCH", chunk, "(BODY.PEEK[])")
        got += sum(1 for r in resp if isinstance(r, tuple))
        if move == "batch":
            m.uid("MOVE", chunk, "Processed")
        elif move == "parallel":
            moved.put(chunk)
    if move == "end" and uids:
        m.uid("MOVE", b",".join(uids).decode(), "Processed")
    if move == "parallel":
        moved.put(None)
        mover.join()
    m.logout()
    return got, time.perf_counter() - t0


def _login(account: ImapAccount) -> imaplib.IMAP4:
    m = imaplib.IMAP4("127.0.0.1", account.server.port)
    m.login(account.user, account.password)
    return m


def _move_from(account: ImapAccount, chunks: queue.Queue[str | None]) -> None:
    """Move what ``chunks`` hands over, all that waits in one ``UID MOVE``, until ``None``."""
    m = _login(account)
    m.select("INBOX")
    done = False
    while not done:
        waiting = [chunks.get()]
        while not chunks.empty():
            waiting.append(chunks.get())
        done = None in waiting
        uids = ",".join(c for c in waiting if c)
        if uids:
            m.uid("MOVE", uids, "Processed")
    m.logout()


def poller(account: ImapAccount, batch: int, *, fsync: bool) -> tuple[int, float, float]:
    """(messages, seconds of the drain, seconds of the drain + explode)."""
    work = Path(tempfile.mkdtemp(prefix="bench-imap-"))
    store, sessions, engine = store_and_sessions(work, fsync=fsync)
    t0 = time.perf_counter()
    report = poll_imap(account.config(batch_size=batch), store=store, session_factory=sessions,
                       password=account.password, clock=lambda: datetime.now(UTC))
    drained = time.perf_counter() - t0
    exploded = explode(store, sessions)
    both = time.perf_counter() - t0
    engine.dispose()
    shutil.rmtree(work, ignore_errors=True)
    assert report.ok, report
    assert report.moved == report.stored, report
    assert exploded.ok, exploded
    assert exploded.stored == exploded.documents == report.stored, exploded
    return report.stored, drained, both


def _mailbox(server: DovecotServer, label: str, n: int, size: int) -> ImapAccount:
    account = server.add_user()
    account.deliver_many([make_message(attachments=[(f"fiche-{i}.pdf", fake_pdf(f"{label}{i}", size=size))])
                          for i in range(n)])
    return account


def measure(storage: str, args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="dvb-", dir="/tmp"))
    os.chmod(root, 0o755)
    server = DovecotServer(root, storage=storage)
    server.start()
    try:
        floors: list[float] = []
        rows: list[tuple[str, float, float]] = []
        for label, fsync in (("poller", True), ("poller, fsync off", False)):
            drains: list[float] = []
            boths: list[float] = []
            for run in range(args.runs):  # a fresh mailbox each time: the poller empties it
                account = _mailbox(server, f"{label}{run}", args.messages, args.size)
                # PEEK leaves the mailbox as it was; the first fetch also warms the server for the poller
                n_floor, t_floor = floor(account, args.batch)
                assert n_floor == args.messages, n_floor
                floors.append(n_floor / t_floor)
                n_poll, t_drain, t_both = poller(account, args.batch, fsync=fsync)
                assert n_poll == args.messages, n_poll
                drains.append(n_poll / t_drain)
                boths.append(n_poll / t_both)
            rows.append((label, max(drains), max(boths)))
        moves: list[tuple[str, float]] = []
        for how, label in (("batch", "imaplib UID FETCH + UID MOVE per batch"),
                           ("parallel", "imaplib UID FETCH, UID MOVE on 2nd connection"),
                           ("end", "imaplib UID FETCH, one UID MOVE at the end")):
            rates = []
            for run in range(args.runs):
                moving = _mailbox(server, f"move-{how}{run}", args.messages, args.size)
                floor(moving, args.batch)  # warm
                n_move, t_move = floor(moving, args.batch, move=how)
                rates.append(n_move / t_move)
            moves.append((label, max(rates)))
        floor_rate = max(floors)
        ceiling = max(rate for _, rate in moves)
        print(f"Dovecot {storage}: {args.messages} messages of ~{args.size + 700} bytes, batch {args.batch}")
        print(f"  floor  (imaplib UID FETCH BODY.PEEK[], best of {len(floors)}):  {floor_rate:8.0f} msg/s")
        for label, rate in moves:
            print(f"  context: {label:<43}: {rate:8.0f} msg/s   ratio {rate / floor_rate:.3f}")
        for label, drain, both in rows:
            print(f"  {label + ' drain (stage 1)':<52}: {drain:8.0f} msg/s   ratio {drain / floor_rate:.3f}"
                  f"   ({drain / ceiling:.3f} of the best FETCH + MOVE)")
            print(f"  {label + ' drain + explode (stages 1+2)':<52}: {both:8.0f} msg/s   "
                  f"ratio {both / floor_rate:.3f}")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--size", type=int, default=4096, help="approximate bytes of each form attachment")
    ap.add_argument("--runs", type=int, default=3, help="runs of each measure; the best counts, for floor and poller")
    ap.add_argument("--storage", choices=["maildir", "mdbox", "both"], default="both",
                    help="Dovecot's mail storage (a MOVE renames files in maildir, rewrites indexes in mdbox)")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    for storage in ("maildir", "mdbox") if args.storage == "both" else (args.storage,):
        measure(storage, args)


if __name__ == "__main__":
    main()
