"""Maildir and drop-folder sources, and the document store on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, iter_entries
from extranet_intake.errors import StoreError
from extranet_intake.intake.config import DropConfig, MaildirConfig, TrustConfig
from extranet_intake.intake.explode import explode_messages
from extranet_intake.intake.mime import MimeLimits
from extranet_intake.intake.sources import Incoming, PollStep, ingest_batch
from extranet_intake.intake.sources.drop import is_ignored, poll_drop
from extranet_intake.intake.sources.files import Refused, read_listed
from extranet_intake.intake.sources.maildir import poll_maildir
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import Arrival, Document, ParseState, mark_parsed, pending_documents
from extranet_intake.parsers.result import Channel
from tests.intake_mail import FIXED_NOW, explode, fake_pdf, make_message, store_and_sessions

ROOT = Path(__file__).resolve().parents[2]


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
        [
            ".~lock.fiche.xlsx#",
            "~$fiche.xlsx",
            "Thumbs.db",
            "upload.pdf.part",
            "scan.tmp",
            ".hidden.pdf",
            "being-written.pdf",
        ]
    )
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


def test_drop_refuses_links_and_oversized_files_with_an_audit_entry(tmp_path: Path) -> None:
    drop, archive = tmp_path / "drop", tmp_path / "archive"
    drop.mkdir()
    secret = tmp_path / "service-secret.txt"
    secret.write_text("a file the service can read, but nobody may drop in", encoding="utf-8")
    (drop / "c-link.pdf").symlink_to(secret)
    (drop / "huge.pdf").write_bytes(b"%PDF-1.4 " + b"x" * 2000)
    (drop / "scan.pdf").write_bytes(fake_pdf("ok"))
    old = (datetime.now(UTC) - timedelta(minutes=5)).timestamp()
    for p in drop.iterdir():
        os.utime(p, (old, old), follow_symlinks=False)
    store, sessions, _ = store_and_sessions(tmp_path)
    cfg = DropConfig(path=drop, archive=archive, stable_seconds=30, max_bytes=1000)
    report = poll_drop(cfg, store=store, session_factory=sessions, clock=clock)
    assert sorted(e.code for e in report.errors) == ["file-symlink", "file-too-large"]
    assert (report.stored, report.failed) == (1, 2)
    assert not store.exists(sha256_of(secret.read_bytes()))  # the link was never followed
    failed = archive / "failed" / datetime.now(UTC).date().isoformat()
    assert sorted(p.name for p in failed.iterdir()) == ["c-link.pdf", "huge.pdf"]
    assert (failed / "c-link.pdf").is_symlink()  # the link itself moved; its target untouched
    assert secret.exists()
    with sessions() as s:
        refused = sorted(
            (e["reason"], json.loads(e["details"])["source"].split("|")[0])
            for e in iter_entries(s.connection(), actions=[AuditAction.DOCUMENT_REJECTED])
        )
    assert refused == [("file-symlink", "drop:c-link.pdf"), ("file-too-large", "drop:huge.pdf")]


def test_a_link_or_a_pipe_swapped_in_after_the_listing_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "service-secret.txt"
    secret.write_bytes(b"a file the service can read")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 a scan")
    os.link(scan, tmp_path / "kept")  # the listed file's inode stays taken: never handed to a new file
    listed = scan.lstat()
    assert read_listed(scan, listed, max_bytes=1000) == b"%PDF-1.4 a scan"
    scan.unlink()
    scan.symlink_to(secret)  # the swap, between the listing and the read
    with pytest.raises(Refused) as link:
        read_listed(scan, listed, max_bytes=1000)
    assert link.value.code == "file-symlink"
    scan.unlink()
    os.mkfifo(scan)  # a reader following it would block forever
    with pytest.raises(Refused) as pipe:
        read_listed(scan, listed, max_bytes=1000)
    assert pipe.value.code == "file-not-regular"
    scan.unlink()
    scan.write_bytes(b"%PDF-1.4 a scan")  # another file of the same size now: not the one listed
    os.utime(scan, ns=(listed.st_atime_ns, listed.st_mtime_ns))
    assert read_listed(scan, listed, max_bytes=1000) is None
    grown = scan.lstat()
    with scan.open("ab") as f:
        f.write(b" and a second page")  # still being written: left for the next run
    assert read_listed(scan, grown, max_bytes=1000) is None


def test_a_pipe_in_the_drop_folder_or_a_link_in_the_maildir_is_refused_not_read(tmp_path: Path) -> None:
    drop, archive, maildir = tmp_path / "drop", tmp_path / "archive", tmp_path / "Maildir"
    drop.mkdir()
    os.mkfifo(drop / "pipe.pdf")
    (drop / "scan.pdf").write_bytes(fake_pdf("beside a pipe"))
    old = (datetime.now(UTC) - timedelta(minutes=5)).timestamp()
    for p in drop.iterdir():
        os.utime(p, (old, old))
    store, sessions, _ = store_and_sessions(tmp_path)
    report = poll_drop(
        DropConfig(path=drop, archive=archive, stable_seconds=30), store=store, session_factory=sessions, clock=clock
    )
    assert [e.code for e in report.errors] == ["file-not-regular"]
    assert (report.stored, report.failed) == (1, 1)
    assert [p.name for p in (archive / "failed").rglob("*")] == [datetime.now(UTC).date().isoformat(), "pipe.pdf"]
    raw = make_message(attachments=[("f.pdf", fake_pdf("in the maildir"))])
    _deliver(maildir, [raw])
    (maildir / "new" / "1700000001.Mlink.host").symlink_to(tmp_path / "extranet_intake.intake.database")
    mail = poll_maildir(MaildirConfig(path=maildir), store=store, session_factory=sessions, clock=clock)
    assert [e.code for e in mail.errors] == ["file-symlink"]
    assert (mail.stored, mail.failed) == (1, 1)
    assert [p.name for p in (maildir / ".Failed" / "cur").iterdir()] == ["1700000001.Mlink.host:2,S"]
    with sessions() as s:
        refused = sorted(e["reason"] for e in iter_entries(s.connection(), actions=[AuditAction.DOCUMENT_REJECTED]))
    assert refused == ["file-not-regular", "file-symlink"]


UNREADABLE_CHILD = """
import json, os, sqlite3, sys
from datetime import UTC, datetime
from pathlib import Path
from sqlmodel import Session
from extranet_intake.intake.config import DropConfig
from extranet_intake.intake.sources.drop import poll_drop
from extranet_intake.intake.store import DocumentStore
from tests.intake_mail import sqlite_engine

