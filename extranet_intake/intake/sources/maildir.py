"""The Maildir source (embedded default): read new mail, store it, then file it under ``.Processed``.

Same order as IMAP: bytes stored, rows and ledger committed, and only then the file is renamed
into the Maildir++ sub-folder ``.Processed`` (or ``.Failed`` after ``max_attempts``). The ledger
is keyed by the Maildir unique name (the part before ``:2,``), which a rename never changes, so a
crash between commit and rename only leaves a rename to redo. The drain itself is the folder
sources' (``folder.drain_folder``).
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
from extranet_intake.intake.config import MaildirConfig
from extranet_intake.intake.sources.folder import Folder, Listed, drain_folder
from extranet_intake.intake.sources.ingest import Clock, Incoming, PollReport, ProgressHook
from extranet_intake.intake.sources.peek import Peek
from extranet_intake.intake.store import DocumentStore
from extranet_intake.parsers.result import Channel

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


@dataclass
class _Maildir(Folder):
    root: Path = Path()

    def listing(self, report: PollReport, *, read_only: bool) -> dict[str, Listed]:
        root = self.root
        try:
            if not read_only:
                _ensure(root, sub=False)
                _ensure(root / PROCESSED, sub=True)
                _ensure(root / FAILED, sub=True)
            files: dict[str, Listed] = {}
            for d in ("new", "cur"):
                if read_only and not (root / d).is_dir():
                    continue
                for p in sorted((root / d).iterdir()):
                    if p.name.startswith("."):
                        continue
                    try:
                        st = p.lstat()  # a link is seen as a link, never followed: it is refused
                    except FileNotFoundError:
                        continue
                    if not stat.S_ISDIR(st.st_mode):
                        files[_key(p.name)] = Listed(p, st)
        except OSError as exc:
            raise SourceError("maildir-unreadable", str(exc), path=root) from exc
        return files

    def source_of(self, key: str, listed: Listed) -> str:
        return f"{SOURCE}:{key}"

    def incoming(self, key: str, listed: Listed, data: bytes) -> Incoming:
        return Incoming(
            key=key,
            data=data,
            source=self.source_of(key, listed),
            received_at=datetime.fromtimestamp(listed.stat.st_mtime, UTC),
        )

    def file_away(self, key: str, listed: Listed, *, failed: bool, sha256: str) -> None:
        _file_to(listed.path, self.root / (FAILED if failed else PROCESSED))


def poll_maildir(
    cfg: MaildirConfig,
    *,
    store: DocumentStore,
    session_factory: Callable[[], Session],
    clock: Clock,
    on_progress: ProgressHook | None = None,
    peek: Peek | None = None,
) -> PollReport:
    """Drain ``cfg.path`` (new/ and cur/) into the store; per-message failures are in the report.
    With ``peek``: read only (``run --dry-run``), see ``intake.sources.peek``."""
    root = Path(cfg.path)
    folder = _Maildir(
        name=SOURCE,
        label=f"maildir:{root}",
        channel=Channel.EMAIL,
        batch_size=_BATCH,
        max_bytes=cfg.max_message_bytes,
        too_large="message-too-large",
        max_attempts=cfg.max_attempts,
        what="message file",
        refused_to="filed under .Failed",
        root=root,
    )
    return drain_folder(
        folder, store=store, session_factory=session_factory, clock=clock, on_progress=on_progress, peek=peek
    )
