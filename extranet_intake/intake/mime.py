"""Pure MIME reading: the bytes of one RFC 5322 message → its form attachments, by content, with safe names.

Nothing here touches a file, a socket or a clock. A part counts as a form candidate when its
*bytes* start like a PDF, an XLSX (ZIP container), or a scan image (PNG, JPEG, TIFF) — the declared
Content-Type and the file name are what a sender controls, so they decide nothing. Forwarded
messages (``message/rfc822`` parts) are opened up to a depth cap; sizes are capped per part and per
message so one hostile mail cannot exhaust memory. A message without any candidate gets the coded
outcome ``no-form-attachment``, never silence.

The parser runs with the ``compat32`` policy: the modern ``email.policy.default`` is about ten
times slower on the same message, and the poller drains mailboxes of thousands of mails. File names
are decoded by hand instead (RFC 2231 by the library, RFC 2047 encoded words here).
"""

from __future__ import annotations

import binascii
import email
import email.errors
import email.header
import email.utils
import re
import unicodedata
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import Message
from email.policy import compat32
from enum import StrEnum

from extranet_intake.parsers.classify import DocType
from extranet_intake.parsers.classify import sniff as sniff_type

__all__ = [
    "Attachment",
    "Extraction",
    "MessageHeaders",
    "MimeLimits",
    "MimeOutcome",
    "SkipReason",
    "Skipped",
    "SniffedType",
    "extract",
    "read_envelope",
    "safe_filename",
    "sniff",
]


class SniffedType(StrEnum):
    """What the bytes are, by their first bytes. Only these can hold a form."""

    PDF = "application/pdf"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    PNG = "image/png"
    JPEG = "image/jpeg"
    TIFF = "image/tiff"


class MimeOutcome(StrEnum):
    """Coded outcome of reading one message (recorded with its arrival)."""

    FORMS = "forms"  # at least one form candidate
    NO_FORM_ATTACHMENT = "no-form-attachment"  # nothing that could be a form
    MESSAGE_TOO_LARGE = "message-too-large"  # refused whole, nothing read


class SkipReason(StrEnum):
    NOT_A_FORM_TYPE = "not-a-form-type"
    PART_TOO_LARGE = "part-too-large"
    NESTING_TOO_DEEP = "nesting-too-deep"
    INLINE_IMAGE = "inline-image"
    UNDECODABLE = "undecodable-part"
    TOO_MANY_PARTS = "too-many-parts"


@dataclass(frozen=True)
class MimeLimits:
    max_message_bytes: int = 50 * 1024 * 1024
    max_part_bytes: int = 20 * 1024 * 1024
    #: forwarded-in-forwarded-in-… ; three levels cover real forwarding chains
    max_depth: int = 3
    #: a MIME bomb of thousands of tiny parts is refused past this count
    max_parts: int = 500
    #: inline images under this size are logos and signatures, not scans of a form page
    min_inline_image_bytes: int = 20 * 1024


@dataclass(frozen=True)
class Attachment:
    filename: str
    sniffed: SniffedType
    data: bytes
    declared_type: str
    #: 0 = in the message itself, 1 = inside a forwarded message, …
    depth: int = 0
    inline: bool = False


@dataclass(frozen=True)
class Skipped:
    filename: str
    declared_type: str
    reason: SkipReason
    size: int = 0


@dataclass(frozen=True)
class MessageHeaders:
    """What the store records of a message besides its bytes."""

    sender: str = ""
    message_id: str = ""
    subject: str = ""
    #: every Authentication-Results header, top (newest) first, unfolded
    authentication_results: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extraction:
    outcome: MimeOutcome
    envelope: MessageHeaders
    attachments: tuple[Attachment, ...] = ()
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)


_MEDIA = {
    DocType.PDF: SniffedType.PDF,
    DocType.XLSX: SniffedType.XLSX,
    DocType.PNG: SniffedType.PNG,
    DocType.JPEG: SniffedType.JPEG,
    DocType.TIFF: SniffedType.TIFF,
}


def sniff(data: bytes) -> SniffedType | None:
    """The form-capable type of ``data`` by magic bytes (the parsers' own sniffing), or None."""
    return _MEDIA.get(sniff_type(data))


