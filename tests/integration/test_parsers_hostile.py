"""Hostile input through the sandbox: every file ends in a coded rejection in bounded time and memory."""

from __future__ import annotations

import functools
import io
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from extranet_intake.errors import IntakeError
from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers.result import Issue, ParsedForm, ParseOutcome
from extranet_intake.parsers.sandbox import SandboxedParser
from samplekit.xlsx_fiche import write_user_fiche_xlsx
from tests.fixtures.forms import TODAY, valid_values

TIMEOUT = 20.0
MEMORY_MB = 768
MAX_BYTES = 20 * 1024 * 1024
NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _raw_pdf(*bodies: bytes) -> bytes:
    """A PDF with a correct xref from object bodies (object 1 is the catalog)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


_PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources %s >>"


def _fillable() -> bytes:
    return render_form("EAP-USR", "fr", valid_values("EAP-USR", "fr"))


def user_password() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_fillable())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated() -> bytes:
    pdf = _fillable()
    return pdf[: len(pdf) * 2 // 3]


def corrupt() -> bytes:
    pdf = bytearray(_fillable())
    # the header survives, the body is noise: object numbers, streams and xref all gone
    pdf[40:-40] = bytes((i * 7919) % 251 for i in range(len(pdf) - 80))
    return bytes(pdf)


@functools.cache
def _deflated_spaces(gigabytes: int) -> bytes:
    # After a full flush the compressor starts afresh, so every 16 MB block deflates to the same bytes:
    # compress two blocks, repeat the second, fix the checksum — 2 GB of spaces in 2 MB, in a second.
    block = b" " * (16 * 1024 * 1024)
    comp = zlib.compressobj(9)
    first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    end = comp.flush()[:-4]
    count = gigabytes * 64
    adler = 1
    for _ in range(count):
        adler = zlib.adler32(block, adler)
    return first + again * (count - 1) + end + struct.pack(">I", adler)


def decompression_bomb() -> bytes:
    # a page content stream of 2 GB of spaces, 2 MB deflated
    return _raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        _PAGE % b"<< >>",
        _stream(_deflated_spaces(2), b"/Filter /FlateDecode"),
    )


def self_referencing_xobject() -> bytes:
    return _raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        _PAGE % b"<< /XObject << /X0 5 0 R >> >>",
        _stream(b"/X0 Do"),
        _stream(
            b"/X0 Do", b"/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X0 5 0 R >> >>"
        ),
    )


def nested_arrays() -> bytes:
    depth = 200_000
    return _raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Junk " + b"[" * depth + b"]" * depth + b" >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    )


def nested_dicts() -> bytes:
    depth = 100_000
    return _raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm " + b"<< /A " * depth + b"1" + b" >>" * depth + b" >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    )


def hundred_megabytes() -> bytes:
    return _fillable() + b"%" + b"x" * (100 * 1024 * 1024)


def not_a_pdf() -> bytes:
    return b"MZ\x90\x00" + b"this is a Windows program, renamed invoice.pdf\n" * 100


def empty() -> bytes:
    return b""


def xlsx_zip_bomb() -> bytes:
    good = zipfile.ZipFile(io.BytesIO(write_user_fiche_xlsx(valid_values("EAP-USR"))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in good.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with z.open(item.filename, "w", force_zip64=True) as part:
                    for _ in range(16):
                        part.write(b" " * (16 * 1024 * 1024))  # 256 MB of white space, 250 KB deflated
            else:
                z.writestr(item, good.read(item))
    return out.getvalue()


def billion_laughs() -> bytes:
    lol = (
        b'<?xml version="1.0"?>\n<!-- '
        + b"padding " * 1000
        + b'-->\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
        )
        + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    good = zipfile.ZipFile(io.BytesIO(write_user_fiche_xlsx(valid_values("EAP-USR"))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in good.infolist():
            z.writestr(item, lol if item.filename == "xl/worksheets/sheet1.xml" else good.read(item))
    return out.getvalue()


def _acroform(**values: bytes) -> bytes:
    """A bare AcroForm of text fields with these (PDF-syntax) values, as a hostile sender would make it."""
    fields = [b"<< /FT /Tx /T (%s) /V %s >>" % (name.encode(), value) for name, value in values.items()]
    refs = b" ".join(b"%d 0 R" % (4 + i) for i in range(len(fields)))
    return _raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [" + refs + b"] >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        *fields,
    )


HOSTILE: dict[str, tuple[Callable[[], bytes], set[str]]] = {
    "user-password": (user_password, {"pdf-encrypted"}),
    "truncated": (truncated, {"pdf-corrupt"}),
    "corrupt": (corrupt, {"pdf-corrupt"}),
    "decompression-bomb": (decompression_bomb, {"parse-memory"}),
    "self-referencing-xobject": (self_referencing_xobject, {"hostile-structure"}),
    "nested-arrays": (nested_arrays, {"hostile-structure"}),
    "nested-dicts": (nested_dicts, {"hostile-structure"}),
    "100-MB": (hundred_megabytes, {"file-too-large"}),
    "not-a-pdf-named-pdf": (not_a_pdf, {"unsupported-type"}),
    "empty": (empty, {"file-empty"}),
    "xlsx-zip-bomb": (xlsx_zip_bomb, {"xlsx-bomb"}),
    "xlsx-billion-laughs": (billion_laughs, {"xlsx-bomb"}),
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxedParser]:
    with SandboxedParser(timeout=TIMEOUT, memory_mb=MEMORY_MB, max_bytes=MAX_BYTES) as parser:
        yield parser


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_is_a_coded_rejection(sandbox: SandboxedParser, name: str) -> None:
    make, codes = HOSTILE[name]
    data = make()
    start = time.monotonic()
    parsed = sandbox.parse(data, today=TODAY, filename=f"{name}.pdf")
    elapsed = time.monotonic() - start
    assert parsed.outcome is ParseOutcome.REJECTED, parsed
    assert parsed.errors[0].code in codes, parsed.errors
    assert elapsed < TIMEOUT + 5
    # the sandbox is still good for the next document
    after = sandbox.parse(_fillable(), today=TODAY)
    assert after.ok, after.errors


def test_a_huge_invalid_value_is_quoted_short_and_answered_in_time(sandbox: SandboxedParser) -> None:
    # 4 MiB of control characters in a choice: quoted whole, escaped, the worker's answer was over its
    # limit, and the worker, blocked writing it, was then waited on for ever
    start = time.monotonic()
    parsed = sandbox.parse(
        _acroform(form_id=b"(EAP-USR)", form_version=b"(2026.1)", action=b"<" + b"01" * (4 << 20) + b">"), today=TODAY
    )
    assert time.monotonic() - start < TIMEOUT
    (choice,) = [e for e in parsed.errors if e.field == "action"]
    # a control character is refused before the choice is looked up (issue 13.3)
    assert choice.code == "field-control-character"
    assert len(choice.message) < 500  # 80 characters of the value, escaped
    assert sandbox.parse(_fillable(), today=TODAY).ok


def test_timeout_kills_and_replaces_the_worker() -> None:
    flattened = render_form("EAP-USR", "nl", valid_values("EAP-USR"), flatten=True)
    with SandboxedParser(timeout=0.001, memory_mb=MEMORY_MB, max_bytes=MAX_BYTES) as parser:
        parsed = parser.parse(flattened, today=TODAY)
        assert parsed.errors[0].code == "parse-timeout"
        parser.timeout = TIMEOUT
        assert parser.parse(flattened, today=TODAY).ok
        assert parser.started == 2


def test_worker_is_persistent_and_restarted_after_a_crash() -> None:
    data = _fillable()
    with SandboxedParser(timeout=TIMEOUT, memory_mb=MEMORY_MB, max_bytes=MAX_BYTES) as parser:
        for _ in range(3):
            assert parser.parse(data, today=TODAY).ok
        assert parser.started == 1
        assert parser._proc is not None
        parser._proc.kill()
        parser._proc.wait()
        assert parser.parse(data, today=TODAY).ok
        assert parser.started == 2


def test_sandbox_result_matches_in_process() -> None:
    from extranet_intake.parsers import parse_document

    data = _fillable()
    with SandboxedParser(timeout=TIMEOUT, memory_mb=MEMORY_MB, max_bytes=MAX_BYTES) as parser:
        assert parser.parse(data, today=TODAY) == parse_document(data, today=TODAY)


def _two_forms() -> bytes:
    writer = PdfWriter()
    for form_id in ("EAP-USR", "EAP-USR"):
        writer.append(PdfReader(io.BytesIO(render_form(form_id, "fr", valid_values(form_id, "fr"), flatten=True))))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# the bomb kills the worker while it parses, after it answered the split: the costly case kept on purpose
@pytest.mark.parametrize("name", ["corrupt", "decompression-bomb", "100-MB", "not-a-pdf-named-pdf"])
def test_read_answers_what_split_then_parse_answer_in_one_round_trip(sandbox: SandboxedParser, name: str) -> None:
    data = HOSTILE[name][0]()
    split = sandbox.split(data)
    expected = split if isinstance(split, Issue) or split else sandbox.parse(data, today=TODAY, filename=f"{name}.pdf")
    got = sandbox.read(data, today=TODAY, filename=f"{name}.pdf")
    if isinstance(expected, ParsedForm):
        assert isinstance(got, ParsedForm)
        assert [e.code for e in got.errors] == [e.code for e in expected.errors]
        assert got.outcome is expected.outcome is ParseOutcome.REJECTED
    else:
        assert got == expected
    # the worker is in step for the next document: one form, then a stack of two
    form, stack = _fillable(), _two_forms()
    assert sandbox.read(form, today=TODAY) == sandbox.parse(form, today=TODAY)
    parts = sandbox.read(stack, today=TODAY)
    assert parts == sandbox.split(stack)
    assert isinstance(parts, list)
    assert [(p.pages, p.form_id) for p in parts] == [("1", "EAP-USR"), ("2", "EAP-USR")]


def test_read_times_out_like_parse_and_the_worker_is_replaced() -> None:
    flattened = render_form("EAP-USR", "nl", valid_values("EAP-USR"), flatten=True)
    with SandboxedParser(timeout=0.001, memory_mb=MEMORY_MB, max_bytes=MAX_BYTES) as parser:
        read = parser.read(flattened, today=TODAY)  # the split's answer is late already
        assert (read.code if isinstance(read, Issue) else read.errors[0].code) == "parse-timeout"  # type: ignore[union-attr]
        parser.timeout = TIMEOUT
        assert parser.read(flattened, today=TODAY) == parser.parse(flattened, today=TODAY)
        assert parser.started == 2


def test_a_worker_started_ahead_serves_documents_and_is_stopped_at_once_when_never_asked() -> None:
    data = _fillable()
    with SandboxedParser(timeout=TIMEOUT, memory_mb=MEMORY_MB, max_bytes=MAX_BYTES).start() as parser:
        assert parser.read(data, today=TODAY) == parser.parse(data, today=TODAY)
        assert parser.started == 1
    unused = SandboxedParser(timeout=TIMEOUT, memory_mb=MEMORY_MB, max_bytes=MAX_BYTES).start()
    proc = unused._proc
    assert proc is not None
    began = time.monotonic()
    unused.close()  # a run with no document: not left to finish loading the parsers' libraries
    assert time.monotonic() - began < 0.5
    assert proc.returncode is not None


def test_a_read_begun_ahead_answers_as_a_read_asked_at_once_and_one_request_is_in_flight_at_a_time(
    sandbox: SandboxedParser,
) -> None:
    form, stack, bomb = _fillable(), _two_forms(), HOSTILE["decompression-bomb"][0]()
    expected = [sandbox.read(d, today=TODAY) for d in (form, stack, bomb, form)]
    answers = []
    answer = sandbox.begin_read(form, today=TODAY)
    with pytest.raises(RuntimeError):
        sandbox.begin_parse(form, today=TODAY)  # its answer would be read as the first one's
    for data in (stack, bomb, form):
        answers.append(answer())  # the run takes the answer of n, sends n + 1, then applies n
        answer = sandbox.begin_read(data, today=TODAY)
    answers.append(answer())
    assert [a if isinstance(a, list) else a.errors for a in answers] == [  # type: ignore[union-attr]
        e if isinstance(e, list) else e.errors  # type: ignore[union-attr]
        for e in expected
    ]
    assert answers[0] == expected[0]
    assert answers[-1] == expected[-1]


def test_an_answer_left_untaken_dies_with_its_worker() -> None:
    form = _fillable()
    with SandboxedParser(timeout=TIMEOUT, memory_mb=MEMORY_MB, max_bytes=MAX_BYTES) as parser:
        stale = parser.begin_parse(form, today=TODAY)
        parser.close()  # the run ended early: the request in flight goes with the worker
        assert parser.parse(form, today=TODAY).ok  # a fresh worker, nothing in flight
        assert stale().errors[0].code == "hostile-structure"  # never somebody else's answer


def test_the_run_reads_ahead_in_order_and_a_document_whose_bytes_are_gone_costs_only_itself(tmp_path: Path) -> None:
    from extranet_intake.intake.pipeline import reads_ahead
    from extranet_intake.intake.store import DocumentStore
    from extranet_intake.intake.store_tables import Arrival, PendingDocument

    store = DocumentStore(tmp_path / "store")
    form, stack = _fillable(), _two_forms()
    shas = [store.put(form), "0" * 64, store.put(stack), store.put(form)]

    def pending(sha: str) -> PendingDocument:
        arrival = Arrival(
            sha256=sha, channel="post", source=f"drop:{sha[:8]}", filename="f.pdf", outcome="stored", received_at=NOW
        )
        return PendingDocument(sha256=sha, media_type="application/pdf", size=1, arrival=arrival, arrivals=1)

    with SandboxedParser(timeout=TIMEOUT, memory_mb=MEMORY_MB, max_bytes=MAX_BYTES) as parser:
        got = list(
            reads_ahead(parser, store, [pending(s) for s in shas], clock=lambda: datetime(2026, 11, 16, tzinfo=UTC))
        )
        assert [d.sha256 for d, _ in got] == shas
        first, missing, parts, last = (read for _, read in got)
        assert isinstance(first, ParsedForm)
        assert first.ok
        assert last == first
        assert isinstance(missing, IntakeError)
        assert missing.code == "document-missing"
        assert isinstance(parts, list)
        assert [p.form_id for p in parts] == ["EAP-USR", "EAP-USR"]
        assert parser.started == 1
