"""``UID FETCH <uids> (UID INTERNALDATE BODY.PEEK[])``, read straight off the connection.

imaplib reads every reply line through its own bookkeeping (regular expressions per line, a list
per untagged type, literal callbacks): about 25 µs per message, nearly all of the client's time in
a batch fetch from a local server, and more than everything else the poller does with a message.
This reader sends the command on imaplib's connection (a tag from imaplib, as imapclient's own raw
commands do) and reads the reply with the standard IMAP framing — a line, and where it ends in
``{n}``, a literal of n bytes and the rest of the line — from imaplib's buffered socket file.

The common reply (``* n FETCH (UID u INTERNALDATE "…" BODY[] {len}``, literal, ``)``) is matched by
one regular expression; any other FETCH reply (items in another order, extra items, an unsolicited
flag update) goes whole, as imaplib would have returned it, through imapclient's response parser.
Other untagged replies (EXISTS, EXPUNGE…) change nothing here and are skipped. A closed connection
is ``IMAPClientAbortError``, a refused command ``IMAPClientError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from imapclient.response_parser import parse_fetch_response

__all__ = ["Fetched", "read_fetch", "send_fetch"]

#: longest reply line accepted (imaplib's own limit); literals are read by their announced size
_MAXLINE = 1_000_000
_COMMON = re.compile(rb'\* \d+ FETCH \(UID (\d+) INTERNALDATE "([^"]*)" BODY\[\] \{(\d+)\}\r\n\Z')
_LITERAL = re.compile(rb"\{(\d+)\}\r\n\Z")

Fetched = dict[int, tuple[bytes, datetime | None]]


def send_fetch(client: IMAPClient, uids: Sequence[int]) -> bytes:
    """Send the FETCH and return its tag; ``read_fetch`` reads the reply. In between the server
    is already at work on it — a poller storing the previous batch meanwhile waits for nothing.
    PEEK leaves ``\\Seen`` alone if a run fails."""
    imap = client._imap
    tag: bytes = imap._new_tag()
    imap.send(tag + b" UID FETCH " + ",".join(map(str, uids)).encode() + b" (UID INTERNALDATE BODY.PEEK[])\r\n")
    return tag


def read_fetch(client: IMAPClient, tag: bytes) -> Fetched:
    """{uid: (raw message, INTERNALDATE)} for those of the FETCH's UIDs still in the folder."""
    imap = client._imap
    try:
        return _read_reply(imap.file, tag)
    finally:
        imap.tagged_commands.pop(tag, None)


def _read_reply(file: BinaryIO, tag: bytes) -> Fetched:
    readline, read = file.readline, file.read
    found: Fetched = {}
    done = tag + b" "
    while True:
        line = readline(_MAXLINE)
        if not line.endswith(b"\n"):
            raise IMAPClientAbortError("connection closed in the middle of a FETCH reply" if not line
                                       else "FETCH reply line too long")
        if line.startswith(done):
            status = line[len(done):].split(b" ", 1)[0]
            if status != b"OK":
                raise IMAPClientError(f"UID FETCH failed: {line[len(done):].strip().decode(errors='replace')}")
            return found
        common = _COMMON.match(line)
        if common is not None:
            body = read(int(common.group(3)))
            if len(body) != int(common.group(3)) or readline(_MAXLINE) != b")\r\n":
                raise IMAPClientAbortError("connection closed in the middle of a message")
            found[int(common.group(1))] = (body, _internaldate(common.group(2)))
            continue
        parts = _rest_of_reply(line, readline, read)
        if line.startswith(b"* ") and line.split(b" ", 3)[2:3] == [b"FETCH"] and b"(" in line:
            _parse_general(parts, found)


def _rest_of_reply(line: bytes, readline: Callable[[int], bytes],
                   read: Callable[[int], bytes]) -> list[bytes | tuple[bytes, bytes]]:
    """One whole reply: (line up to a literal, literal) pairs, then the last line (CRLFs cut off)."""
    parts: list[bytes | tuple[bytes, bytes]] = []
    while (literal := _LITERAL.search(line)) is not None:
        size = int(literal.group(1))
        data = read(size)
        if len(data) != size:
            raise IMAPClientAbortError("connection closed in the middle of a literal")
        parts.append((line[:-2], data))
        line = readline(_MAXLINE)
        if not line.endswith(b"\n"):
            raise IMAPClientAbortError("connection closed in the middle of a FETCH reply")
    parts.append(line[:-2])
    return parts


def _parse_general(parts: list[bytes | tuple[bytes, bytes]], found: Fetched) -> None:
    # imaplib's shape: "* 7 FETCH (…" is handed over as "7 (…"
    first = parts[0]
    head = first[0] if isinstance(first, tuple) else first
    seq, _fetch, rest = head[2:].split(b" ", 2)
    head = seq + b" " + rest
    parts[0] = (head, first[1]) if isinstance(first, tuple) else head
    for uid, data in parse_fetch_response(parts, normalise_times=False).items():
        body = data.get(b"BODY[]")
        if isinstance(body, bytes):
            found[int(uid)] = (body, _utc(data.get(b"INTERNALDATE")))


_DATE = re.compile(rb" ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_MONTHS = {m: i for i, m in enumerate((b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep",
                                       b"oct", b"nov", b"dec"), start=1)}


def _internaldate(raw: bytes) -> datetime | None:
    """``date-time`` of RFC 3501 (``27-Nov-2026 05:14:01 +0100``) in UTC; None if it is not one.
    (``strptime`` cost 8 µs a message, a quarter of the whole fetch.)"""
    m = _DATE.fullmatch(raw)
    month = _MONTHS.get(m.group(2).lower()) if m else None
    if m is None or month is None:
        return None
    day, _, year, hour, minute, second, sign, oh, om = m.groups()
    try:
        local = datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    offset = timedelta(hours=int(oh), minutes=int(om))
    return local - offset if sign == b"+" else local + offset


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
