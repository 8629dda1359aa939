"""Mails for people (issue 13.4): no form, or every form refused → the people folder, unread; listed.

Real Dovecot for IMAP, a real Maildir on disk, both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from imapclient import SEEN, IMAPClient
from sqlmodel import Session, col, select

from extranet_intake.intake.config import MaildirConfig, TrustConfig
from extranet_intake.intake.explode import explode_messages
from extranet_intake.intake.mime import MimeLimits
from extranet_intake.intake.people import hand_over_imap, hand_over_maildir, mails_for_people
from extranet_intake.intake.sources.imap import poll_imap
from extranet_intake.intake.sources.maildir import poll_maildir
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import Arrival, mark_parsed
from extranet_intake.provisioning.plan import PlanOutcome
from tests.fixtures.dovecot import ImapAccount
from tests.intake_mail import fake_pdf, make_message


def now() -> datetime:
    return datetime.now(UTC)


def _explode(store: DocumentStore, engine: sa.Engine) -> None:
    with Session(engine) as s:
        explode_messages(s, store, trust=TrustConfig(), limits=MimeLimits(), clock=now)


def _decide(engine: sa.Engine, pdf: bytes, outcome: PlanOutcome) -> None:
    with Session(engine) as s:
        mark_parsed(s, sha256_of(pdf), outcome=outcome.value, at=now())
        s.commit()


def _mails() -> dict[str, tuple[bytes, bytes | None]]:
    """name → (message, its one attachment)."""
    refused, kept, waiting = fake_pdf("people-refused"), fake_pdf("people-kept"), fake_pdf("people-waiting")
    return {
        "question": (
            make_message(
                sender="jan@drielinden.example",
                subject="Vraag over toegang",
                attachments=[],
                body="Wanneer ontvang ik mijn login?",
            ),
            None,
        ),
        "refused": (make_message(subject="econ fiche", attachments=[("econ.pdf", refused)]), refused),
        "kept": (make_message(subject="user fiche", attachments=[("usr.pdf", kept)]), kept),
        "waiting": (make_message(subject="not parsed yet", attachments=[("later.pdf", waiting)]), waiting),
    }


def _imap_flags(account: ImapAccount, folder: str) -> dict[str, tuple[bytes, ...]]:
    """SHA-256 of each message in ``folder`` → its flags, read through IMAP."""
    with IMAPClient("127.0.0.1", port=account.server.port, ssl=False) as c:
        c.login(account.user, account.password)
        if not c.folder_exists(folder):
            return {}
        c.select_folder(folder, readonly=True)
        got = c.fetch(c.search(), ["BODY.PEEK[]", "FLAGS"])
        return {sha256_of(d[b"BODY[]"]): tuple(d[b"FLAGS"]) for d in got.values()}


def test_imap_mails_for_people_go_unread_to_their_folder_once(
    imap_account: ImapAccount, tmp_path: Path, engine: sa.Engine
) -> None:
    mails = _mails()
    imap_account.deliver_many([m for m, _ in mails.values()])
    cfg = imap_account.config()
    store = DocumentStore(tmp_path / "store")

    def sessions() -> Session:
        return Session(engine)

    poll_imap(cfg, store=store, session_factory=sessions, password=imap_account.password, clock=now)
    _explode(store, engine)
    _decide(engine, mails["refused"][1] or b"", PlanOutcome.REJECTED)
    _decide(engine, mails["kept"][1] or b"", PlanOutcome.APPLIED)
    # Someone read the mailbox meanwhile: the mails still arrive unread for people.
    with IMAPClient("127.0.0.1", port=imap_account.server.port, ssl=False) as c:
        c.login(imap_account.user, imap_account.password)
        c.select_folder("Processed")
        c.add_flags(c.search(), [SEEN])

    report = hand_over_imap(cfg, session_factory=sessions, password=imap_account.password, clock=now)

    sha = {name: sha256_of(m) for name, (m, _) in mails.items()}
    people = _imap_flags(imap_account, "Te behandelen")
    assert set(people) == {sha["question"], sha["refused"]}
    assert all(SEEN not in flags for flags in people.values())
    assert set(_imap_flags(imap_account, "Processed")) == {sha["kept"], sha["waiting"]}
    assert (report.handed_over, report.warnings) == (2, [])

    again = hand_over_imap(cfg, session_factory=sessions, password=imap_account.password, clock=now)
    assert again.handed_over == 0

    # The form that was pending is refused in a later run: its mail follows.
    _decide(engine, mails["waiting"][1] or b"", PlanOutcome.REJECTED)
    later = hand_over_imap(cfg, session_factory=sessions, password=imap_account.password, clock=now)
    assert later.handed_over == 1
    assert set(_imap_flags(imap_account, "Te behandelen")) == {sha["question"], sha["refused"], sha["waiting"]}

    with Session(engine) as s:
        listed = {m.sha256: m for m in mails_for_people(s, imap=cfg)}
    assert set(listed) == {sha["question"], sha["refused"], sha["waiting"]}
    question = listed[sha["question"]]
    assert (question.sender, question.subject, question.reason) == (
        "jan@drielinden.example",
        "Vraag over toegang",
        "no-form-attachment",
    )
    assert listed[sha["refused"]].reason == "forms-refused"
    assert question.folder.endswith("/Te behandelen")


def test_imap_a_move_not_recorded_is_only_recorded_next_time(
    imap_account: ImapAccount, tmp_path: Path, engine: sa.Engine
) -> None:
    """A crash between the MOVE and the ledger mark: the next run finds the mail in the people folder."""
    raw = make_message(attachments=[], subject="question")
    imap_account.deliver(raw)
    cfg = imap_account.config(people_folder="Vragen")
    store = DocumentStore(tmp_path / "store")
    poll_imap(cfg, store=store, session_factory=lambda: Session(engine), password=imap_account.password, clock=now)
    _explode(store, engine)
    with IMAPClient("127.0.0.1", port=imap_account.server.port, ssl=False) as c:
        c.login(imap_account.user, imap_account.password)
        c.create_folder("Vragen")
        c.select_folder("Processed")
        c.move(c.search(), "Vragen")
    report = hand_over_imap(cfg, session_factory=lambda: Session(engine), password=imap_account.password, clock=now)
    assert (report.handed_over, report.warnings) == (1, [])
    assert set(_imap_flags(imap_account, "Vragen")) == {sha256_of(raw)}


def test_maildir_mails_for_people_go_to_new_of_their_subfolder(tmp_path: Path, engine: sa.Engine) -> None:
    root = tmp_path / "Maildir"
    for d in ("tmp", "new", "cur"):
        (root / d).mkdir(parents=True)
    mails = _mails()
    for i, (raw, _) in enumerate(mails.values()):
        (root / "new" / f"17000000{i}.M{i}P1.host").write_bytes(raw)
    cfg = MaildirConfig(path=root)
    store = DocumentStore(tmp_path / "store")
    poll_maildir(cfg, store=store, session_factory=lambda: Session(engine), clock=now)
    _explode(store, engine)
    _decide(engine, mails["refused"][1] or b"", PlanOutcome.REJECTED)
    _decide(engine, mails["kept"][1] or b"", PlanOutcome.REVIEW)

    report = hand_over_maildir(cfg, session_factory=lambda: Session(engine), clock=now)

    people = root / ".Te behandelen"
    assert (people / "maildirfolder").is_file()
    unread = sorted(p.name for p in (people / "new").iterdir())
    assert all(":2," not in name for name in unread)  # new/, no flags: unread
    assert {sha256_of(p.read_bytes()) for p in (people / "new").iterdir()} == {
        sha256_of(mails["question"][0]),
        sha256_of(mails["refused"][0]),
    }
    assert list((people / "cur").iterdir()) == []
    assert len(list((root / ".Processed" / "cur").iterdir())) == 2
    assert (report.handed_over, report.warnings) == (2, [])
    assert hand_over_maildir(cfg, session_factory=lambda: Session(engine), clock=now).handed_over == 0
    with Session(engine) as s:
        listed = mails_for_people(s, maildir=cfg)
        senders = {a.sha256: a.sender for a in s.exec(select(Arrival).where(col(Arrival.parent_sha256).is_(None)))}
    assert sorted(m.reason for m in listed) == ["forms-refused", "no-form-attachment"]
    assert all(m.sender == senders[m.sha256] for m in listed)
    assert all(m.folder == f"maildir:{people}" for m in listed)
