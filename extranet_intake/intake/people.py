"""Mails for people: messages with no form (or whose forms were all refused), moved unread to a folder a person reads.

The same mailbox receives the organisations' questions. A poller files every stored message under
Processed at once (stage 1 cannot know yet what a message holds); once the run has exploded and
decided a message's forms, ``hand_over_imap`` / ``hand_over_maildir`` move the messages that need
a person on to the people folder (default ``Te behandelen``, created if missing) *without* the
\\Seen flag, and mark their ledger row ``for-people``. Nothing is ever answered automatically.

A message is for people when stage 2 gave it an outcome other than ``forms`` (no form attachment,
unreadable…), or when every one of its forms has been decided and every decision is ``rejected``. A
message with a form still pending waits for a later run; one with a form applied, waiting or in
review stays in Processed (the review queue is where a person sees it).

Order, as everywhere: the move first, then the ledger mark. A crash in between leaves the row
``moved``; the next run looks for the message in Processed, then in the people folder, finds it
there and only records the mark — a message is never moved twice nor lost.

``mails_for_people`` lists what was handed over (sender, subject, date, reason): the command
line's ``status`` and the web application both call it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from imapclient import SEEN, IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from extranet_intake.errors import SourceError
from extranet_intake.intake.config import ImapConfig, MaildirConfig
from extranet_intake.intake.mime import MimeOutcome
from extranet_intake.intake.sources.imap import account_of, connect, move_uids
from extranet_intake.intake.sources.ingest import MESSAGE_PENDING
from extranet_intake.intake.sources.maildir import SOURCE as MAILDIR_SOURCE
from extranet_intake.intake.store import sha256_of
from extranet_intake.intake.store_tables import Arrival, Document, FileLedger, ImapLedger, LedgerState, ParseState
from extranet_intake.provisioning.plan import PlanOutcome

__all__ = [
    "MailForPeople",
    "PeopleReason",
    "PeopleReport",
    "hand_over_imap",
    "hand_over_maildir",
    "maildir_people_folder",
    "mails_for_people",
]

Clock = Callable[[], datetime]


class PeopleReason(StrEnum):
    """Why a mail went to people (besides stage 2's own outcomes: ``no-form-attachment``…)."""

    FORMS_REFUSED = "forms-refused"  # every form the message carried was rejected


@dataclass(frozen=True)
class MailForPeople:
    """One mail handed over to people, as the status command and the web application show it."""

    sha256: str
    source: str
    sender: str
    subject: str
    received_at: datetime
    #: ``no-form-attachment``, ``message-too-large``, ``message-unreadable``, ``forms-refused``…
    reason: str
    #: where the mail is now: ``imap:<account>/<folder>`` or ``maildir:<path>``
    folder: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "source": self.source,
            "sender": self.sender,
            "subject": self.subject,
            "received_at": self.received_at.isoformat(),
            "reason": self.reason,
            "folder": self.folder,
        }


@dataclass
class PeopleReport:
    """What one hand-over did: counted in the run summary."""

    source: str
    folder: str
    handed_over: int = 0
    #: a mail a person already moved away from Processed: recorded as for people all the same
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def warn(self, code: str, message: str, **data: Any) -> None:
        self.warnings.append({"code": code, "message": message, **{k: str(v) for k, v in data.items()}})

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "folder": self.folder,
            "handed_over": self.handed_over,
            "warnings": self.warnings,
        }


def maildir_people_folder(cfg: MaildirConfig) -> Path:
    """The Maildir++ sub-folder of ``cfg.people_folder`` (``.Te behandelen``)."""
    return Path(cfg.path) / f".{cfg.people_folder}"


# ------------------------------------------------------------------------------------------ which mails


@dataclass(frozen=True)
class _Candidate:
    key: tuple[Any, ...]
    sha256: str
    message_id: str
    size: int


def _for_people_clause(sha: Any) -> Any:
    """SQL: the message whose SHA-256 is ``sha`` needs a person (see the module docstring)."""
    message = aliased(Arrival)
    child = aliased(Arrival)
    doc = aliased(Document)
    not_a_form_mail = exists().where(
        col(message.sha256) == sha,
        col(message.parent_sha256).is_(None),
        col(message.outcome).not_in([MimeOutcome.FORMS.value, MESSAGE_PENDING]),
    )
    has_forms = exists().where(col(child.parent_sha256) == sha)
    # A form not decided yet, or decided otherwise than refused: the message is not (yet) for people.
    undecided_or_kept = exists().where(
        col(child.parent_sha256) == sha,
        col(doc.sha256) == col(child.sha256),
        or_(
            col(doc.parse_state) != ParseState.PARSED.value,
            func.coalesce(col(doc.parse_outcome), "") != PlanOutcome.REJECTED.value,
        ),
    )
    return or_(not_a_form_mail, and_(has_forms, ~undecided_or_kept))


