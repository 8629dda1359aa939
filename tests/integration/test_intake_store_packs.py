"""The store's packs (real files): filed under their names, torn ends dropped, a writer's pack left alone."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from extranet_intake.errors import StoreError
from extranet_intake.intake.store import DocumentStore, sha256_of


def test_packed_documents_are_filed_and_the_pack_removed(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "store")
    blobs = {sha256_of(b): b for b in (b"one message", b"another message", b"")}
    assert store.put_packed(blobs) == {}
    assert store.put_packed({sha256_of(b"later"): b"later"}) == {}
    assert len(store.packs()) == 1
    assert not any(store.exists(sha) for sha in blobs)
    assert store.open(sha256_of(b"one message")) == b"one message"  # open files what is still packed
    assert store.packs() == []
    assert all(store.path(sha).read_bytes() == data for sha, data in blobs.items())
    assert store.unpack() == 0


def test_a_torn_record_at_the_end_is_dropped_not_filed(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "store")
    good = b"committed before the crash"
    store.put_packed({sha256_of(good): good})
    store._close_pack()  # the writer's process is gone, and its lock with it
    [pack] = store.packs()
    torn = b"the crash came while writing this"
    with pack.open("ab") as f:  # as a SIGKILL mid-write leaves it: header and half the bytes
        f.write(b"EIPACK1 %s %d\n" % (sha256_of(torn).encode(), len(torn)) + torn[:10])
    assert DocumentStore(tmp_path / "store").unpack() == 1
    assert store.path(sha256_of(good)).read_bytes() == good
    assert not store.exists(sha256_of(torn))
    assert store.packs() == []


def test_a_pack_its_writer_holds_is_left_alone(tmp_path: Path) -> None:
    writer = DocumentStore(tmp_path / "store")
    writer.put_packed({sha256_of(b"x"): b"x"})
    reader = DocumentStore(tmp_path / "store")
    assert reader.unpack() == 0  # still being appended to: not filed, not deleted
    assert len(reader.packs()) == 1
    writer.put_packed({sha256_of(b"y"): b"y"})
    assert writer.unpack() == 2  # the writer closes its pack first
    assert reader.open(sha256_of(b"y")) == b"y"


def test_a_document_in_a_pack_another_writer_holds_is_read_from_the_pack(tmp_path: Path) -> None:
    writer = DocumentStore(tmp_path / "store")
    blobs = {sha256_of(b): b for b in (b"first", b"second", b"third")}
    writer.put_packed(blobs)
    reader = DocumentStore(tmp_path / "store")  # another process: the writer's lock keeps the pack
    assert reader.open(sha256_of(b"second")) == b"second"
    [pack] = reader.packs()  # left where it is
    assert not reader.exists(sha256_of(b"second"))
    with pack.open("ab") as f:  # a record still being written: its header and part of its bytes
        f.write(b"EIPACK1 %s 100\nonly part" % sha256_of(b"x" * 100).encode())
    with pytest.raises(StoreError) as missing:
        reader.open(sha256_of(b"x" * 100))
    assert missing.value.code == "document-missing"


def test_a_full_pack_is_closed_and_the_next_batch_starts_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("extranet_intake.intake.store._PACK_BYTES", 64)
    store = DocumentStore(tmp_path / "store")
    for i in range(3):
        data = b"%d" % i * 100
        store.put_packed({sha256_of(data): data})
    assert len(store.packs()) == 3
    assert store.unpack() == 3


class TearingStore(DocumentStore):
    """A disk that fails in the middle of one record and then refuses to cut it off again."""

    @staticmethod
    def _write_records(fd: int, blobs: dict[str, bytes]) -> None:
        raise OSError(5, "Input/output error")  # the batch's one write fails: each record is tried alone

    @staticmethod
    def _append(fd: int, sha256: str, data: bytes) -> None:
        if data == b"tears":
            os.write(fd, b"EIPACK1 half a rec")
            raise OSError(5, "Input/output error")
        DocumentStore._append(fd, sha256, data)


def test_a_record_torn_beyond_repair_fails_what_its_pack_held_unsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(fd: int, length: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("extranet_intake.intake.store.os.ftruncate", refuse)
    store = TearingStore(tmp_path / "store")
    before, torn, after = b"before", b"tears", b"after"
    failures = store.put_packed({sha256_of(d): d for d in (before, torn, after)})
    # "before" sits in a pack that ends in a torn record and was never synced: it is not claimed stored
    assert set(failures) == {sha256_of(before), sha256_of(torn)}
    assert len(store.packs()) == 2  # "after" went to a new pack
    assert store.open(sha256_of(after)) == after


def test_a_new_pack_an_unpacker_removes_before_its_writer_locks_it_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = DocumentStore(tmp_path / "store")
    other = DocumentStore(tmp_path / "store")  # another process's stage 2
    real_flock = fcntl.flock
    raced: list[int] = []

    def flock_after_an_unpack(fd: int, op: int) -> None:
        if op == fcntl.LOCK_EX and not raced:  # the writer's lock on its brand-new pack
            raced.append(other.unpack())  # takes the empty, unlocked pack and removes it
        real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock_after_an_unpack)
    data = b"committed after put_packed said so"
    assert writer.put_packed({sha256_of(data): data}) == {}
    monkeypatch.setattr(fcntl, "flock", real_flock)
    assert raced == [0]
    writer._close_pack()
    assert other.open(sha256_of(data)) == data  # in a pack that has a name, filed now


def test_a_batch_goes_to_its_pack_in_one_write_and_short_writes_are_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_writev = os.writev
    calls: list[int] = []

    def short_writev(fd: int, buffers: list[bytes]) -> int:
        calls.append(len(buffers))
        return real_writev(fd, [b"".join(buffers)[:1000]])  # the kernel may take less than it was given

    monkeypatch.setattr("extranet_intake.intake.store.os.writev", short_writev)
    store = DocumentStore(tmp_path / "store")
    blobs = {sha256_of(d): d for d in (b"%d" % i * 700 for i in range(5))}
    assert store.put_packed(blobs) == {}
    assert calls[0] == 10  # a header and the bytes of each record, in one call
    assert store.unpack() == 5
    assert all(store.open(sha) == data for sha, data in blobs.items())


def test_a_batch_write_that_fails_half_way_is_cut_off_and_its_records_written_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_writev = os.writev

    def failing_writev(fd: int, buffers: list[bytes]) -> int:
        real_writev(fd, [buffers[0][:5]])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("extranet_intake.intake.store.os.writev", failing_writev)
    store = DocumentStore(tmp_path / "store")
    blobs = {sha256_of(d): d for d in (b"one", b"two")}
    assert store.put_packed(blobs) == {}  # the disk took them one at a time
    [pack] = store.packs()
    assert pack.read_bytes().startswith(b"EIPACK1 ")  # the torn start was cut off
    assert all(store.open(sha) == data for sha, data in blobs.items())
