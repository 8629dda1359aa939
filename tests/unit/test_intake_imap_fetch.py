"""The FETCH reply reader (pure: a reply as bytes, no server): the common shape, the general shape, the edges."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from intake.sources.imap_fetch import _internaldate, _read_reply

MSG = b"From: a@example.be\r\n\r\nbody\r\n"


def reply(*lines: bytes) -> io.BufferedReader:
    return io.BufferedReader(io.BytesIO(b"".join(lines)))  # type: ignore[arg-type]


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def test_common_shape_and_untagged_noise() -> None:
    got = _read_reply(reply(
        b"* 1 FETCH (UID 7 INTERNALDATE \"27-Nov-2026 05:14:01 +0100\" BODY[] " + literal(MSG) + b")\r\n",
        b"* 3 EXISTS\r\n",
        b"* 2 EXPUNGE\r\n",
        b"A5 OK Fetch completed.\r\n"), b"A5")
    assert got == {7: (MSG, datetime(2026, 11, 27, 4, 14, 1, tzinfo=UTC))}


def test_other_item_order_and_extra_items_go_through_imapclient() -> None:
    got = _read_reply(reply(
        b"* 1 FETCH (BODY[] " + literal(MSG)
        + b" UID 9 FLAGS (\\Seen) INTERNALDATE \"01-Jan-2026 00:00:00 +0000\")\r\n",
        b"* 2 FETCH (UID 10 FLAGS (\\Deleted))\r\n",  # an unsolicited flag update: no body, nothing taken
        b"A6 OK done\r\n"), b"A6")
    assert got == {9: (MSG, datetime(2026, 1, 1, tzinfo=UTC))}


def test_refused_fetch_is_an_error_and_a_cut_is_an_abort() -> None:
    with pytest.raises(IMAPClientError, match="UID FETCH failed: NO"):
        _read_reply(reply(b"A7 NO [SERVERBUG] oops\r\n"), b"A7")
    with pytest.raises(IMAPClientAbortError):
        _read_reply(reply(b"* 1 FETCH (UID 7 INTERNALDATE \"27-Nov-2026 05:14:01 +0100\" BODY[] {500}\r\n",
                          MSG), b"A8")
    with pytest.raises(IMAPClientAbortError):
        _read_reply(reply(b"* 1 FETCH (UID 7 INTERN"), b"A9")


@pytest.mark.parametrize(("raw", "expected"), [
    (b"27-Nov-2026 05:14:01 +0000", datetime(2026, 11, 27, 5, 14, 1, tzinfo=UTC)),
    (b" 7-Feb-2026 23:59:59 -0130", datetime(2026, 2, 8, 1, 29, 59, tzinfo=UTC)),
    (b"31-Feb-2026 00:00:00 +0000", None),
    (b"27-Foo-2026 05:14:01 +0000", None),
    (b"", None),
])
def test_internaldate(raw: bytes, expected: datetime | None) -> None:
    assert _internaldate(raw) == expected