def _imap_candidates(session: Session, cfg: ImapConfig) -> list[_Candidate]:
    query = (
        select(ImapLedger.uidvalidity, ImapLedger.uid, ImapLedger.sha256, Document.size)
        .join(Document, col(Document.sha256) == col(ImapLedger.sha256))
        .where(
            col(ImapLedger.account) == account_of(cfg),
            col(ImapLedger.folder) == cfg.folder,
            col(ImapLedger.state) == LedgerState.MOVED.value,
            _for_people_clause(col(ImapLedger.sha256)),
        )
        .order_by(col(ImapLedger.uidvalidity), col(ImapLedger.uid))
    )
    rows = list(session.exec(query))
    ids = _message_ids(session, [str(r[2]) for r in rows])
    return [_Candidate((int(v), int(u)), str(sha), ids.get(str(sha), ""), int(size)) for v, u, sha, size in rows]


def _maildir_candidates(session: Session) -> list[_Candidate]:
    query = (
        select(FileLedger.key, FileLedger.sha256)
        .where(
            col(FileLedger.source) == MAILDIR_SOURCE,
            col(FileLedger.state) == LedgerState.MOVED.value,
            _for_people_clause(col(FileLedger.sha256)),
        )
        .order_by(col(FileLedger.key))
    )
    return [_Candidate((str(key),), str(sha), "", 0) for key, sha in session.exec(query)]


def _message_ids(session: Session, shas: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(shas), 500):
        for sha, mid in session.exec(
            select(Arrival.sha256, Arrival.message_id).where(
                col(Arrival.sha256).in_(shas[start : start + 500]), col(Arrival.parent_sha256).is_(None)
            )
        ):
            if mid:
                found.setdefault(sha, mid)
    return found


# ------------------------------------------------------------------------------------------ IMAP


def hand_over_imap(
    cfg: ImapConfig, *, session_factory: Callable[[], Session], password: str, clock: Clock
) -> PeopleReport:
    """Move the mails for people from Processed to ``cfg.people_folder``, unread. Connection and
    command errors raise ``SourceError`` (the run records it and goes on); the ledger keeps what is
    left for the next run."""
    report = PeopleReport(
        source=f"imap:{account_of(cfg)}/{cfg.folder}", folder=f"imap:{account_of(cfg)}/{cfg.people_folder}"
    )
    with session_factory() as session:
        todo = _imap_candidates(session, cfg)
    if not todo:
        return report
    client = connect(cfg, password=password)
    try:
        _hand_over(client, cfg, todo, session_factory=session_factory, clock=clock, report=report)
    except (IMAPClientError, OSError) as exc:
        # A refused command (a folder it will not create, quota) or a dropped connection: this
        # hand-over stops with a coded error, the run goes on, the ledger keeps the rest for next time.
        raise SourceError(
            "imap-command-refused",
            f"the IMAP server refused the hand-over to people: {type(exc).__name__}: {str(exc)[:500]}",
            host=cfg.host,
            folder=cfg.people_folder,
        ) from exc
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return report


def _hand_over(
    client: IMAPClient,
    cfg: ImapConfig,
    todo: list[_Candidate],
    *,
    session_factory: Callable[[], Session],
    clock: Clock,
    report: PeopleReport,
) -> None:
    if not client.folder_exists(cfg.people_folder):
        client.create_folder(cfg.people_folder)
    caps = {c.upper() for c in client.capabilities()}
    for item in todo:
        client.select_folder(cfg.processed_folder)
        uids = _locate(client, item)
        if uids:
            # The team may have opened the mailbox before the run: a mail for people arrives unread.
            client.remove_flags(uids, [SEEN])
            move_uids(client, uids, cfg.people_folder, caps=caps)
        else:
            client.select_folder(cfg.people_folder)
            if not _locate(client, item):  # moved away by a person: nothing to move, recorded anyway
                report.warn(
                    "people-mail-not-found",
                    "the mail is no longer in Processed; recorded as for people all the same",
                    sha256=item.sha256,
                )
        with session_factory() as session:
            validity, uid = item.key
            session.execute(
                update(ImapLedger)
                .where(
                    col(ImapLedger.account) == account_of(cfg),
                    col(ImapLedger.folder) == cfg.folder,
                    col(ImapLedger.uidvalidity) == validity,
                    col(ImapLedger.uid) == uid,
                )
                .values(state=LedgerState.FOR_PEOPLE.value, updated_at=clock())
            )
            session.commit()
        report.handed_over += 1


