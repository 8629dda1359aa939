"""Stage 2 (explode_messages): every stored message exploded exactly once, across crashes between and inside
the stages; a bad message is recorded with its code and the others go on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlmodel import col, select

from extranet_intake.auditchain.chain import iter_entries
from extranet_intake.intake.config import MaildirConfig
from extranet_intake.intake.mime import MimeLimits
from extranet_intake.intake.sources import PollStep
from extranet_intake.intake.sources.maildir import poll_maildir
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import Arrival, Document, ParseState, pending_documents
from tests.intake_mail import explode, fake_pdf, make_message, store_and_sessions
from tests.integration.test_intake_files import _deliver, clock

GATEWAY_PASS = "mx.ethias.be; dkim=pass header.d=example.be; spf=pass; dmarc=pass header.from=example.be"


class _Abort(BaseException):
    pass


def _arrivals(sessions) -> list[Arrival]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return list(s.exec(select(Arrival)))


def test_crash_between_the_stages_then_exactly_once(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    pdfs = [fake_pdf(f"x{i}") for i in range(3)]
    raws = [
        make_message(attachments=[(f"f{i}.pdf", pdf), (f"copy{i}.pdf", pdf)], auth_results=[GATEWAY_PASS])
        for i, pdf in enumerate(pdfs)
    ]
    _deliver(maildir, raws)
    store, sessions, _ = store_and_sessions(tmp_path)
    cfg = MaildirConfig(path=maildir)
    assert poll_maildir(cfg, store=store, session_factory=sessions, clock=clock).stored == 3
    # The run dies here, between the stages; the next run polls again (nothing new) and explodes.
    with sessions() as s:
        assert pending_documents(s) == []
        states = set(s.exec(select(Document.parse_state)))
    assert states == {ParseState.UNEXPLODED}
    assert poll_maildir(cfg, store=store, session_factory=sessions, clock=clock).stored == 0
    report = explode(store, sessions)
    assert report.ok, report.errors
    assert (report.seen, report.stored, report.documents) == (3, 3, 3)
    forms = [a for a in _arrivals(sessions) if a.parent_sha256]
    assert sorted(a.sha256 for a in forms) == sorted(sha256_of(p) for p in pdfs)  # one arrival each, once
    assert {(a.sender, a.dmarc, a.auth_trusted) for a in forms} == {("mu@example.be", "pass", True)}
    assert {a.parent_sha256 for a in forms} == {sha256_of(r) for r in raws}
    with sessions() as s:
        assert {p.sha256 for p in pending_documents(s)} == {sha256_of(p) for p in pdfs}
    again = explode(store, sessions)
    assert (again.seen, again.stored, again.documents) == (0, 0, 0)
    assert len(_arrivals(sessions)) == 6


@pytest.mark.parametrize("step", [PollStep.STORED, PollStep.COMMITTED])
def test_crash_inside_stage_2(tmp_path: Path, step: PollStep) -> None:
    maildir = tmp_path / "Maildir"
    raws = [make_message(attachments=[(f"k{i}.pdf", fake_pdf(f"k{step}{i}"))]) for i in range(5)]
    _deliver(maildir, raws)
    store, sessions, _ = store_and_sessions(tmp_path)
    poll_maildir(MaildirConfig(path=maildir), store=store, session_factory=sessions, clock=clock)

    def die(at: PollStep, keys: Sequence[object]) -> None:
        if at is step:
            raise _Abort

    with pytest.raises(_Abort):
        explode(store, sessions, on_progress=die, chunk=2)
    committed = [a for a in _arrivals(sessions) if a.parent_sha256]
    assert len(committed) == (2 if step is PollStep.COMMITTED else 0)  # the first chunk, or nothing
    report = explode(store, sessions, chunk=2)
    assert report.ok, report.errors
    assert report.stored == 5 - len(committed)
    forms = [a for a in _arrivals(sessions) if a.parent_sha256]
    assert sorted(a.parent_sha256 or "" for a in forms) == sorted(sha256_of(r) for r in raws)  # each once
    with sessions() as s:
        assert len(pending_documents(s)) == 5


class PoisonedStore(DocumentStore):
    def _write_tmp(self, folder: Path, sha256: str, data: bytes, *, fsync: bool) -> Path:
        if b"POISON" in data:
            raise OSError(28, "No space left on device")
        return super()._write_tmp(folder, sha256, data, fsync=fsync)


def test_bad_messages_are_recorded_with_their_code(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    good = make_message(attachments=[("g.pdf", fake_pdf("good"))])
    corrupt = make_message(attachments=[("c.pdf", fake_pdf("will be damaged"))])
    disk = make_message(attachments=[("p.pdf", fake_pdf("POISON"))])
    _deliver(maildir, [good, corrupt, disk])
    store, sessions, _ = store_and_sessions(tmp_path)
    poll_maildir(MaildirConfig(path=maildir), store=store, session_factory=sessions, clock=clock)
    assert store.unpack() == 3  # the drained messages, each filed under its name
    store.path(sha256_of(corrupt)).write_bytes(b"changed on disk")
    poisoned = PoisonedStore(tmp_path / "store")
    report = explode(poisoned, sessions)
    assert sorted(e.code for e in report.errors) == ["document-corrupt", "store-write-failed"]
    assert (report.stored, report.failed, report.retrying, report.documents) == (2, 1, 1, 1)
    by_sha = {a.sha256: a for a in _arrivals(sessions) if a.parent_sha256 is None}
    assert by_sha[sha256_of(corrupt)].outcome == "document-corrupt"  # final, with its code
    assert by_sha[sha256_of(good)].outcome == "forms"
    assert by_sha[sha256_of(disk)].outcome == "pending"  # a disk error passes: left for the next run
    later = explode(store, sessions)
    assert (later.seen, later.stored, later.documents) == (1, 1, 1)
    with sessions() as s:
        states = {d.sha256: d.parse_state for d in s.exec(select(Document).where(col(Document.kind) == "message"))}
    assert set(states.values()) == {ParseState.NOT_APPLICABLE}


class FullDisk(DocumentStore):
    def _write_tmp(self, folder: Path, sha256: str, data: bytes, *, fsync: bool) -> Path:
        raise OSError(28, "No space left on device")


def test_a_store_error_that_may_pass_leaves_the_message_pending(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    packed = make_message(attachments=[("a.pdf", fake_pdf("still packed"))])
    _deliver(maildir, [packed])
    store, sessions, _ = store_and_sessions(tmp_path)
    poll_maildir(MaildirConfig(path=maildir), store=store, session_factory=sessions, clock=clock)
    store._close_pack()  # the poller's run is over
    full = explode(FullDisk(tmp_path / "store"), sessions)  # the packed message cannot be filed
    assert [e.code for e in full.errors] == ["unpack-failed", "unpack-failed"]  # the sweep, then the read
    assert (full.stored, full.failed, full.retrying) == (0, 0, 1)
    assert [a.outcome for a in _arrivals(sessions)] == ["pending"]
    assert explode(store, sessions).stored == 1  # space again: exploded as if nothing happened

    unreadable = make_message(attachments=[("b.pdf", fake_pdf("read error"))])
    _deliver(maildir, [unreadable])
    poll_maildir(MaildirConfig(path=maildir), store=store, session_factory=sessions, clock=clock)
    assert store.unpack() == 1
    path = store.path(sha256_of(unreadable))
    kept = path.read_bytes()
    path.unlink()
    path.mkdir()  # reading it fails with an I/O error (EISDIR), as a bad sector would
    failing = explode(store, sessions)
    assert [e.code for e in failing.errors] == ["document-unreadable"]
    assert failing.retrying == 1
    path.rmdir()
    path.write_bytes(kept)
    assert explode(store, sessions).stored == 1
    assert {a.outcome for a in _arrivals(sessions) if a.parent_sha256 is None} == {"forms"}


def test_a_message_without_a_form_is_a_coded_rejection_with_an_audit_entry(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    question = make_message(body="Hoe vraag ik een toegang aan?", auth_results=[GATEWAY_PASS])
    with_form = make_message(attachments=[("f.pdf", fake_pdf("y"))], auth_results=[GATEWAY_PASS])
    _deliver(maildir, [question, with_form])
    store, sessions, _ = store_and_sessions(tmp_path)
    poll_maildir(MaildirConfig(path=maildir), store=store, session_factory=sessions, clock=clock)
    report = explode(store, sessions)
    assert report.no_form == 1
    with sessions() as s:
        entries = list(iter_entries(s.connection()))
        outcome = s.exec(select(Arrival.outcome).where(col(Arrival.sha256) == sha256_of(question))).one()
    assert outcome == "no-form-attachment"
    assert [(e["action"], e["document_sha256"], e["reason"]) for e in entries] == [
        ("document_rejected", sha256_of(question), "no-form-attachment")
    ]


def test_a_part_refused_beside_a_form_gets_an_audit_entry(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    form = fake_pdf("kept beside a big one")
    mixed = make_message(
        attachments=[("fiche.pdf", form), ("scan-600dpi.pdf", fake_pdf("big", size=40_000))],
        auth_results=[GATEWAY_PASS],
    )
    plain = make_message(attachments=[("g.pdf", fake_pdf("plain"))], body="Zie bijlage.", auth_results=[GATEWAY_PASS])
    _deliver(maildir, [mixed, plain])
    store, sessions, _ = store_and_sessions(tmp_path)
    poll_maildir(MaildirConfig(path=maildir), store=store, session_factory=sessions, clock=clock)
    report = explode(store, sessions, limits=MimeLimits(max_part_bytes=20_000))
    assert (report.documents, report.no_form) == (2, 0)  # the form beside it is read all the same
    with sessions() as s:
        entries = list(iter_entries(s.connection()))
    assert [(e["action"], e["document_sha256"], e["reason"]) for e in entries] == [
        ("document_rejected", sha256_of(mixed), "part-too-large")
    ]  # the plain mail's text body is no refusal
    skipped = json.loads(entries[0]["details"])["skipped"]
    assert [(p["filename"], p["reason"]) for p in skipped] == [("scan-600dpi.pdf", "part-too-large")]
    assert skipped[0]["size"] > 20_000
