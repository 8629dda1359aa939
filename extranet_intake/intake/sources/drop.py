"""The drop folder (channel ``post``): scanned paper forms, taken only once the scanner has finished writing.

A file is taken when it is *stable*: its modification time is at least ``stable_seconds`` old and
its size and mtime did not change while it was read. Hidden and temporary files (``.~lock.*``,
``~$…``, ``Thumbs.db``, ``*.tmp``, ``*.part`` …) are never touched. After the commit the file
moves to ``archive/<yyyy-mm-dd>/``. The ledger key is name + size + mtime, which survives the
crash-then-rename window and still lets the scanner reuse a name (``scan001.pdf``) another day.
The drain itself is the folder sources' (``folder.drain_folder``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from extranet_intake.errors import SourceError
from extranet_intake.intake.config import DropConfig
from extranet_intake.intake.sources.files import Refused
from extranet_intake.intake.sources.folder import Folder, Listed, drain_folder
from extranet_intake.intake.sources.ingest import Clock, Incoming, PollReport, ProgressHook
from extranet_intake.intake.sources.peek import Peek
from extranet_intake.intake.store import DocumentStore
from extranet_intake.parsers.result import Channel

__all__ = ["is_ignored", "poll_drop"]

SOURCE = "drop"
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "ehthumbs.db", ".ds_store"})
_TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
_BATCH = 100


def is_ignored(name: str) -> bool:
    """Hidden, lock and temporary files: never a finished scan."""
    low = name.lower()
    return low.startswith((".", "~$")) or low in _IGNORED_NAMES or low.endswith(_TEMP_SUFFIXES)


def _archive_path(archive: Path, name: str, sha: str, day: str) -> Path:
    target = archive / day / name
    if target.exists():
        stem, dot, ext = name.rpartition(".")
        target = archive / day / (f"{stem}-{sha[:12]}{dot}{ext}" if dot else f"{name}-{sha[:12]}")
    return target


@dataclass
class _Drop(Folder):
    root: Path = Path()
    archive: Path = Path()
    stable_seconds: float = 0.0
    clock: Clock | None = None
    #: the archive's day folder, of the moment the folder was listed
    day: str = ""

    def listing(self, report: PollReport, *, read_only: bool) -> dict[str, Listed]:
        root = self.root
        assert self.clock is not None
        now = self.clock()
        self.day = now.date().isoformat()
        try:
            if read_only and not root.is_dir():
                return {}
            if not read_only:
                root.mkdir(parents=True, exist_ok=True)
                self.archive.mkdir(parents=True, exist_ok=True)
            entries = sorted(p for p in root.iterdir() if not is_ignored(p.name))
        except OSError as exc:
            raise SourceError("drop-unreadable", str(exc), path=root) from exc
        files: dict[str, Listed] = {}
        for p in entries:
            try:
                st = p.lstat()  # a link is seen as a link, never followed: it is refused
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                continue  # a folder is not a scan
            if now.timestamp() - st.st_mtime < self.stable_seconds:
                report.skipped += 1  # still being written (or just finished): next run
                continue
            files[f"{p.name}|{st.st_size}|{st.st_mtime_ns}"] = Listed(p, st)
        return files

    def source_of(self, key: str, listed: Listed) -> str:
        return f"{SOURCE}:{listed.path.name};mtime={listed.stat.st_mtime_ns}"

    def incoming(self, key: str, listed: Listed, data: bytes) -> Incoming:
        return Incoming(
            key=key,
            data=data,
            source=self.source_of(key, listed),
            received_at=datetime.fromtimestamp(listed.stat.st_mtime, UTC),
            is_message=False,
            filename=listed.path.name,
        )

    def refused_error(self, exc: Refused) -> str:
        return f"{exc.message}, {self.refused_to}"

    def file_away(self, key: str, listed: Listed, *, failed: bool, sha256: str) -> None:
        folder = self.archive / "failed" if failed else self.archive
        target = _archive_path(folder, listed.path.name, sha256, self.day)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(listed.path, target)


def poll_drop(
    cfg: DropConfig,
    *,
    store: DocumentStore,
    session_factory: Callable[[], Session],
    clock: Clock,
    on_progress: ProgressHook | None = None,
    peek: Peek | None = None,
) -> PollReport:
    """Take the stable files of ``cfg.path`` into the store (channel ``post``), then archive them.
    With ``peek``: read only (``run --dry-run``), see ``intake.sources.peek``."""
    root = Path(cfg.path)
    folder = _Drop(
        name=SOURCE,
        label=f"drop:{root}",
        channel=Channel.POST,
        batch_size=_BATCH,
        max_bytes=cfg.max_bytes,
        too_large="file-too-large",
        max_attempts=None,
        what="file",
        refused_to="moved to archive/failed",
        by_file_name=True,
        root=root,
        archive=Path(cfg.archive),
        stable_seconds=cfg.stable_seconds,
        clock=clock,
    )
    return drain_folder(
        folder, store=store, session_factory=session_factory, clock=clock, on_progress=on_progress, peek=peek
    )
