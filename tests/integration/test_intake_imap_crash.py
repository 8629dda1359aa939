"""Crash test: the IMAP intake killed with SIGKILL after each step, then run again — every message exactly once,
none lost, none moved before its row was committed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from extranet_intake.intake.sources import PollStep
from extranet_intake.intake.sources.imap import poll_imap
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import Arrival, ImapLedger, LedgerState, create_tables
from extranet_intake.provisioning.engines import make_engine
from tests.fixtures.dovecot import ImapAccount
from tests.intake_mail import fake_pdf, make_message

ROOT = Path(__file__).resolve().parents[2]

# The child is the real poller in its own process; the hook kills it with SIGKILL (no cleanup, no
# finally blocks, no flush) the second time the chosen step is reached.
CHILD = """
import json, os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from sqlmodel import Session
from extranet_intake.intake.config import ImapConfig, TlsMode
from extranet_intake.intake.sources.imap import poll_imap
from extranet_intake.intake.store import DocumentStore
from extranet_intake.provisioning.engines import make_engine

args = json.loads(sys.argv[1])
engine = make_engine(args["db"])
seen = {"n": 0}

def hook(step, uids):
    if step.value == args["step"]:
        seen["n"] += 1
        if seen["n"] == args["at"]:
            os.kill(os.getpid(), signal.SIGKILL)

cfg = ImapConfig(**{**args["cfg"], "tls": TlsMode(args["cfg"]["tls"])})
poll_imap(cfg, store=DocumentStore(Path(args["store"])), session_factory=lambda: Session(engine),
          password=os.environ["IMAP_TEST_PASSWORD"], clock=lambda: datetime.now(UTC), on_progress=hook)
"""


@pytest.mark.parametrize("step", list(PollStep))
def test_sigkill_at_each_step_then_rerun(imap_account: ImapAccount, tmp_path: Path, step: PollStep) -> None:
    # Four batches of two: batches overlap (later batches are committed while an earlier one is moved),
    # so the kill comes at the second time the step is reached.
    raws = [make_message(attachments=[(f"k{i}.pdf", fake_pdf(f"kill-{step}-{i}"))]) for i in range(8)]
    imap_account.deliver_many(raws)
    db = f"sqlite:///{tmp_path / 'extranet_intake.intake.database'}"
    engine = make_engine(db)
    create_tables(engine)
    cfg = imap_account.config(batch_size=2)
    args = {
        "db": db,
        "store": str(tmp_path / "store"),
        "step": step.value,
        "at": 2,
        "cfg": {k: (str(v) if k == "tls" else v) for k, v in vars(cfg).items()},
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "IMAP_TEST_PASSWORD": imap_account.password},
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]

    # After the crash: whatever was moved had its row committed first.
    with Session(engine) as s:
        committed = {a.sha256 for a in s.exec(select(Arrival).where(col(Arrival.parent_sha256).is_(None)))}
        states = [r.state for r in s.exec(select(ImapLedger))]
    moved = {sha256_of(r) for r in imap_account.files("Processed")}
    assert moved <= committed
    # Killed mid-run: something is left for the rerun (with moves coalesced, every row can be
    # committed by the second ``moved``; then the moves are not recorded yet). A batch is packed
    # while the one before it commits: at the second ``fetched`` the first may not be committed yet.
    assert committed or step is PollStep.FETCHED
    assert len(committed) < 8 or any(st is not LedgerState.MOVED for st in states)
    assert all(st in (LedgerState.STORED, LedgerState.MOVED) for st in states)

    report = poll_imap(
        cfg,
        store=DocumentStore(tmp_path / "store"),
        session_factory=lambda: Session(engine),
        password=imap_account.password,
        clock=lambda: datetime.now(UTC),
    )
    assert report.ok, report.errors
    assert imap_account.files("INBOX") == []
    assert sorted(imap_account.files("Processed")) == sorted(raws)  # none lost, none moved twice
    with Session(engine) as s:
        arrivals = list(s.exec(select(Arrival).where(col(Arrival.parent_sha256).is_(None))))
        ledger = list(s.exec(select(ImapLedger)))
    assert sorted(a.sha256 for a in arrivals) == sorted(sha256_of(r) for r in raws)  # each exactly once
    assert {r.state for r in ledger} == {LedgerState.MOVED}
    assert len(ledger) == 8
    engine.dispose()