root = Path(sys.argv[1])
os.setgid(65534)
os.setuid(65534)  # the service user: not root, so file permissions hold (all imports are done before)
engine = sqlite_engine(root / "extranet_intake.intake.database")
report = poll_drop(DropConfig(path=root / "drop", archive=root / "archive", stable_seconds=0),
                   store=DocumentStore(root / "store"), session_factory=lambda: Session(engine),
                   clock=lambda: datetime.now(UTC))
print(json.dumps(report.as_dict()))
"""


def test_drop_leaves_a_file_it_cannot_read_and_goes_on() -> None:
    root = Path(tempfile.mkdtemp(prefix="drop-perm-", dir="/tmp"))
    try:
        (root / "drop").mkdir()
        (root / "drop" / "a-root-only.pdf").write_bytes(fake_pdf("root only"))
        (root / "drop" / "a-root-only.pdf").chmod(0o600)  # a scanner account wrote it for itself
        (root / "drop" / "b-scan.pdf").write_bytes(fake_pdf("readable"))
        (root / "drop" / "b-scan.pdf").chmod(0o644)
        for p in (root, root / "drop"):
            p.chmod(0o777)
        child = subprocess.run(
            [sys.executable, "-c", UNREADABLE_CHILD, str(root)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
            check=False,
        )
        assert child.returncode == 0, child.stderr[-2000:]  # no PermissionError traceback: the run went on
        report = json.loads(child.stdout)
        assert [e["code"] for e in report["errors"]] == ["file-unreadable"]
        assert (report["stored"], report["retrying"]) == (1, 1)
        assert sorted(p.name for p in (root / "drop").iterdir()) == ["a-root-only.pdf"]  # left for a next run
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_is_ignored() -> None:
    assert all(is_ignored(n) for n in (".~lock.x#", "Thumbs.db", "a.TMP", "a.part", ".DS_Store", "~$a.docx"))
    assert not any(is_ignored(n) for n in ("fiche.pdf", "scan 2026.tif", "EAP-USR.xlsx"))


def test_store_on_both_databases(engine: sa.Engine, tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "store")
    pdf = fake_pdf("db")
    msgs = [
        make_message(attachments=[("a.pdf", pdf)], message_id="<one@x>"),
        make_message(attachments=[("b.pdf", pdf)], message_id="<two@x>"),
    ]
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
    duplicate = {
        "sha256": sha256_of(pdf),
        "channel": "email",
        "source": "test:0",
        "received_at": FIXED_NOW,
        "outcome": "stored",
        "filename": "a.pdf",
        "parent_sha256": sha256_of(msgs[0]),
    }
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