_EXTENSION = {
    SniffedType.PDF: ".pdf",
    SniffedType.XLSX: ".xlsx",
    SniffedType.PNG: ".png",
    SniffedType.JPEG: ".jpg",
    SniffedType.TIFF: ".tif",
}
# Characters no file system of ours (or a reviewer's Windows share) accepts in a name.
_FORBIDDEN = frozenset('<>:"/\\|?*')
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


#: a header value or file name is cut to this before its encoded words are decoded: the stdlib
#: decoder takes time growing with the square of their count (900 KB of them took 4 s), and no
#: value we keep is longer than 998 characters
_MAX_DECODED_CHARS = 8192


def _decode_words(value: str) -> str:
    value = value[:_MAX_DECODED_CHARS]
    if not _ENCODED_WORD.search(value):
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, UnicodeError, binascii.Error, email.errors.HeaderParseError):
        return value


def safe_filename(raw: str | None, *, sniffed: SniffedType | None = None, index: int = 0) -> str:
    """Decode, NFC-normalise and sanitise a sender-given file name (no path, no control characters)."""
    name = _decode_words(raw or "")
    name = unicodedata.normalize("NFC", name)
    # Only the last path component survives: "../../etc/passwd" and "C:\\x\\y.pdf" become the base name.
    name = re.split(r"[\\/]", name)[-1]
    name = "".join("_" if ch in _FORBIDDEN or unicodedata.category(ch)[0] == "C" else ch for ch in name)
    name = name.strip().lstrip(".").rstrip(". ").strip()
    if name.split(".")[0].upper() in _RESERVED:
        name = "_" + name
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 150 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:150]
    if not name:
        name = f"attachment-{index}" + (_EXTENSION[sniffed] if sniffed else "")
    return unicodedata.normalize("NFC", name)


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    return _one_line(_decode_words(_one_line(str(value))))


def _one_line(text: str) -> str:
    """Whitespace runs as one space, NUL dropped (an encoded word can carry one; no database column
    can hold it, PostgreSQL refuses the whole row)."""
    return " ".join(text.replace("\x00", "").split())


#: a From header longer than this is not a sender's (one address fits in 254, a display name beside
#: it in far less): it is not parsed at all, since policy.default's parser needs memory growing with
#: the square of a run of encoded words (840 KB took 24 GB)
_MAX_FROM_CHARS = 4096


def _sender(msg: Message) -> str:
    """The one From address, or "" when the header could mislead: none or several From headers, several
    addresses, a parse defect, or an address longer than SMTP allows.

    The address comes from the header's own grammar (policy.default), never from decoded text: a
    display name such as ``=?utf-8?q?mu=40org.example?= <attacker@evil.example>`` or a bare
    ``mu@org.example <attacker@evil.example>`` must not pass for the Master User's address, since
    the gateway's DMARC verdict is about the real one.
    """
    values = msg.get_all("From") or []
    if len(values) != 1 or len(str(values[0])) > _MAX_FROM_CHARS:
        return ""
    try:
        header = policy.default.header_factory("From", str(values[0]))
    except (email.errors.HeaderParseError, IndexError, ValueError, TypeError, RecursionError):
        return ""
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if header.defects or len(addresses) != 1:
        return ""
    address = addresses[0].addr_spec
    if len(address) > 254 or address.count("@") != 1:
        return ""
    return address.lower()


def read_envelope(msg: Message) -> MessageHeaders:
    ar = tuple(_one_line(str(v)) for v in (msg.get_all("Authentication-Results") or []))
    return MessageHeaders(
        sender=_sender(msg),
        message_id=_header(msg, "Message-ID")[:998],
        subject=_header(msg, "Subject")[:998],
        authentication_results=ar,
    )


_MAX_LEVEL = 32


def _raw_name(part: Message) -> str:
    filename = part.get_filename()
    if filename:
        return filename
    # Older mailers put the name only in Content-Type's "name", RFC 2231-encoded or not.
    name = part.get_param("name")
    return email.utils.collapse_rfc2231_value(name) if name else ""


