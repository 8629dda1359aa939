"""Maildir and drop-folder sources, and the document store on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from errors import StoreError
from intake.config import DropConfig, MaildirConfig, TrustConfig
from intake.mime import MimeLimits
from intake.sources import Incoming, PollStep, ingest_batch
from intake.sources.drop import is_ignored, poll_drop
from intake.sources.ingest import explode_messages
from intake.sources.maildir import poll_maildir
from intake.store import Arrival, Document, DocumentStore, ParseState, mark_parsed, pending_documents, sha256_of
from parsers.result import Channel
from tests.intake_mail import FIXED_NOW, explode, fake_pdf, make_message, store_and_sessions


def clock() -> datetime:
    return datetime.now(UTC)


def _deliver(maildir: Path, raws: list[bytes], sub: str = "new") -> None:
    for d in ("tmp", "new", "cur"):
        (maildir / d).mkdir(parents=True, exist_ok=True)
    for raw in raws:
        name = f"1700000000.M{sha256_of(raw)[:12]}P1.host" + (":2,S" if sub == "cur" else "")
        (maildir / sub / name).write_bytes(raw)


class _Abort(BaseException):
    pass


def test_maildir_flow_and_crash_between_commit_and_move(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    raws = [make_message(attachments=[(f"m{i}.pdf", fake_pdf(f"md{i}"))]) for i in range(3)] + [make_message()]
    _deliver(maildir, raws[:3])
    _deliver(maildir, raws[3:], sub="cur")
    store, sessions, _ = store_and_sessions(tmp_path)
    cfg = MaildirConfig(path=maildir)

    def die_before_move(step: PollStep, keys: Sequence[object]) -> None:
        if step is PollStep.COMMITTED:
            raise _Abort

    with pytest.raises(_Abort):
        poll_maildir(cfg, store=store, session_factory=sessions, clock=clock, on_progress=die_before_move)
    assert len(list((maildir / "new").iterdir())) == 3  # committed, not moved
    report = poll_maildir(cfg, store=store, session_factory=sessions, clock=clock)
    assert (report.stored, report.moved) == (0, 4)  # only the moves were left to do
    processed = sorted((maildir / ".Processed" / "cur").iterdir())
    assert len(processed) == 4
    assert all(":2,S" in p.name for p in processed)
    assert sorted(p.read_bytes() for p in processed) == sorted(raws)
    with sessions() as s:
        messages = list(s.exec(select(Arrival).where(col(Arrival.parent_sha256).is_(None))))
        assert pending_documents(s) == []  # stage 1 stores whole messages only
    assert sorted(a.outcome for a in messages) == ["pending"] * 4
    exploded = explode(store, sessions)
    assert (exploded.stored, exploded.documents, exploded.no_form) == (4, 3, 1)
    with sessions() as s:
        messages = list(s.exec(select(Arrival).where(col(Arrival.parent_sha256).is_(None))))
        assert len(pending_documents(s)) == 3
    assert sorted(a.outcome for a in messages) == ["forms"] * 3 + ["no-form-attachment"]
    assert {a.channel for a in messages} == {Channel.EMAIL}
    assert (poll_maildir(cfg, store=store, session_factory=sessions, clock=clock).seen) == 0


def test_drop_ignores_hidden_temporary_and_unstable_files(tmp_path: Path) -> None:
    drop, archive = tmp_path / "drop", tmp_path / "archive"
    drop.mkdir()
    scan = fake_pdf("scan 1")
    for name in ("scan001.pdf", "copy of scan.pdf"):
        (drop / name).write_bytes(scan)  # same bytes under two names
    (drop / "fiche.xlsx").write_bytes(b"PK\x03\x04 an xlsx")
    for junk in (".~lock.fiche.xlsx#", "~$fiche.xlsx", "Thumbs.db", "upload.pdf.part", "scan.tmp", ".hidden.pdf"):
        (drop / junk).write_bytes(b"%PDF-1.4 junk")
    (drop / "being-written.pdf").write_bytes(fake_pdf("half"))
    old = (datetime.now(UTC) - timedelta(minutes=5)).timestamp()
    for p in drop.iterdir():
        if p.name != "being-written.pdf":
            os.utime(p, (old, old))
    store, sessions, _ = store_and_sessions(tmp_path)
    cfg = DropConfig(path=drop, archive=archive, stable_seconds=30)
    report = poll_drop(cfg, store=store, session_factory=sessions, clock=clock)
    assert report.ok, report.errors
    assert (report.stored, report.documents, report.moved, report.skipped) == (3, 2, 3, 1)
    assert sorted(p.name for p in drop.iterdir()) == sorted(
        [".~lock.fiche.xlsx#", "~$fiche.xlsx", "Thumbs.db", "upload.pdf.part", "scan.tmp", ".hidden.pdf",
         "being-written.pdf"])
    day = datetime.now(UTC).date().isoformat()
    assert sorted(p.name for p in (archive / day).iterdir()) == ["copy of scan.pdf", "fiche.xlsx", "scan001.pdf"]
    with sessions() as s:
        pending = {p.sha256: p for p in pending_documents(s)}
    assert pending[sha256_of(scan)].arrivals == 2
    assert pending[sha256_of(scan)].arrival.channel == Channel.POST
    # The scanner reuses a name the next day, with a new page: a new arrival, not a ledger hit.
    (drop / "scan001.pdf").write_bytes(fake_pdf("scan 2"))
    os.utime(drop / "scan001.pdf", (old + 60, old + 60))
    again = poll_drop(cfg, store=store, session_factory=sessions, clock=clock)
    assert (again.stored, again.documents) == (1, 1)
    assert len(list((archive / day).iterdir())) == 4


def test_is_ignored() -> None:
    assert all(is_ignored(n) for n in (".~lock.x#", "Thumbs.db", "a.TMP", "a.part", ".DS_Store", "~$a.docx"))
    assert not any(is_ignored(n) for n in ("fiche.pdf", "scan 2026.tif", "EAP-USR.xlsx"))


def test_store_on_both_databases(engine: sa.Engine, tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "store")
    pdf = fake_pdf("db")
    msgs = [make_message(attachments=[("a.pdf", pdf)], message_id="<one@x>"),
            make_message(attachments=[("b.pdf", pdf)], message_id="<two@x>")]
    items = [Incoming(key=str(i), data=m, source=f"test:{i}", received_at=FIXED_NOW) for i, m in enumerate(msgs)]
    with Session(engine) as s:
        results = ingest_batch(s, store, items, channel=Channel.EMAIL, clock=lambda: FIXED_NOW)
        s.commit()
        assert [r.outcome for r in results] == ["stored", "stored"]
        exploded = explode_messages(s, store, trust=TrustConfig(), limits=MimeLimits(), clock=lambda: FIXED_NOW)
    assert (exploded.stored, exploded.documents) == (2, 1)
    with Session(engine) as s:
        pending = pending_documents(s)
        assert [(p.sha256, p.arrivals, p.arrival.message_id) for p in pending] == [(sha256_of(pdf), 2, "<one@x>")]
        mark_parsed(s, sha256_of(pdf), outcome="valid", at=FIXED_NOW)
        s.commit()
    with Session(engine) as s:
        assert pending_documents(s) == []
        doc = s.get(Document, sha256_of(pdf))
        assert doc is not None
        assert (doc.parse_state, doc.parse_outcome) == (ParseState.PARSED, "valid")
    # The same source item and content recorded twice is refused by the unique key, not silently doubled.
    duplicate = {"sha256": sha256_of(pdf), "channel": "email", "source": "test:0", "received_at": FIXED_NOW,
                 "outcome": "stored", "filename": "a.pdf", "parent_sha256": sha256_of(msgs[0])}
    with Session(engine) as s:
        with pytest.raises(sa.exc.IntegrityError):
            s.execute(sa.insert(Arrival), [duplicate])
        s.rollback()


def test_store_writes_atomically_and_detects_tampering(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "store")
    sha = store.put(b"%PDF-1.4 original")
    path = store.path(sha)
    assert path == tmp_path / "store" / sha[:2] / sha
    assert store.open(sha) == b"%PDF-1.4 original"
    assert [p.name for p in path.parent.iterdir()] == [sha]  # no temporary file left behind
    assert store.put(b"%PDF-1.4 original") == sha  # idempotent
    path.write_bytes(b"%PDF-1.4 changed")
    with pytest.raises(StoreError) as err:
        store.open(sha)
    assert err.value.code == "document-corrupt"
    with pytest.raises(StoreError) as missing:
        store.open("0" * 64)
    assert missing.value.code == "document-missing"
    with pytest.raises(StoreError):
        store.path("../../etc/passwd")
