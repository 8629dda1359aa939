"""MIME reading: form candidates by content, safe names, caps, forwarded messages, coded outcomes."""

from __future__ import annotations

import base64
import unicodedata
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extranet_intake.intake.mime import (
    MimeLimits,
    MimeOutcome,
    SkipReason,
    SniffedType,
    _decode_words,
    extract,
    safe_filename,
    sniff,
)
from tests.intake_mail import fake_pdf, make_message

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
XLSX = b"PK\x03\x04" + b"\x00" * 100


def test_sniff_by_magic_bytes() -> None:
    assert sniff(b"%PDF-1.4\n...") is SniffedType.PDF
    assert sniff(b"junk before\n%PDF-1.7") is SniffedType.PDF
    assert sniff(XLSX) is SniffedType.XLSX
    assert sniff(PNG) is SniffedType.PNG
    assert sniff(b"\xff\xd8\xff\xe0JFIF") is SniffedType.JPEG
    assert sniff(b"II*\x00....") is SniffedType.TIFF
    assert sniff(b"MZ\x90\x00 an exe") is None


def test_type_comes_from_content_not_name_or_declared_type() -> None:
    raw = make_message(attachments=[("notes.txt", fake_pdf("a")), ("fiche.pdf", b"MZ not a pdf at all")])
    ex = extract(raw)
    assert ex.outcome is MimeOutcome.FORMS
    assert [(a.filename, a.sniffed) for a in ex.attachments] == [("notes.txt", SniffedType.PDF)]
    assert [(s.filename, s.reason) for s in ex.skipped] == [("fiche.pdf", SkipReason.NOT_A_FORM_TYPE)]


def test_envelope_is_read() -> None:
    raw = make_message(sender="Jan <MU@Example.BE>", message_id="<abc@x>", subject="=?utf-8?q?fiche_=C3=A9?=")
    env = extract(raw).envelope
    assert (env.sender, env.message_id, env.subject) == ("mu@example.be", "<abc@x>", "fiche é")


def test_message_without_form_gets_a_coded_outcome() -> None:
    ex = extract(make_message())
    assert ex.outcome is MimeOutcome.NO_FORM_ATTACHMENT
    assert ex.attachments == ()


def test_rfc2231_and_encoded_word_names_are_decoded_and_nfc() -> None:
    msg = MIMEMultipart()
    a = MIMEApplication(fake_pdf("x"), "pdf")
    a.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "fiche e\u0301te\u0301.pdf"))
    msg.attach(a)
    b = MIMEApplication(fake_pdf("y"), "pdf")
    b.add_header(
        "Content-Disposition",
        'attachment; filename="=?UTF-8?B?' + base64.b64encode("overeenkomst ü.pdf".encode()).decode() + '?="',
    )
    msg.attach(b)
    names = [a.filename for a in extract(msg.as_bytes()).attachments]
    assert names == ["fiche \u00e9t\u00e9.pdf", "overeenkomst ü.pdf"]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)


def test_path_traversal_names_are_reduced_to_a_base_name() -> None:
    raw = make_message(
        attachments=[
            ("../../etc/passwd.pdf", fake_pdf("1")),
            ("C:\\Windows\\x.pdf", fake_pdf("2")),
            ("..", fake_pdf("3")),
        ]
    )
    names = [a.filename for a in extract(raw).attachments]
    assert names == ["passwd.pdf", "x.pdf", "attachment-3.pdf"]


def test_forwarded_message_is_opened_with_a_depth_cap() -> None:
    inner = make_message(attachments=[("inner.pdf", fake_pdf("inner"))])
    from email import message_from_bytes

    def forward(raw: bytes, n: int) -> bytes:
        for _ in range(n):
            outer = MIMEMultipart()
            outer.attach(MIMEText("fwd"))
            outer.attach(MIMEMessage(message_from_bytes(raw)))
            raw = outer.as_bytes()
        return raw

    ex = extract(forward(inner, 2))
    assert [(a.filename, a.depth) for a in ex.attachments] == [("inner.pdf", 2)]
    too_deep = extract(forward(inner, 3), limits=MimeLimits(max_depth=2))
    assert too_deep.outcome is MimeOutcome.NO_FORM_ATTACHMENT
    assert SkipReason.NESTING_TOO_DEEP in {s.reason for s in too_deep.skipped}


def test_size_caps_per_part_and_per_message() -> None:
    raw = make_message(attachments=[("big.pdf", fake_pdf("big", size=50_000)), ("small.pdf", fake_pdf("s"))])
    ex = extract(raw, limits=MimeLimits(max_part_bytes=10_000))
    assert [a.filename for a in ex.attachments] == ["small.pdf"]
    assert [(s.filename, s.reason) for s in ex.skipped] == [("big.pdf", SkipReason.PART_TOO_LARGE)]
    whole = extract(raw, limits=MimeLimits(max_message_bytes=20_000))
    assert whole.outcome is MimeOutcome.MESSAGE_TOO_LARGE
    assert whole.attachments == ()
    assert whole.envelope.sender == "mu@example.be"