class _Walker:
    def __init__(self, limits: MimeLimits) -> None:
        self.limits = limits
        self.attachments: list[Attachment] = []
        self.skipped: list[Skipped] = []
        self.parts = 0

    def walk(self, part: Message, depth: int, level: int = 0) -> None:
        """Visit ``part``; ``depth`` counts forwarded messages, ``level`` all nesting (a hostile mail
        can nest multiparts thousands deep to blow the stack)."""
        if self.parts >= self.limits.max_parts:
            if not any(s.reason is SkipReason.TOO_MANY_PARTS for s in self.skipped):
                self.skipped.append(Skipped("", part.get_content_type(), SkipReason.TOO_MANY_PARTS))
            return
        self.parts += 1
        ctype = part.get_content_type()
        if part.is_multipart():
            if level >= _MAX_LEVEL:
                self.skipped.append(Skipped("", ctype, SkipReason.NESTING_TOO_DEEP))
                return
            forwarded = part.get_content_maintype() == "message"
            if forwarded and depth + 1 > self.limits.max_depth:
                self.skipped.append(Skipped(safe_filename(_raw_name(part)), ctype, SkipReason.NESTING_TOO_DEEP))
                return
            # compat32 hands a parsed message/rfc822 as a one-element list holding the inner message.
            payload = part.get_payload()
            for sub in payload if isinstance(payload, list) else []:
                if isinstance(sub, Message):
                    self.walk(sub, depth + 1 if forwarded else depth, level + 1)
            return
        self.leaf(part, depth)

    def leaf(self, part: Message, depth: int) -> None:
        ctype = part.get_content_type()
        filename_raw = _raw_name(part)
        encoded = part.get_payload(decode=False)
        if not isinstance(encoded, str):
            return
        # Base64 inflates by 4/3: refuse before decoding so a huge part never lands in memory twice.
        if len(encoded) * 3 // 4 > self.limits.max_part_bytes + 4:
            self.skipped.append(
                Skipped(safe_filename(filename_raw), ctype, SkipReason.PART_TOO_LARGE, len(encoded) * 3 // 4)
            )
            return
        try:
            data = part.get_payload(decode=True)
        except (ValueError, binascii.Error):  # pragma: no cover - compat32 is lenient; kept as a guard
            data = None
        if not isinstance(data, bytes):
            self.skipped.append(Skipped(safe_filename(filename_raw), ctype, SkipReason.UNDECODABLE))
            return
        if len(data) > self.limits.max_part_bytes:
            self.skipped.append(Skipped(safe_filename(filename_raw), ctype, SkipReason.PART_TOO_LARGE, len(data)))
            return
        kind = sniff(data)
        name = safe_filename(filename_raw, sniffed=kind, index=len(self.attachments) + 1)
        if kind is None:
            if filename_raw or not ctype.startswith("text/"):
                self.skipped.append(Skipped(name, ctype, SkipReason.NOT_A_FORM_TYPE, len(data)))
            return
        disposition = (part.get_content_disposition() or "").lower()
        inline = disposition == "inline" or (disposition != "attachment" and part.get("Content-ID") is not None)
        if inline and kind in (SniffedType.PNG, SniffedType.JPEG) and len(data) < self.limits.min_inline_image_bytes:
            self.skipped.append(Skipped(name, ctype, SkipReason.INLINE_IMAGE, len(data)))
            return
        self.attachments.append(Attachment(name, kind, data, ctype, depth, inline))


def extract(raw: bytes, *, limits: MimeLimits | None = None) -> Extraction:
    """Read one message: its envelope, its form candidates by content, and what was skipped and why."""
    limits = limits or MimeLimits()
    if len(raw) > limits.max_message_bytes:
        # Headers only: enough to tell the sender why, without parsing megabytes of body.
        head = re.split(rb"\r?\n\r?\n", raw[: 256 * 1024], maxsplit=1)[0]
        envelope = read_envelope(email.message_from_bytes(head, policy=compat32))
        return Extraction(MimeOutcome.MESSAGE_TOO_LARGE, envelope)
    msg = email.message_from_bytes(raw, policy=compat32)
    walker = _Walker(limits)
    walker.walk(msg, 0)
    outcome = MimeOutcome.FORMS if walker.attachments else MimeOutcome.NO_FORM_ATTACHMENT
    return Extraction(outcome, read_envelope(msg), tuple(walker.attachments), tuple(walker.skipped))
