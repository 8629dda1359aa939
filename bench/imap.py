"""Benchmark: messages/s the IMAP poller drains from a real Dovecot on loopback, against the raw floor.

Floor: bare ``imaplib`` ``UID FETCH <batch> (BODY.PEEK[])`` of the same messages, in the same
batch size, nothing stored. Poller: ``poll_imap`` end to end — fetch, MIME reading, SHA-256, files
fsynced into the store, rows committed, messages moved to Processed. The poller is also run with
the store's fsync off, to show how much of the gap is the disk rather than the code.

    .venv/bin/python bench/imap.py [--messages 2000] [--batch 200] [--size 4096]

Needs root and Debian ``dovecot-imapd`` (the same server the integration tests start).
"""

from __future__ import annotations

import argparse
import imaplib
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.sources.imap import poll_imap
from tests.fixtures.dovecot import DovecotServer, ImapAccount
from tests.intake_mail import fake_pdf, make_message, store_and_sessions


def floor(account: ImapAccount, batch: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    m = imaplib.IMAP4("127.0.0.1", account.server.port)
    m.login(account.user, account.password)
    m.select("INBOX")
    _, data = m.uid("SEARCH", "UNDELETED")
    uids = data[0].split()
    got = 0
    for start in range(0, len(uids), batch):
        chunk = b",".join(uids[start:start + batch]).decode()
        _, resp = m.uid("FETCH", chunk, "(BODY.PEEK[])")
        got += sum(1 for r in resp if isinstance(r, tuple))
    m.logout()
    return got, time.perf_counter() - t0


def poller(account: ImapAccount, batch: int, *, fsync: bool) -> tuple[int, float]:
    work = Path(tempfile.mkdtemp(prefix="bench-imap-"))
    store, sessions, engine = store_and_sessions(work, fsync=fsync)
    t0 = time.perf_counter()
    report = poll_imap(account.config(batch_size=batch), store=store, session_factory=sessions,
                       password=account.password, clock=lambda: datetime.now(UTC))
    elapsed = time.perf_counter() - t0
    engine.dispose()
    shutil.rmtree(work, ignore_errors=True)
    assert report.ok, report
    assert report.moved == report.stored, report
    return report.stored, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--size", type=int, default=4096, help="approximate bytes of each form attachment")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dvb-", dir="/tmp"))
    os.chmod(root, 0o755)
    server = DovecotServer(root)
    server.start()
    try:
        results = {}
        for label, fsync in (("poller", True), ("poller, fsync off", False)):
            account = server.add_user()
            account.deliver_many([
                make_message(attachments=[(f"fiche-{i}.pdf", fake_pdf(f"{label}{i}", size=args.size))])
                for i in range(args.messages)])
            n_floor, t_floor = floor(account, args.batch)  # PEEK: leaves the mailbox as it was
            # Dovecot has indexed and cached the folder during the floor run; the poller gets the same warm server.
            n_poll, t_poll = poller(account, args.batch, fsync=fsync)
            results[label] = (n_floor / t_floor, n_poll / t_poll)
            assert n_floor == n_poll == args.messages, (n_floor, n_poll)
        floor_rate = max(r[0] for r in results.values())
        print(f"messages: {args.messages} of ~{args.size + 700} bytes, batch {args.batch}")
        print(f"floor  (imaplib UID FETCH BODY.PEEK[]): {floor_rate:10.0f} msg/s")
        for label, (_, rate) in results.items():
            print(f"{label:<38}: {rate:10.0f} msg/s   ratio {rate / floor_rate:.3f}")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
