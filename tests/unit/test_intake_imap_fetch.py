"""The FETCH reply reader (pure: a reply as bytes, no server): the common shape, the general shape, the edges."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from imapclient.exceptions import IMAPClientAbortError

from extranet_intake.intake.sources.imap_fetch import FetchReply, _internaldate, _read_reply

MSG = b"From: a@example.be\r\n\r\nbody\r\n"


def reply(*lines: bytes) -> io.BufferedReader:
    return io.BufferedReader(io.BytesIO(b"".join(lines)))  # type: ignore[arg-type]


def read(*lines: bytes, tag: bytes, max_bytes: int = 1000) -> FetchReply:
    return _read_reply(reply(*lines), tag, max_bytes=max_bytes)


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def test_common_shape_and_untagged_noise() -> None:
    got = read(
        b'* 1 FETCH (UID 7 INTERNALDATE "27-Nov-2026 05:14:01 +0100" BODY[] ' + literal(MSG) + b")\r\n",
        b"* 3 EXISTS\r\n",
        b"* 2 EXPUNGE\r\n",
        b"A5 OK Fetch completed.\r\n",
        tag=b"A5",
    )
    assert got == FetchReply({7: (MSG, datetime(2026, 11, 27, 4, 14, 1, tzinfo=UTC))})


def test_other_item_order_and_extra_items_go_through_imapclient() -> None:
    got = read(
        b"* 1 FETCH (BODY[] " + literal(MSG) + b' UID 9 FLAGS (\\Seen) INTERNALDATE "01-Jan-2026 00:00:00 +0000")\r\n',
        b"* 2 FETCH (UID 10 FLAGS (\\Deleted))\r\n",  # an unsolicited flag update: no body, nothing taken
        b'* 3 FETCH (UID 11 INTERNALDATE "01-Jan-2026 00:00:00 +0000" BODY[] '
        + literal(MSG)
        + b" FLAGS (\\Seen))\r\n",  # the common start, then an item after the body
        b"A6 OK\r\n",
        tag=b"A6",
    )  # a tagged OK without text is still OK
    assert got == FetchReply({9: (MSG, datetime(2026, 1, 1, tzinfo=UTC)), 11: (MSG, datetime(2026, 1, 1, tzinfo=UTC))})


def test_a_refused_fetch_keeps_what_came_and_says_why() -> None:
    got = read(
        b'* 1 FETCH (UID 7 INTERNALDATE "27-Nov-2026 05:14:01 +0100" BODY[] ' + literal(MSG) + b")\r\n",
        b"A7 NO [SERVERBUG] Some messages could not be FETCHed\r\n",
        tag=b"A7",
    )
    assert list(got.messages) == [7]
    assert got.problem == "the server refused the FETCH: NO [SERVERBUG] Some messages could not be FETCHed"
    assert read(b"A7 BAD what\r\n", tag=b"A7").problem.startswith("the server refused the FETCH: BAD")


def test_a_cut_connection_is_an_abort() -> None:
    with pytest.raises(IMAPClientAbortError):
        read(b'* 1 FETCH (UID 7 INTERNALDATE "27-Nov-2026 05:14:01 +0100" BODY[] {500}\r\n', MSG, tag=b"A8")
    with pytest.raises(IMAPClientAbortError):
        read(b"* 1 FETCH (UID 7 INTERN", tag=b"A9")
    with pytest.raises(IMAPClientAbortError):  # cut while reading past an oversized literal
        read(b'* 1 FETCH (UID 7 INTERNALDATE "27-Nov-2026 05:14:01 +0100" BODY[] {5000}\r\n', MSG, tag=b"A9")


def test_a_message_over_the_cap_is_read_past_and_named() -> None:
    big = b"x" * 2000
    got = read(
        b'* 1 FETCH (UID 7 INTERNALDATE "27-Nov-2026 05:14:01 +0100" BODY[] ' + literal(big) + b")\r\n",
        b"* 2 FETCH (BODY[] " + literal(big) + b" UID 8)\r\n",
        b'* 3 FETCH (UID 9 INTERNALDATE "27-Nov-2026 05:14:01 +0100" BODY[] ' + literal(MSG) + b")\r\n",
        b"A1 OK done\r\n",
        tag=b"A1",
        max_bytes=1000,
    )
    assert got.too_large == {7, 8}
    assert list(got.messages) == [9]
    assert got.problem == ""


def test_a_body_without_its_uid_is_never_filed_under_the_sequence_number() -> None:
    got = read(
        b"* 3 FETCH (BODY[] " + literal(MSG) + b' INTERNALDATE "01-Jan-2026 00:00:00 +0000")\r\n',
        b"A2 OK done\r\n",
        tag=b"A2",
    )
    assert got.messages == {}
    assert got.problem == "a FETCH response came without its UID"


def test_an_unreadable_response_is_a_problem_not_a_crash() -> None:
    got = read(b'* 3 FETCH (UID x BODY[] "ab"\r\n', b"A4 OK done\r\n", tag=b"A4")
    assert got.messages == {}
    assert got.problem.startswith("a FETCH response could not be read")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"27-Nov-2026 05:14:01 +0000", datetime(2026, 11, 27, 5, 14, 1, tzinfo=UTC)),
        (b" 7-Feb-2026 23:59:59 -0130", datetime(2026, 2, 8, 1, 29, 59, tzinfo=UTC)),
        (b"31-Feb-2026 00:00:00 +0000", None),
        (b"27-Foo-2026 05:14:01 +0000", None),
        (b"", None),
    ],
)
def test_internaldate(raw: bytes, expected: datetime | None) -> None:
    assert _internaldate(raw) == expected
