"""The drop folder (channel ``post``): scanned paper forms, taken only once the scanner has finished writing.

A file is taken when it is *stable*: its modification time is at least ``stable_seconds`` old and
its size and mtime did not change while it was read. Hidden and temporary files (``.~lock.*``,
``~$…``, ``Thumbs.db``, ``*.tmp``, ``*.part`` …) are never touched. After the commit the file
moves to ``archive/<yyyy-mm-dd>/``. The ledger key is name + size + mtime, which survives the
crash-then-rename window and still lets the scanner reuse a name (``scan001.pdf``) another day.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from errors import SourceError
from intake.config import DropConfig
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

__all__ = ["is_ignored", "poll_drop"]

SOURCE = "drop"
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "ehthumbs.db", ".ds_store"})
_TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
_BATCH = 100


def is_ignored(name: str) -> bool:
    """Hidden, lock and temporary files: never a finished scan."""
    low = name.lower()
    return (low.startswith((".", "~$")) or low in _IGNORED_NAMES or low.endswith(_TEMP_SUFFIXES))


def _archive_path(archive: Path, name: str, sha: str, day: str) -> Path:
    target = archive / day / name
    if target.exists():
        stem, dot, ext = name.rpartition(".")
        target = archive / day / (f"{stem}-{sha[:12]}{dot}{ext}" if dot else f"{name}-{sha[:12]}")
    return target


def poll_drop(cfg: DropConfig, *, store: DocumentStore, session_factory: Callable[[], Session],
              clock: Clock, on_progress: ProgressHook | None = None) -> PollReport:
    """Take the stable files of ``cfg.path`` into the store (channel ``post``), then archive them."""
    root, archive = Path(cfg.path), Path(cfg.archive)
    report = PollReport(source=f"drop:{root}")
    hook = on_progress or (lambda step, keys: None)
    now = clock()
    try:
        root.mkdir(parents=True, exist_ok=True)
        archive.mkdir(parents=True, exist_ok=True)
        entries = sorted(p for p in root.iterdir() if not is_ignored(p.name))
    except OSError as exc:
        raise SourceError("drop-unreadable", str(exc), path=root) from exc
    candidates: dict[str, tuple[Path, os.stat_result]] = {}
    for p in entries:
        try:
            st = p.lstat()  # a link is seen as a link, never followed: it is refused below
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode):
            continue  # a folder is not a scan
        if now.timestamp() - st.st_mtime < cfg.stable_seconds:
            report.skipped += 1  # still being written (or just finished): next run
            continue
        candidates[f"{p.name}|{st.st_size}|{st.st_mtime_ns}"] = (p, st)
    with session_factory() as session:
        ledger = load_file_ledger(session, SOURCE, candidates)
    day = now.date().isoformat()

    def move(keys: list[str], state: LedgerState, shas: dict[str, str]) -> None:
        moved = []
        for k in keys:
            path = candidates[k][0]
            folder = archive if state is LedgerState.MOVED else archive / "failed"
            target = _archive_path(folder, path.name, shas.get(k) or "unknown", day)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(path, target)
                moved.append(k)
            except FileNotFoundError:
                continue
        with session_factory() as session:
            mark_file_ledger(session, SOURCE, moved, state, clock())
            session.commit()
        if state is LedgerState.MOVED:
            report.moved += len(moved)

    move([k for k, r in ledger.items() if r.state in (LedgerState.STORED, LedgerState.MOVED)],
         LedgerState.MOVED, {k: r.sha256 or "" for k, r in ledger.items()})
    move([k for k, r in ledger.items() if r.state in (LedgerState.FAILING, LedgerState.FAILED)],
         LedgerState.FAILED, {})
    todo = [k for k in candidates if k not in ledger or ledger[k].state == LedgerState.RETRY]
    attempts = {k: ledger[k].attempts for k in todo if k in ledger}
    report.seen = len(todo)
    for start in range(0, len(todo), _BATCH):
        batch = todo[start:start + _BATCH]
        items: list[Incoming] = []
        rows = []
        failing: list[str] = []
        for k in batch:
            path, st = candidates[k]
            try:
                data = read_listed(path, st, max_bytes=cfg.max_bytes)
            except Refused as exc:  # a link, a pipe, too large: never read
                why = f"{exc.message}, moved to archive/failed"
                rows.append(ledger_row(k, state=LedgerState.FAILING, attempts=attempts.get(k, 0) + 1, now=now,
                                       last_error=f"{exc.code}: {why}"))
                report.error(exc.code, why, file=path.name)
                failing.append(k)
                continue
            except FileNotFoundError:
                continue
            except OSError as exc:  # not readable by the service (permissions): left, tried again next run
                tries = attempts.get(k, 0) + 1
                why = exc.strerror or type(exc).__name__
                rows.append(ledger_row(k, state=LedgerState.RETRY, attempts=tries, now=now,
                                       last_error=f"file-unreadable: {why}"))
                report.error("file-unreadable", f"cannot read the file: {why}", file=path.name, attempt=tries)
                report.retrying += 1
                continue
            if data is None:
                report.skipped += 1  # written to, or replaced, while we read it: not finished after all
                continue
            items.append(Incoming(key=k, data=data, source=f"drop:{path.name};mtime={st.st_mtime_ns}",
                                  received_at=datetime.fromtimestamp(st.st_mtime, UTC), is_message=False,
                                  filename=path.name))
        hook(PollStep.FETCHED, batch)
        done: list[str] = []
        shas: dict[str, str] = {}
        with session_factory() as session:
            results = ingest_batch(session, store, items, channel=Channel.POST, clock=clock)
            hook(PollStep.STORED, batch)
            for result in results:
                tries = attempts.get(result.key, 0) + 1
                if result.ok:
                    count(report, result)
                    rows.append(ledger_row(result.key, state=LedgerState.STORED, attempts=tries, now=now,
                                           sha256=result.sha256))
                    done.append(result.key)
                    shas[result.key] = result.sha256 or ""
                    continue
                rows.append(ledger_row(result.key, state=LedgerState.RETRY, attempts=tries, now=now,
                                       sha256=result.sha256, last_error=f"{result.error_code}: {result.error}"))
                report.error(result.error_code, result.error, key=result.key, attempt=tries)
                report.retrying += 1
            write_file_ledger(session, SOURCE, rows, existing=attempts)
            session.commit()
        hook(PollStep.COMMITTED, batch)
        move(done, LedgerState.MOVED, shas)
        move(failing, LedgerState.FAILED, {})
        report.failed += len(failing)
        hook(PollStep.MOVED, batch)
    return report
