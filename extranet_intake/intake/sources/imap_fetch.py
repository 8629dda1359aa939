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
Other untagged replies (EXISTS, EXPUNGE…) change nothing here and are skipped. A literal over the
size cap is read past, never held. Only a closed connection raises (``IMAPClientAbortError``); a
refused FETCH (``NO``/``BAD``, e.g. a message the server cannot read) or a response that cannot be
read is told in the reply, so the poller counts an attempt for the UIDs it lacks and goes on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from imapclient.response_parser import parse_fetch_response

__all__ = ["FetchReply", "read_fetch", "send_fetch"]

#: longest reply line accepted (imaplib's own limit); literals are read by their announced size
_MAXLINE = 1_000_000
_COMMON = re.compile(rb'\* \d+ FETCH \(UID (\d+) INTERNALDATE "([^"]*)" BODY\[\] \{(\d+)\}\r\n\Z')
_LITERAL = re.compile(rb"\{(\d+)\}\r\n\Z")
_HAS_UID = re.compile(rb"[( ]UID \d+")
_ANNOUNCED = re.compile(rb"\{\d+\}\Z")
#: a literal over the cap is read past in pieces of this size, never held whole
_SKIP_PIECE = 1 << 20


@dataclass
class FetchReply:
    """What one ``UID FETCH`` brought back."""

    #: {uid: (raw message, INTERNALDATE)} for those of the FETCH's UIDs still in the folder
    messages: dict[int, tuple[bytes, datetime | None]] = field(default_factory=dict)
    #: UIDs whose message came over the size cap: read past, not kept
    too_large: set[int] = field(default_factory=set)
    #: why the reply may lack some of the UIDs asked for ("" = it is complete): the server refused
    #: the command, or a FETCH response could not be read
    problem: str = ""


def send_fetch(client: IMAPClient, uids: Sequence[int]) -> bytes:
    """Send the FETCH and return its tag; ``read_fetch`` reads the reply. In between the server
    is already at work on it — a poller storing the previous batch meanwhile waits for nothing.
    PEEK leaves ``\\Seen`` alone if a run fails."""
    imap = client._imap
    tag: bytes = imap._new_tag()
    imap.send(tag + b" UID FETCH " + ",".join(map(str, uids)).encode() + b" (UID INTERNALDATE BODY.PEEK[])\r\n")
    return tag


def read_fetch(client: IMAPClient, tag: bytes, *, max_bytes: int) -> FetchReply:
    """Read the reply to ``send_fetch``; a message over ``max_bytes`` is read past, not kept. Only a
    connection that breaks raises (``IMAPClientAbortError``): a refused command or an unreadable
    response is the reply's ``problem``, for the UIDs it leaves out."""
    imap = client._imap
    try:
        return _read_reply(imap.file, tag, max_bytes=max_bytes)
    finally:
        imap.tagged_commands.pop(tag, None)


def _read_reply(file: BinaryIO, tag: bytes, *, max_bytes: int) -> FetchReply:
    readline, read = file.readline, file.read
    reply = FetchReply()
    done = tag + b" "
    while True:
        line = _line(readline)
        if line.startswith(done):
            status = line[len(done) :].split(None, 1)
            if status[:1] != [b"OK"]:
                text = line[len(done) :].strip().decode("ascii", errors="replace")[:500]
                reply.problem = f"the server refused the FETCH: {text}"
            return reply
        common = _COMMON.match(line)
        if common is not None:
            uid, size = int(common.group(1)), int(common.group(3))
            body = _literal(read, size, max_bytes)
            tail = _line(readline)
            if tail == b")\r\n":
                if body is None:
                    reply.too_large.add(uid)
                else:
                    reply.messages[uid] = (body, _internaldate(common.group(2)))
                continue
            # more items after the body (an unsolicited FLAGS, a MODSEQ): the general parser reads it
            parts = [(line[:-2], body), *_rest_of_reply(tail, readline, read, max_bytes)]
        else:
            parts = _rest_of_reply(line, readline, read, max_bytes)
        if line.startswith(b"* ") and line.split(b" ", 3)[2:3] == [b"FETCH"] and b"(" in line:
            _parse_general(parts, reply)


def _line(readline: Callable[[int], bytes]) -> bytes:
    line = readline(_MAXLINE)
    if not line.endswith(b"\n"):
        raise IMAPClientAbortError(
            "connection closed in the middle of a FETCH reply" if not line else "FETCH reply line too long"
        )
    return line


def _literal(read: Callable[[int], bytes], size: int, max_bytes: int) -> bytes | None:
    """The literal's bytes, or None if it is over ``max_bytes`` (then read past in pieces)."""
    if size <= max_bytes:
        data = read(size)
        if len(data) != size:
            raise IMAPClientAbortError("connection closed in the middle of a literal")
        return data
    while size:
        piece = read(min(size, _SKIP_PIECE))
        if not piece:
            raise IMAPClientAbortError("connection closed in the middle of a literal")
        size -= len(piece)
    return None


Parts = list[bytes | tuple[bytes, bytes | None]]


def _rest_of_reply(
    line: bytes, readline: Callable[[int], bytes], read: Callable[[int], bytes], max_bytes: int
) -> Parts:
    """One whole reply: (line up to a literal, literal or None if over the cap) pairs, then the last
    line (CRLFs cut off)."""
    parts: Parts = []
    while (literal := _LITERAL.search(line)) is not None:
        parts.append((line[:-2], _literal(read, int(literal.group(1)), max_bytes)))
        line = _line(readline)
    parts.append(line[:-2])
    return parts


def _parse_general(parts: Parts, reply: FetchReply) -> None:
    heads = [part[0] if isinstance(part, tuple) else part for part in parts]
    oversized = any(isinstance(part, tuple) and part[1] is None for part in parts)
    # imaplib's shape: "* 7 FETCH (…" is handed over as "7 (…"; a literal over the cap as empty
    seq, _fetch, rest = heads[0][2:].split(b" ", 2)
    heads[0] = seq + b" " + rest
    given: list[bytes | tuple[bytes, bytes]] = [
        ((head, part[1]) if part[1] is not None else (_ANNOUNCED.sub(b"{0}", head), b""))
        if isinstance(part, tuple)
        else head
        for head, part in zip(heads, parts, strict=True)
    ]
    try:
        parsed = parse_fetch_response(given, normalise_times=False)
    except (IMAPClientError, ValueError) as exc:
        reply.problem = f"a FETCH response could not be read: {type(exc).__name__}"
        return
    for uid, data in parsed.items():
        if b"BODY[]" not in data:
            continue  # a flag update or the like: nothing to take
        if not any(_HAS_UID.search(head) for head in heads):
            # imapclient keys it by sequence number then: never file a body under a wrong UID
            reply.problem = "a FETCH response came without its UID"
            continue
        body = data[b"BODY[]"]
        if oversized:
            reply.too_large.add(int(uid))
        elif isinstance(body, bytes):
            reply.messages[int(uid)] = (body, _utc(data.get(b"INTERNALDATE")))


_DATE = re.compile(rb" ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_MONTHS = {
    m: i
    for i, m in enumerate(
        (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"), start=1
    )
}


@functools.lru_cache(maxsize=1024)
def _internaldate(raw: bytes) -> datetime | None:
    """``date-time`` of RFC 3501 (``27-Nov-2026 05:14:01 +0100``) in UTC; None if it is not one.
    (``strptime`` cost 8 µs a message, a quarter of the whole fetch; mail that arrived in the same
    second, as a backlog does, shares one.)"""
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