def _locate(client: IMAPClient, item: _Candidate) -> list[int]:
    """UIDs in the selected folder holding exactly the stored message (its SHA-256 decides: a
    Message-ID is the sender's word, and two mails may share one)."""
    if item.message_id:
        criteria: list[Any] = ["HEADER", "Message-ID", item.message_id]
    else:
        criteria = ["LARGER", max(0, item.size - 1), "SMALLER", item.size + 1]
    found = sorted(int(u) for u in client.search(criteria))
    if not found:
        return []
    fetched = client.fetch(found, ["BODY.PEEK[]"])
    return [uid for uid in found if sha256_of(fetched.get(uid, {}).get(b"BODY[]", b"")) == item.sha256]


# ------------------------------------------------------------------------------------------ Maildir


def hand_over_maildir(
    cfg: MaildirConfig, *, session_factory: Callable[[], Session], clock: Clock, processed: str = ".Processed"
) -> PeopleReport:
    """Move the mails for people from ``.Processed`` to ``.<people_folder>/new`` (new/ and no flags:
    unread, as a mail client shows it)."""
    root = Path(cfg.path)
    target = maildir_people_folder(cfg)
    report = PeopleReport(source=f"maildir:{root}", folder=f"maildir:{target}")
    with session_factory() as session:
        todo = _maildir_candidates(session)
    if not todo:
        return report
    for d in ("tmp", "new", "cur"):
        (target / d).mkdir(parents=True, exist_ok=True)
    (target / "maildirfolder").touch()
    # The ledger's key is the unique name before ``:2,``, which a rename never changes.
    filed = {p.name.split(":", 1)[0]: p for d in ("new", "cur") for p in _listing(root / processed / d)}
    there = {p.name.split(":", 1)[0] for d in ("new", "cur") for p in _listing(target / d)}
    done: list[str] = []
    for item in todo:
        key = str(item.key[0])
        path = filed.get(key)
        if path is not None:
            try:
                os.replace(path, target / "new" / key)
            except FileNotFoundError:
                path = None
        if path is None and key not in there:
            report.warn(
                "people-mail-not-found",
                "the mail is no longer in .Processed; recorded as for people all the same",
                key=key,
            )
        done.append(key)
    with session_factory() as session:
        for start in range(0, len(done), 500):
            session.execute(
                update(FileLedger)
                .where(
                    col(FileLedger.source) == MAILDIR_SOURCE,
                    col(FileLedger.key).in_(done[start : start + 500]),
                )
                .values(state=LedgerState.FOR_PEOPLE.value, updated_at=clock())
            )
        session.commit()
    report.handed_over += len(done)
    return report


def _listing(folder: Path) -> Iterable[Path]:
    try:
        return [p for p in folder.iterdir() if not p.name.startswith(".")]
    except FileNotFoundError:
        return []


# ------------------------------------------------------------------------------------------ listing


def mails_for_people(
    session: Session, *, imap: ImapConfig | None = None, maildir: MaildirConfig | None = None, limit: int = 500
) -> list[MailForPeople]:
    """The mails handed over to people, newest first: sender, subject, date, reason, where they are."""
    imap_where = f"imap:{account_of(imap)}/{imap.people_folder}" if imap else "imap"
    maildir_where = f"maildir:{maildir_people_folder(maildir)}" if maildir else "maildir"
    shas: dict[str, str] = {}
    for sha in session.exec(select(ImapLedger.sha256).where(col(ImapLedger.state) == LedgerState.FOR_PEOPLE.value)):
        if sha:
            shas.setdefault(str(sha), imap_where)
    for sha in session.exec(
        select(FileLedger.sha256).where(
            col(FileLedger.source) == MAILDIR_SOURCE, col(FileLedger.state) == LedgerState.FOR_PEOPLE.value
        )
    ):
        if sha:
            shas.setdefault(str(sha), maildir_where)
    found: list[MailForPeople] = []
    keys = sorted(shas)
    for start in range(0, len(keys), 500):
        for a in session.exec(
            select(Arrival).where(
                col(Arrival.sha256).in_(keys[start : start + 500]), col(Arrival.parent_sha256).is_(None)
            )
        ):
            reason = a.outcome if a.outcome != MimeOutcome.FORMS.value else PeopleReason.FORMS_REFUSED.value
            found.append(MailForPeople(a.sha256, a.source, a.sender, a.subject, a.received_at, reason, shas[a.sha256]))
    found.sort(key=lambda m: (m.received_at, m.source), reverse=True)
    return found[:limit]
