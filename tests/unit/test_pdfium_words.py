"""The PDFium word reader gives pdfplumber's words, boxes and order, and the parse results do not change.

Every sample PDF (the documents, the drop folder, the scans, the stacks and the PDFs the sample mails
carry), every flattened form in both languages, and random flattened forms: the same words in the same
order with the same boxes (to PDFium's single-precision noise), the same text layer, the same parse.
"""

from __future__ import annotations

import email
import email.policy
import io
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers import textlayer
from extranet_intake.parsers.document import parse_document
from extranet_intake.parsers.forms import FormId, Lang
from extranet_intake.parsers.pdfium_words import Word, pdfium_reader
from extranet_intake.parsers.result import Method
from extranet_intake.parsers.textlayer import pdfplumber_words, read_text_layer
from tests.fixtures.forms import TODAY, field_sets, valid_values

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
#: PDFium computes in single precision; pdfminer in double, from the file's decimals
_TOLERANCE = 1e-3


def _sample_pdfs() -> dict[str, bytes]:
    found = {str(p.relative_to(SAMPLES)): p.read_bytes() for p in sorted(SAMPLES.rglob("*.pdf"))}
    for eml in sorted(SAMPLES.glob("mail/*.eml")):
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        for n, part in enumerate(msg.walk()):
            payload = part.get_payload(decode=True) if not part.is_multipart() else None
            if isinstance(payload, bytes) and payload.startswith(b"%PDF-"):
                found[f"{eml.relative_to(SAMPLES)}#{n}"] = payload
    return found


SAMPLE_PDFS = _sample_pdfs()
FLAT_FORMS = {
    f"{form_id}-{lang}": render_form(form_id, lang, valid_values(form_id, lang), flatten=True, signed=True)
    for form_id in FormId
    for lang in Lang
}


def _assert_same_words(want: list[Word], got: list[Word] | None, where: str) -> None:
    assert got is not None, f"{where}: PDFium refused a page of plain geometry"
    assert [w.text for w in got] == [w.text for w in want], where
    for a, b in zip(want, got, strict=True):
        assert max(abs(a.x0 - b.x0), abs(a.x1 - b.x1), abs(a.y0 - b.y0), abs(a.y1 - b.y1)) < _TOLERANCE, (where, a, b)


def _assert_readers_agree(data: bytes, where: str) -> int:
    reference = pdfplumber_words(data)
    with pdfium_reader(data) as reader:
        assert reader is not None, where
        assert reader.page_count == len(reference), where
        for i, want in enumerate(reference):
            _assert_same_words(want, reader.words(i), f"{where} page {i + 1}")
    return sum(len(p) for p in reference)


def test_the_samples_hold_flattened_forms_and_mail_attachments() -> None:
    # the comparisons below would pass vacuously over files without text
    assert sum(1 for name in SAMPLE_PDFS if "#" in name) >= 10
    assert sum(1 for name in SAMPLE_PDFS if "flattened" in name) >= 3


@pytest.mark.parametrize("name", sorted(SAMPLE_PDFS))
def test_same_words_on_every_sample_pdf(name: str) -> None:
    _assert_readers_agree(SAMPLE_PDFS[name], name)


@pytest.mark.parametrize("name", sorted(FLAT_FORMS))
def test_same_words_on_every_flattened_form(name: str) -> None:
    assert _assert_readers_agree(FLAT_FORMS[name], name) > 50


@pytest.mark.parametrize("name", sorted(SAMPLE_PDFS) + sorted(FLAT_FORMS))
def test_same_text_layer_and_parse_as_pdfplumber_alone(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = SAMPLE_PDFS.get(name) or FLAT_FORMS[name]
    fast = read_text_layer(data)
    parsed = parse_document(data, today=TODAY)
    monkeypatch.setattr(textlayer, "_read_with_pdfium", lambda _data: None)
    assert fast == read_text_layer(data)
    assert parsed == parse_document(data, today=TODAY)


def test_the_sample_parse_uses_pdfium_for_the_flattened_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    # the hot path is PDFium's: pdfplumber is never opened for a flattened form with text
    calls: list[bytes] = []
    real = textlayer._read_with_pdfplumber

    def spy(data: bytes) -> Any:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(textlayer, "_read_with_pdfplumber", spy)
    for name, data in FLAT_FORMS.items():
        assert parse_document(data, today=TODAY).method is Method.TEXT, name
    assert calls == []
    # a scan has no text for PDFium: pdfplumber decides that it has none (and OCR reads it)
    read_text_layer(SAMPLE_PDFS["scans/scan-001-eap-agr-nl-clean.pdf"])
    assert len(calls) == 1


def test_a_turned_page_is_left_to_pdfplumber() -> None:
    reader = PdfReader(io.BytesIO(FLAT_FORMS["EAP-USR-fr"]))
    writer = PdfWriter()
    writer.append(reader)
    writer.pages[0].rotate(90)
    out = io.BytesIO()
    writer.write(out)
    with pdfium_reader(out.getvalue()) as pdf:
        assert pdf is not None
        assert pdf.words(0) is None
    layer = read_text_layer(out.getvalue())
    assert layer.has_text
    assert str(layer.classification.form_id) == "EAP-USR"


def test_a_file_pdfium_cannot_open_is_read_by_pdfplumber() -> None:
    with pdfium_reader(b"%PDF-1.7\nnot a pdf at all") as pdf:
        assert pdf is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # PDFium's Helvetica puts the character after « and » elsewhere than Adobe's widths (pdfminer's) do
        ("signed_place", "«Liège» 0"),
        # a hyphen ending a line: PDFium reads it as its hyphen mark U+0002 (found by the round-trip property)
        ("signatory_name", "A-"),
    ],
)
def test_a_page_pdfium_reads_otherwise_is_left_to_pdfplumber(field: str, value: str) -> None:
    values = valid_values(FormId.AGR, Lang.FR) | {field: value}
    data = render_form(FormId.AGR, Lang.FR, values, flatten=True, signed=True)
    with pdfium_reader(data) as pdf:
        assert pdf is not None
        assert pdf.words(0) is None
    layer = read_text_layer(data)
    assert layer.raw[field] == value
    assert layer == textlayer._read_with_pdfplumber(data)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), form_id=st.sampled_from(list(FormId)), lang=st.sampled_from(list(Lang)))
def test_same_words_on_random_flattened_forms(data: st.DataObject, form_id: FormId, lang: Lang) -> None:
    values = data.draw(field_sets(form_id))
    pdf = render_form(form_id, lang, values, flatten=True, signed=True)
    reference = pdfplumber_words(pdf)
    with pdfium_reader(pdf) as reader:
        assert reader is not None
        for i, want in enumerate(reference):
            got = reader.words(i)
            if got is not None:  # a refused page is pdfplumber's: the text layer below is the same either way
                _assert_same_words(want, got, f"{form_id}-{lang} page {i + 1}")
    assert read_text_layer(pdf) == textlayer._read_with_pdfplumber(pdf)


@pytest.mark.parametrize("name", sorted(SAMPLE_PDFS) + sorted(FLAT_FORMS))
def test_same_page_text_as_pdfplumber_for_the_stack_splitter(name: str) -> None:
    # parsers.stack finds each page's footer in this text
    data = SAMPLE_PDFS.get(name) or FLAT_FORMS[name]
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        want = [p.extract_text() or "" for p in pdf.pages]
    with pdfium_reader(data) as reader:
        assert reader is not None
        assert [reader.text(i) for i in range(reader.page_count)] == want
