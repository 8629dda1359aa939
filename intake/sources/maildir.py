"""The Maildir source (embedded default): read new mail, store it, then file it under ``.Processed``.

Same order as IMAP: bytes stored, rows and ledger committed, and only then the file is renamed
into the Maildir++ sub-folder ``.Processed`` (or ``.Failed`` after ``max_attempts``). The ledger
is keyed by the Maildir unique name (the part before ``:2,``), which a rename never changes, so a
crash between commit and rename only leaves a rename to redo.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from errors import SourceError
from intake.config import MaildirConfig
from intake.sources.files import Refused, read_listed
from intake.sources.ingest import (
    Clock,
    Incoming,
    PollReport,
    PollStep,
    ProgressHook,
    count,
    ingest_batch,
    ledger_row,
    load_file_ledger,
    mark_file_ledger,
    write_file_ledger,
)
from intake.store import DocumentStore
from intake.store_tables import LedgerState
from parsers.result import Channel

__all__ = ["PROCESSED", "poll_maildir"]

SOURCE = "maildir"
PROCESSED = ".Processed"
FAILED = ".Failed"
_BATCH = 200


def _ensure(folder: Path, *, sub: bool) -> None:
    for d in ("tmp", "new", "cur"):
        (folder / d).mkdir(parents=True, exist_ok=True)
    if sub:
        (folder / "maildirfolder").touch()


def _key(name: str) -> str:
    return name.split(":", 1)[0]


def _file_to(path: Path, folder: Path) -> None:
    # Into cur/ with the Seen flag, as an IMAP server would show a read message.
    name = path.name if ":2," in path.name else f"{path.name}:2,S"
    os.replace(path, folder / "cur" / name)


def poll_maildir(cfg: MaildirConfig, *, store: DocumentStore, session_factory: Callable[[], Session],
                 clock: Clock, on_progress: ProgressHook | None = None) -> PollReport:
    """Drain ``cfg.path`` (new/ and cur/) into the store; per-message failures are in the report."""
    root = Path(cfg.path)
    report = PollReport(source=f"maildir:{root}")
    hook = on_progress or (lambda step, keys: None)
    try:
        _ensure(root, sub=False)
        _ensure(root / PROCESSED, sub=True)
        _ensure(root / FAILED, sub=True)
        files = {_key(p.name): p for d in ("new", "cur") for p in sorted((root / d).iterdir())
                 if not p.name.startswith(".") and (p.is_symlink() or not p.is_dir())}  # a link: refused below
    except OSError as exc:
        raise SourceError("maildir-unreadable", str(exc), path=root) from exc
    with session_factory() as session:
        ledger = load_file_ledger(session, SOURCE, files)

    def move(keys: list[str], folder: str, state: LedgerState) -> None:
        moved = []
        for k in keys:
            try:
                _file_to(files[k], root / folder)
                moved.append(k)
            except FileNotFoundError:
                continue  # moved by someone else meanwhile
        with session_factory() as session:
            mark_file_ledger(session, SOURCE, moved, state, clock())
            session.commit()
        if state is LedgerState.MOVED:
            report.moved += len(moved)

    # What an earlier run committed but did not get to move.
    move([k for k, r in ledger.items() if r.state in (LedgerState.STORED, LedgerState.DUPLICATE,
                                                      LedgerState.MOVED)], PROCESSED, LedgerState.MOVED)
    move([k for k, r in ledger.items() if r.state in (LedgerState.FAILING, LedgerState.FAILED)],
         FAILED, LedgerState.FAILED)
    todo = [k for k in files if k not in ledger or ledger[k].state == LedgerState.RETRY]
    attempts = {k: ledger[k].attempts for k in todo if k in ledger}
    report.seen = len(todo)
    for start in range(0, len(todo), _BATCH):
        batch = todo[start:start + _BATCH]
        items: list[Incoming] = []
        rows = []
        failing: list[str] = []
        now = clock()
        for k in batch:
            path = files[k]
            try:
                st = path.lstat()
                data = read_listed(path, st, max_bytes=cfg.max_message_bytes, too_large="message-too-large")
            except Refused as exc:  # a link, a pipe, too large: never read
                rows.append(ledger_row(k, state=LedgerState.FAILING, attempts=attempts.get(k, 0) + 1, now=now,
                                       last_error=f"{exc.code}: {exc.message}"))
                report.error(exc.code, f"{exc.message}, filed under .Failed", key=k)
                failing.append(k)
                continue
            except FileNotFoundError:
                continue
            except OSError as exc:  # not readable by the service (permissions): an attempt, like a failed store
                tries = attempts.get(k, 0) + 1
                state = LedgerState.FAILING if tries >= cfg.max_attempts else LedgerState.RETRY
                why = exc.strerror or type(exc).__name__
                rows.append(ledger_row(k, state=state, attempts=tries, now=now, last_error=f"file-unreadable: {why}"))
                report.error("file-unreadable", f"cannot read the message file: {why}", key=k, attempt=tries)
                if state is LedgerState.FAILING:
                    failing.append(k)
                else:
                    report.retrying += 1
                continue
            if data is None:
                report.skipped += 1  # changed while read (a message file never should): next run
                continue
            items.append(Incoming(key=k, data=data, source=f"maildir:{k}",
                                  received_at=datetime.fromtimestamp(st.st_mtime, UTC)))
        hook(PollStep.FETCHED, batch)
        done: list[str] = []
        with session_factory() as session:
            results = ingest_batch(session, store, items, channel=Channel.EMAIL, clock=clock)
            hook(PollStep.STORED, batch)
            for result in results:
                tries = attempts.get(result.key, 0) + 1
                if result.ok:
                    count(report, result)
                    state = LedgerState.DUPLICATE if result.outcome == "duplicate" else LedgerState.STORED
                    rows.append(ledger_row(result.key, state=state, attempts=tries, now=now, sha256=result.sha256))
                    done.append(result.key)
                    continue
                state = LedgerState.FAILING if tries >= cfg.max_attempts else LedgerState.RETRY
                rows.append(ledger_row(result.key, state=state, attempts=tries, now=now, sha256=result.sha256,
                                       last_error=f"{result.error_code}: {result.error}"))
                report.error(result.error_code, result.error, key=result.key, attempt=tries)
                if state is LedgerState.FAILING:
                    failing.append(result.key)
                else:
                    report.retrying += 1
            write_file_ledger(session, SOURCE, rows, existing=attempts)
            session.commit()
        hook(PollStep.COMMITTED, batch)
        move(done, PROCESSED, LedgerState.MOVED)
        move(failing, FAILED, LedgerState.FAILED)
        report.failed += len(failing)
        hook(PollStep.MOVED, batch)
    return report
