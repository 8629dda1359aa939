"""The content-addressed document store: every original's bytes on disk, named by their SHA-256.

Every original is kept byte for byte at ``<root>/<sha[:2]>/<sha>``, written to a temporary file,
fsynced, renamed into place, and its folder fsynced — so a file under its final name is always
complete, and a crash leaves at most a stray temporary file. The bytes are written *before* the
database rows that point to them are committed (``intake.store_tables``); the rows are what count, so
an orphan file after a crash is harmless and is simply found again (same name, same bytes) on the
retry.

Whole messages drained from a mailbox arrive by the thousand, and creating a file costs more than
fetching a message (0.05 ms on a quiet disk, near 1 ms while it writes back). A poller therefore
appends a batch's messages to a *pack* (``<root>/packs/*.pack``: records of SHA-256, length and
bytes, one ``fdatasync`` per batch) and ``unpack`` files them under their names later — stage 2
does it first thing, and ``open`` does it for a name not filed yet. A pack is deleted only once
every record it holds is durable under its own name; a torn record at its end (a crash while
writing, before the batch's rows were committed) fails its hash check and is dropped. A pack is
locked (``flock``) while its writer has it open, so an ``unpack`` elsewhere leaves it alone.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from extranet_intake.errors import StoreError

__all__ = ["DocumentStore", "sha256_of"]


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


#: Linux ``syncfs(2)``: flush one file system (the store's) in one call
_syncfs: Callable[[int], int] | None = _load_syncfs()


def _store_error(exc: BaseException, sha: str) -> StoreError:
    return exc if isinstance(exc, StoreError) else StoreError("store-write-failed", str(exc), sha256=sha)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class DocumentStore:
    """Originals on disk, named by their SHA-256."""

    def __init__(self, root: Path, *, fsync: bool = True, threads: int = 8) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.threads = threads
        #: this store's open pack (descriptor, locked), created by the first ``put_packed``
        self._pack: int | None = None

    def path(self, sha256: str) -> Path:
        if not _is_sha256(sha256):
            raise StoreError("bad-sha256", "not a lower-case hex SHA-256", sha256=sha256[:80])
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> bytes:
        """The original bytes, checked against their name (a changed file is an error, not a document)."""
        path = self.path(sha256)
        try:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                # A message a poller packed and stage 2 has not filed yet: file it now or, while a
                # poller in another process still appends to that pack, read it from there.
                self.unpack()
                found = path.read_bytes() if path.is_file() else self._read_packed(sha256)
                if found is None:
                    found = path.read_bytes()  # filed by another process meanwhile, or missing
                data = found
        except FileNotFoundError as exc:
            raise StoreError("document-missing", "no such document in the store", sha256=sha256) from exc
        except OSError as exc:
            raise StoreError("document-unreadable", str(exc), sha256=sha256) from exc
        if sha256_of(data) != sha256:
            raise StoreError("document-corrupt", "stored bytes no longer match their SHA-256", sha256=sha256)
        return data

    def put(self, data: bytes) -> str:
        sha = sha256_of(data)
        failures = self.put_many({sha: data})
        if failures:
            raise failures[sha]
        return sha

    def put_many(self, blobs: dict[str, bytes]) -> dict[str, StoreError]:
        """Write every blob durably (keyed by its SHA-256); returns the ones that failed, with why.

        Durability is paid per batch, not per file: every blob is written to a temporary file, then
        one ``syncfs`` makes all their bytes durable, then the renames, then one more ``syncfs`` makes
        the names durable. A final name therefore always holds complete bytes (it is renamed only
        after its data is on disk), and the whole batch costs two journal commits instead of one
        ``fsync`` per file (~3 ms each on these disks). Without ``syncfs`` (not Linux) each file and
        folder is fsynced on a small thread pool instead, as before.
        """
        if not blobs:
            return {}
        failures: dict[str, StoreError] = {}
        staged: list[tuple[str, Path, Path]] = []
        dirs: set[Path] = set()
        per_file = self.fsync and _syncfs is None

        def stage(item: tuple[str, bytes]) -> None:
            sha, data = item
            try:
                final = self.path(sha)
                if final.exists():
                    return  # same name, same bytes: an earlier (maybe crashed) run already wrote it
                folder = final.parent
                if not folder.is_dir():
                    folder.mkdir(parents=True, exist_ok=True)
                    dirs.add(folder.parent)
                dirs.add(folder)
                staged.append((sha, self._write_tmp(folder, sha, data, fsync=per_file), final))
            except (OSError, StoreError) as exc:
                failures[sha] = _store_error(exc, sha)

        if len(blobs) == 1 or self.threads <= 1:
            for item in blobs.items():
                stage(item)
        else:
            # Creating a file waits on the file system's journal (0.2-0.9 ms each on these disks);
            # a few at a time overlap those waits (list/set appends are atomic under the GIL).
            with ThreadPoolExecutor(min(self.threads, len(blobs))) as pool:
                list(pool.map(stage, blobs.items()))
        if not staged:
            return failures
        try:
            if self.fsync and not per_file:
                self._syncfs()  # the bytes of every temporary file, in one go
        except OSError as exc:
            for sha, tmp, _ in staged:
                tmp.unlink(missing_ok=True)
                failures[sha] = _store_error(exc, sha)
            return failures
        renamed: list[str] = []
        for sha, tmp, final in staged:
            try:
                os.replace(tmp, final)
                renamed.append(sha)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                failures[sha] = _store_error(exc, sha)
        if not self.fsync:
            return failures
        try:
            if per_file:
                # The rename is durable only once the directory entry is: fsync each touched folder once.
                with ThreadPoolExecutor(max(1, min(self.threads, len(dirs)))) as pool:
                    list(pool.map(self._fsync_dir, sorted(dirs)))
            else:
                self._syncfs()
        except OSError as exc:
            for sha in renamed:
                failures[sha] = _store_error(exc, sha)
        return failures

    def put_packed(self, blobs: dict[str, bytes]) -> dict[str, StoreError]:
        """Append every blob to this store's pack and make them durable together (one ``fdatasync``);
        returns the ones that failed, with why. A record whose write fails is cut off again, so the
        pack stays a clean sequence of records; if even that fails, the pack is closed there."""
        if not blobs:
            return {}
        failures: dict[str, StoreError] = {}
        written: list[str] = []  # in the open pack, not yet made durable
        todo = self._append_together(blobs)
        if not todo:
            written = list(blobs)
        for sha, data in todo.items():
            try:
                fd = self._open_pack()
            except OSError as exc:
                failures[sha] = _store_error(exc, sha)
                continue
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                self._append(fd, sha, data)
                written.append(sha)
            except OSError as exc:
                failures[sha] = _store_error(exc, sha)
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    # A torn record ends this pack; the next record starts a new one. What this call
                    # wrote before it is never synced: it fails too, and is fetched again.
                    failures.update({done: _store_error(exc, done) for done in written})
                    written = []
                    self._close_pack()
        if self.fsync and written and self._pack is not None:
            try:
                os.fdatasync(self._pack)
            except OSError as exc:
                # After a failed fdatasync nothing written since the last one can be trusted.
                failures.update({sha: _store_error(exc, sha) for sha in written})
                self._close_pack()
        if self._pack is not None and os.fstat(self._pack).st_size >= _PACK_BYTES:
            self._close_pack()
        return failures

    def _append_together(self, blobs: dict[str, bytes]) -> dict[str, bytes]:
        """Append every record in as few ``writev`` calls as the system allows; returns the blobs still to
        write one by one (all of them when the pack cannot be had or the write fails: nothing of it is
        left in the pack, or the pack is closed there, and ``put_packed`` finds out record by record)."""
        try:
            fd = self._open_pack()
        except OSError:
            return blobs
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            self._write_records(fd, blobs)
        except OSError:
            try:
                if os.fstat(fd).st_size != start:
                    os.ftruncate(fd, start)
            except OSError:
                self._close_pack()  # a torn batch ends this pack; nothing in it was claimed stored
            return blobs
        return {}

    @staticmethod
    def _write_records(fd: int, blobs: dict[str, bytes]) -> None:
        parts: list[bytes] = []
        for sha, data in blobs.items():
            parts += (b"%s %s %d\n" % (_PACK_MAGIC, sha.encode(), len(data)), data)
        while parts:
            chunk = parts[:_IOV_MAX]
            done = os.writev(fd, chunk)
            for i, part in enumerate(chunk):
                if done < len(part):
                    # a short write: the rest of this part, then the parts after it
                    parts = [part[done:], *parts[i + 1 :]]
                    break
                done -= len(part)
            else:
                parts = parts[len(chunk) :]

    def packs(self) -> list[Path]:
        folder = self.root / "packs"
        return sorted(folder.glob("*.pack")) if folder.is_dir() else []

    def unpack(self) -> int:
        """File every packed record under its own name, durably, then delete the packs; returns how
        many records were filed. Packs another writer holds open are left for later."""
        self._close_pack()
        filed = 0
        for pack in self.packs():
            try:
                fd = os.open(pack, os.O_RDONLY)
            except FileNotFoundError:
                continue  # unpacked by someone else meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its writer is still appending
                if not _still_named(fd, pack):
                    continue  # filed and removed by another process between our open and our lock
                with os.fdopen(os.dup(fd), "rb") as reader:
                    for blobs in _record_chunks(reader):
                        failures = self.put_many(blobs)
                        if failures:
                            first = next(iter(failures.values()))
                            raise StoreError(
                                "unpack-failed",
                                f"{len(failures)} packed documents could not be filed: {first.message}",
                                pack=pack.name,
                            )
                        filed += len(blobs)
                os.unlink(pack)  # still ours: the lock is held and the name checked under it
            finally:
                os.close(fd)
        return filed

    def _read_packed(self, sha256: str) -> bytes | None:
        """The record named ``sha256`` in a pack (unchecked: ``open`` checks it), or None."""
        key = sha256.encode()
        for pack in self.packs():
            try:
                with pack.open("rb") as reader:
                    while (head := _PACK_HEADER.fullmatch(reader.readline(200))) is not None:
                        length = int(head.group(2))
                        if head.group(1) == key:
                            data = reader.read(length)
                            if len(data) == length:
                                return data
                            break  # torn, or still being written
                        reader.seek(length, os.SEEK_CUR)
            except FileNotFoundError:
                continue  # filed and removed meanwhile
        return None

    def _open_pack(self) -> int:
        if self._pack is not None:
            return self._pack
        folder = self.root / "packs"
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}-{secrets.token_hex(4)}.pack"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not _still_named(fd, path):
                    # Another process's unpack took the new, empty pack before our lock and removed
                    # it: records appended now would go to a file without a name. Start another.
                    os.close(fd)
                    continue
                if self.fsync:
                    self._fsync_dir(folder)  # the pack's name is durable before any record counts on it
            except BaseException:
                os.close(fd)
                raise
            self._pack = fd
            return fd

    def _close_pack(self) -> None:
        if self._pack is not None:
            fd, self._pack = self._pack, None
            os.close(fd)

    @staticmethod
    def _append(fd: int, sha256: str, data: bytes) -> None:
        view = memoryview(b"%s %s %d\n" % (_PACK_MAGIC, sha256.encode(), len(data)) + data)
        while view:
            view = view[os.write(fd, view) :]

    def _write_tmp(self, folder: Path, sha256: str, data: bytes, *, fsync: bool) -> Path:
        tmp = folder / f".{sha256}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return tmp

    def _syncfs(self) -> None:
        assert _syncfs is not None
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        finally:
            os.close(fd)

    @staticmethod
    def _fsync_dir(folder: Path) -> None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_PACK_MAGIC = b"EIPACK1"
#: buffers per ``writev`` call (the system's limit is at least this: POSIX ``IOV_MAX`` ≥ 16, Linux 1024)
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024)
#: a pack is closed (and the next one started) once it holds this much
_PACK_BYTES = 256 * 1024 * 1024
_PACK_HEADER = re.compile(rb"EIPACK1 ([0-9a-f]{64}) (\d{1,12})\n")


def _still_named(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (checked under the file's lock)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)


def _record_chunks(reader: BinaryIO) -> Iterable[dict[str, bytes]]:
    """The intact records of a pack, some 64 MiB at a time; reading stops at the first torn one."""
    chunk: dict[str, bytes] = {}
    size = 0
    while (head := _PACK_HEADER.fullmatch(reader.readline(200))) is not None:
        length = int(head.group(2))
        data = reader.read(length)
        sha = head.group(1).decode()
        if len(data) != length or sha256_of(data) != sha:
            break
        chunk[sha] = data
        size += length
        if size >= _PACK_BYTES // 4:
            yield chunk
            chunk, size = {}, 0
    if chunk:
        yield chunk
