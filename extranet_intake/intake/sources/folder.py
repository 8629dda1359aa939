"""The drain both folder sources share (Maildir, drop folder): list, read, store, commit, then move.

Order of work, per batch (the same as IMAP's, docs/architecture.md): the files are read (never
through a link or a pipe, see ``files.read_listed``), their bytes stored, their document, arrival
and ledger rows committed together, and only then each file is moved out of the folder — to where
the source files what it took in, or what it gave up on. A crash before the commit leaves nothing
recorded and the file in place; after it, the ledger says ``stored`` and the next run only moves
the file. What differs between the two sources (the listing, the ledger key, the names, where a
file goes, whether an unreadable file is ever given up on) is a ``Folder``'s.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from extranet_intake.intake.sources.files import Refused, read_listed
from extranet_intake.intake.sources.ingest import (
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
from extranet_intake.intake.sources.peek import Peek
from extranet_intake.intake.store import DocumentStore
from extranet_intake.intake.store_tables import LedgerState
from extranet_intake.parsers.result import Channel

__all__ = ["Folder", "Listed", "drain_folder"]


@dataclass(frozen=True)
class Listed:
    """A file of the folder as listed: its path and its ``lstat`` (a link is seen as a link)."""

    path: Path
    stat: os.stat_result


@dataclass
class Folder(ABC):
    """One folder source: what the shared drain needs to know about it."""

    #: the file ledger's ``source`` column, and the start of its arrivals' names
    name: str
    #: the poll report's ``source``: the source and its folder
    label: str
    channel: Channel
    batch_size: int
    max_bytes: int
    #: code of a file over ``max_bytes``
    too_large: str
    #: after this many failed attempts an item is given up on; None: an unreadable file is retried
    #: every run (a scan the service may not read yet is the operator's to fix, never dropped)
    max_attempts: int | None
    #: what the report calls a file it cannot read ("file", "message file")
    what: str
    #: said of a refused file in the report: where it went
    refused_to: str
    #: the report names a file by its name (True) or by its ledger key
    by_file_name: bool = False
    #: set while draining: the files listed, by ledger key
    files: dict[str, Listed] = field(default_factory=dict)

    @abstractmethod
    def listing(self, report: PollReport, *, read_only: bool) -> dict[str, Listed]:
        """The files to consider, by ledger key; creates the source's folders unless ``read_only``."""

    @abstractmethod
    def incoming(self, key: str, listed: Listed, data: bytes) -> Incoming:
        """The original a file hands over."""

    @abstractmethod
    def source_of(self, key: str, listed: Listed) -> str:
        """The file's name as its arrival would give it (the same as ``incoming``'s)."""

    @abstractmethod
    def file_away(self, key: str, listed: Listed, *, failed: bool, sha256: str) -> None:
        """Move a committed file out of the folder (to Failed / archive/failed when ``failed``)."""

    def refused_error(self, exc: Refused) -> str:
        """The ledger's ``last_error`` of a refused file (after its code)."""
        return exc.message


def drain_folder(
    folder: Folder,
    *,
    store: DocumentStore,
    session_factory: Callable[[], Session],
    clock: Clock,
    on_progress: ProgressHook | None = None,
    peek: Peek | None = None,
) -> PollReport:
    """Drain ``folder`` into the store; per-file failures are in the report. With ``peek`` (read-only)
    the files are listed and read the same way and handed to the peek; nothing is written or moved."""
    return _Drain(
        folder,
        store=store,
        session_factory=session_factory,
        clock=clock,
        hook=on_progress or (lambda step, keys: None),
        peek=peek,
    ).run()