def test_small_inline_images_are_logos_not_scans() -> None:
    msg = MIMEMultipart("related")
    msg.attach(MIMEText("<img src='cid:logo'>", "html"))
    logo = MIMEImage(PNG, "png")
    logo.add_header("Content-ID", "<logo>")
    logo.add_header("Content-Disposition", "inline")
    msg.attach(logo)
    scan = MIMEImage(b"\xff\xd8\xff\xe0" + b"\x00" * 30_000, "jpeg")
    scan.add_header("Content-Disposition", "inline", filename="scan.jpg")
    msg.attach(scan)
    ex = extract(msg.as_bytes())
    assert [(a.filename, a.inline) for a in ex.attachments] == [("scan.jpg", True)]
    assert [s.reason for s in ex.skipped] == [SkipReason.INLINE_IMAGE]


def test_a_multipart_bomb_is_capped() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
    depth = 200
    for i in range(depth):
        raw += f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n".encode()
    raw += f"--b{depth}\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 deep\r\n".encode()
    ex = extract(raw)
    assert ex.outcome is MimeOutcome.NO_FORM_ATTACHMENT
    assert SkipReason.NESTING_TOO_DEEP in {s.reason for s in ex.skipped}
    many = make_message(attachments=[(f"f{i}.pdf", fake_pdf(str(i))) for i in range(20)])
    capped = extract(many, limits=MimeLimits(max_parts=10))
    assert len(capped.attachments) < 10
    assert SkipReason.TOO_MANY_PARTS in {s.reason for s in capped.skipped}


@given(st.text(max_size=300))
def test_safe_filename_is_always_safe(name: str) -> None:
    out = safe_filename(name)
    assert out
    assert "/" not in out
    assert "\\" not in out
    assert not out.startswith(".")
    assert all(unicodedata.category(c)[0] != "C" for c in out)
    assert len(out) <= 150
    assert unicodedata.is_normalized("NFC", out)


@pytest.mark.parametrize(
    ("from_header", "sender"),
    [
        ('"Sofie Peeters" <Sofie.Peeters@example.be>', "sofie.peeters@example.be"),
        ("=?utf-8?q?Lo=C3=AFc?= <loic@example.be>", "loic@example.be"),
        # a display name that reads as the Master User's address is only a name
        ("=?utf-8?q?mu=40example=2Ebe?= <attacker@evil.example>", "attacker@evil.example"),
        # ambiguous: no sender at all rather than a guess
        ("mu@example.be <attacker@evil.example>", ""),
        ("mu@example.be, attacker@evil.example", ""),
        ("x" * 250 + "@example.be", ""),
    ],
)
def test_the_sender_is_the_one_from_address_never_a_display_name(from_header: str, sender: str) -> None:
    raw = f"From: {from_header}\r\nTo: extranet2P@ethias.be\r\nSubject: x\r\n\r\nbody\r\n".encode()
    assert extract(raw).envelope.sender == sender


def test_two_from_headers_give_no_sender() -> None:
    raw = b"From: mu@example.be\r\nFrom: attacker@evil.example\r\nSubject: x\r\n\r\nbody\r\n"
    assert extract(raw).envelope.sender == ""


@pytest.mark.parametrize(
    "from_header",
    [
        # found by a hostile-input review: the standard parser's memory grows with the square of a run of
        # encoded words (840 KB of them took 24 GB); such a header is no sender's and is not parsed
        "=?utf-8?q?a?= " * 30_000 + "<mu@org.example>",
        # nested comments deep enough to exhaust the parser's recursion
        "(" * 3000 + "x" + ")" * 3000 + " <mu@org.example>",
    ],
)
def test_a_monstrous_from_header_gives_no_sender_and_keeps_the_forms(from_header: str) -> None:
    raw = make_message(attachments=[("f.pdf", fake_pdf("kept"))]).replace(
        b"From: mu@example.be", b"From: " + from_header.encode(), 1
    )
    assert b"mu@org.example" in raw
    ex = extract(raw)
    assert ex.envelope.sender == ""
    assert ex.outcome is MimeOutcome.FORMS  # the message is still read: its form is not lost
    assert len(ex.attachments) == 1


def test_nul_in_a_header_is_dropped() -> None:
    raw = b"From: mu@example.be\r\nSubject: =?utf-8?q?a=00b?=\r\nMessage-ID: <a=00b@x>\r\n\r\nbody\r\n"
    envelope = extract(raw).envelope
    assert envelope.subject == "ab"
    assert "\x00" not in envelope.message_id


def test_a_header_of_thousands_of_encoded_words_is_cut_before_decoding() -> None:
    """The stdlib decoder is quadratic in the count of encoded words: a hostile Subject or file name
    is cut to 8192 characters first (what is kept of either is far shorter anyway)."""
    words = "=?utf-8?q?caf=C3=A9?= " * 20_000  # 440 KB
    assert len(_decode_words(words)) < 1600  # 372 words of 4 characters and a cut one, not 80,000
    raw = (f"From: mu@example.be\r\nSubject: {words}\r\n\r\nbody\r\n").encode()
    subject = extract(raw).envelope.subject
    assert subject.startswith("cafécafé")
    assert len(subject) <= 998
    assert safe_filename(words).startswith("cafécafé")