class _Drain:
    def __init__(
        self,
        folder: Folder,
        *,
        store: DocumentStore,
        session_factory: Callable[[], Session],
        clock: Clock,
        hook: ProgressHook,
        peek: Peek | None,
    ) -> None:
        self.folder = folder
        self.store = store
        self.session_factory = session_factory
        self.clock = clock
        self.hook = hook
        self.peek = peek
        self.report = PollReport(source=folder.label)

    def run(self) -> PollReport:
        folder, report = self.folder, self.report
        files = folder.files = folder.listing(report, read_only=self.peek is not None)
        with self.session_factory() as session:
            ledger = load_file_ledger(session, folder.name, files)
        # What an earlier run committed but did not get to move.
        self.move(
            [k for k, r in ledger.items() if r.state in (LedgerState.STORED, LedgerState.DUPLICATE, LedgerState.MOVED)],
            LedgerState.MOVED,
            {k: r.sha256 or "" for k, r in ledger.items()},
        )
        self.move(
            [k for k, r in ledger.items() if r.state in (LedgerState.FAILING, LedgerState.FAILED)],
            LedgerState.FAILED,
            {},
        )
        todo = [k for k in files if k not in ledger or ledger[k].state == LedgerState.RETRY]
        attempts = {k: ledger[k].attempts for k in todo if k in ledger}
        report.seen = len(todo)
        for start in range(0, len(todo), folder.batch_size):
            self.batch(todo[start : start + folder.batch_size], attempts)
        return report

    def move(self, keys: list[str], state: LedgerState, shas: dict[str, str]) -> None:
        if self.peek is not None:
            return
        moved = []
        for k in keys:
            try:
                self.folder.file_away(
                    k, self.folder.files[k], failed=state is not LedgerState.MOVED, sha256=shas.get(k) or "unknown"
                )
                moved.append(k)
            except FileNotFoundError:
                continue  # moved by someone else meanwhile
        with self.session_factory() as session:
            mark_file_ledger(session, self.folder.name, moved, state, self.clock())
            session.commit()
        if state is LedgerState.MOVED:
            self.report.moved += len(moved)

    def error(self, code: str, message: str, key: str, listed: Listed, *, attempt: int | None = None) -> None:
        if self.folder.by_file_name:
            self.report.error(code, message, file=listed.path.name, attempt=attempt)
        else:
            self.report.error(code, message, key=key, attempt=attempt)

    def _state(self, tries: int) -> LedgerState:
        limit = self.folder.max_attempts
        return LedgerState.FAILING if limit is not None and tries >= limit else LedgerState.RETRY

    def batch(self, batch: list[str], attempts: dict[str, int]) -> None:
        folder, report, peek = self.folder, self.report, self.peek
        items: list[Incoming] = []
        rows = []
        failing: list[str] = []
        now = self.clock()
        for k in batch:
            listed = folder.files[k]
            try:
                data = read_listed(listed.path, listed.stat, max_bytes=folder.max_bytes, too_large=folder.too_large)
            except Refused as exc:  # a link, a pipe, too large: never read
                if peek is not None:
                    peek.refuse(folder.source_of(k, listed), exc.code)
                    continue
                rows.append(
                    ledger_row(
                        k,
                        state=LedgerState.FAILING,
                        attempts=attempts.get(k, 0) + 1,
                        now=now,
                        last_error=f"{exc.code}: {folder.refused_error(exc)}",
                    )
                )
                self.error(exc.code, f"{exc.message}, {folder.refused_to}", k, listed)
                failing.append(k)
                continue
            except FileNotFoundError:
                continue
            except OSError as exc:  # not readable by the service (permissions): an attempt, like a failed store
                if peek is not None:
                    peek.refuse(folder.source_of(k, listed), "file-unreadable")
                    continue
                tries = attempts.get(k, 0) + 1
                state = self._state(tries)
                why = exc.strerror or type(exc).__name__
                rows.append(ledger_row(k, state=state, attempts=tries, now=now, last_error=f"file-unreadable: {why}"))
                self.error("file-unreadable", f"cannot read the {folder.what}: {why}", k, listed, attempt=tries)
                if state is LedgerState.FAILING:
                    failing.append(k)
                else:
                    report.retrying += 1
                continue
            if data is None:
                report.skipped += 1  # written to, or replaced, while we read it: not finished after all
                continue
            items.append(folder.incoming(k, listed, data))
        if peek is not None:
            for item in items:
                peek.take(item)
            return
        self.hook(PollStep.FETCHED, batch)
        done: list[str] = []
        shas: dict[str, str] = {}
        with self.session_factory() as session:
            results = ingest_batch(session, self.store, items, channel=folder.channel, clock=self.clock)
            self.hook(PollStep.STORED, batch)
            for result in results:
                tries = attempts.get(result.key, 0) + 1
                if result.ok:
                    count(report, result)
                    state = LedgerState.DUPLICATE if result.outcome == "duplicate" else LedgerState.STORED
                    rows.append(ledger_row(result.key, state=state, attempts=tries, now=now, sha256=result.sha256))
                    done.append(result.key)
                    shas[result.key] = result.sha256 or ""
                    continue
                state = self._state(tries)
                rows.append(
                    ledger_row(
                        result.key,
                        state=state,
                        attempts=tries,
                        now=now,
                        sha256=result.sha256,
                        last_error=f"{result.error_code}: {result.error}",
                    )
                )
                report.error(result.error_code, result.error, key=result.key, attempt=tries)
                if state is LedgerState.FAILING:
                    failing.append(result.key)
                else:
                    report.retrying += 1
            write_file_ledger(session, folder.name, rows, existing=attempts)
            session.commit()
        self.hook(PollStep.COMMITTED, batch)
        self.move(done, LedgerState.MOVED, shas)
        self.move(failing, LedgerState.FAILED, {})
        report.failed += len(failing)
        self.hook(PollStep.MOVED, batch)
