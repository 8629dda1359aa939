"""Sniffing, classification, the flattened text layer and the XLSX fiche, through ``parse_document``."""

from __future__ import annotations

import io
import zipfile

import pytest
from reportlab.pdfgen.canvas import Canvas

from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers import parse_document
from extranet_intake.parsers.classify import DocType, classify_text, sniff
from extranet_intake.parsers.result import Method, ParseOutcome
from samplekit.xlsx_fiche import write_user_fiche_xlsx
from tests.fixtures.forms import TODAY, valid_values


def _text_pdf(*lines: str) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf)
    for i, line in enumerate(lines):
        c.drawString(50, 800 - 20 * i, line)
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n", DocType.PDF),
        (b"\xef\xbb\xbfjunk %PDF-1.4", DocType.PDF),
        (b"PK\x03\x04", DocType.XLSX),
        (b"\x89PNG\r\n\x1a\n", DocType.PNG),
        (b"\xff\xd8\xff\xe0", DocType.JPEG),
        (b"II*\x00", DocType.TIFF),
        (b"MM\x00*", DocType.TIFF),
        (b"", DocType.EMPTY),
        (b"  \n", DocType.EMPTY),
        (b"GIF89a", DocType.UNKNOWN),
    ],
)
def test_sniff(data: bytes, kind: DocType) -> None:
    assert sniff(data) is kind


def test_classify_text() -> None:
    cls = classify_text(["Fiche utilisateur Extranet Pension complémentaire", "EAP-USR v2026.1 Ethias SA"])
    assert (cls.form_id, cls.version, cls.language) == ("EAP-USR", "2026.1", "fr")
    assert classify_text(["Master User fiche ... EAP-MU v2026.1"]).language == "nl"
    assert classify_text(["Fiche Master User EAP-MU v2026.1"]).language == "fr"
    assert classify_text(["ECON-USR v2026.1"]).rejection.code == "other-platform"  # type: ignore[union-attr]
    assert classify_text(["EAP-USR v2024.2"]).rejection.code == "unsupported-version"  # type: ignore[union-attr]
    assert classify_text(["an invoice"]).rejection.code == "not-a-form"  # type: ignore[union-attr]


def test_classify_text_is_not_misled_by_a_value_typed_in_a_box() -> None:
    # found by the round-trip property: a box holding the other language's title (or another form's
    # footer) sits between the printed title at the top and the printed footer at the bottom
    page = "Fiche Master User  Fonction: MASTER USER FICHE  Nom: EAP-USR v2026.1  EAP-MU v2026.1 Ethias SA"
    cls = classify_text([page])
    assert (cls.form_id, cls.language) == ("EAP-MU", "fr")
    assert classify_text(["Master User fiche  Functie: Fiche Master User  EAP-MU v2026.1"]).language == "nl"


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        (("Formulaire utilisateur Ethias Connect", "ECON-USR v2026.1"), "other-platform"),
        (("Gebruikersfiche Extranet Wettelijk Pensioen", "EWP-USR v2025.1"), "other-platform"),
        (("Gebruikersfiche Extranet Aanvullend Pensioen", "EAP-USR v2025.1"), "unsupported-version"),
        (("Factuur 2026-0042", "Totaal 1.234,00 EUR"), "not-a-form"),
    ],
)
def test_printed_documents_that_are_not_ours_are_rejected(lines: tuple[str, ...], code: str) -> None:
    parsed = parse_document(_text_pdf(*lines), today=TODAY)
    assert parsed.outcome is ParseOutcome.REJECTED
    assert parsed.errors[0].code == code


@pytest.mark.parametrize("lang", ["nl", "fr"])
@pytest.mark.parametrize("form_id", ["EAP-AGR", "EAP-MU", "EAP-USR"])
def test_flattened_forms_are_read_by_position(form_id: str, lang: str) -> None:
    values = valid_values(form_id, lang)
    parsed = parse_document(render_form(form_id, lang, values, flatten=True, signed=True), today=TODAY)
    assert (parsed.form_id, parsed.language, parsed.method) == (form_id, lang, Method.TEXT)
    assert parsed.ok, parsed.errors
    assert parsed.fields["org_enterprise_number"] == "0644695949"


def test_flattened_choice_ticked_and_unticked() -> None:
    one = render_form("EAP-USR", "nl", valid_values("EAP-USR", "nl", profile="consult"), flatten=True)
    parsed = parse_document(one, today=TODAY)
    assert parsed.fields["profile"] == "consult"
    blank = render_form("EAP-USR", "nl", valid_values("EAP-USR", "nl", profile=None), flatten=True)
    assert [e.code for e in parse_document(blank, today=TODAY).errors] == ["field-required"]


def test_flattened_unticked_terms() -> None:
    pdf = render_form("EAP-AGR", "fr", valid_values("EAP-AGR", "fr", accept_terms=False), flatten=True)
    parsed = parse_document(pdf, today=TODAY)
    assert parsed.fields["accept_terms"] is False
    assert [e.code for e in parsed.errors] == ["terms-not-accepted"]


def test_xlsx_fiche_reads_typed_cells() -> None:
    from openpyxl import load_workbook

    data = write_user_fiche_xlsx(valid_values("EAP-USR", "fr"), lang="fr")
    wb = load_workbook(io.BytesIO(data))
    ws = wb.active
    assert ws is not None
    rows = {r[0].value: r[1] for r in ws.iter_rows(min_row=2)}
    # what a person does in Excel: a real date, a number that lost its leading zero, a label for a choice
    from datetime import date

    rows["signed_date"].value = date(2026, 6, 1)
    rows["org_enterprise_number"].value = 644695949
    rows["profile"].value = "Consultation et encodage"
    out = io.BytesIO()
    wb.save(out)
    parsed = parse_document(out.getvalue(), today=TODAY)
    assert parsed.ok, parsed.errors
    assert parsed.method is Method.XLSX
    assert parsed.fields["signed_date"] == "2026-06-01"
    assert parsed.fields["org_enterprise_number"] == "0644695949"
    assert parsed.fields["profile"] == "consult_input"


def test_xlsx_without_form_id_or_not_a_workbook() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["org_name", "Acme"])
    out = io.BytesIO()
    wb.save(out)
    assert parse_document(out.getvalue(), today=TODAY).errors[0].code == "not-a-form"
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("readme.txt", "hello")
    assert parse_document(plain.getvalue(), today=TODAY).errors[0].code == "unsupported-type"
    assert parse_document(b"PK\x03\x04broken", today=TODAY).errors[0].code == "xlsx-corrupt"


def test_image_only_pdf_goes_to_ocr() -> None:
    buf = io.BytesIO()
    c = Canvas(buf)
    c.rect(100, 100, 200, 200, fill=1)
    c.save()
    parsed = parse_document(buf.getvalue(), today=TODAY)
    # no text layer at all: not judged by text, handed to the OCR reader (which finds no form frame)
    assert parsed.outcome is ParseOutcome.REJECTED
    assert parsed.errors[0].code in {"not-a-form", "ocr-failed"}
    assert "no form footer" not in parsed.errors[0].message


def test_sha256_is_set() -> None:
    data = render_form("EAP-MU", "nl", valid_values("EAP-MU", "nl"))
    import hashlib

    assert parse_document(data, today=TODAY).sha256 == hashlib.sha256(data).hexdigest()


def test_flattened_with_two_options_ticked_is_a_choice_error() -> None:
    from pypdf import PdfReader, PdfWriter

    from extranet_intake.parsers.forms import FormId, Lang, layout

    pdf = render_form("EAP-USR", "nl", valid_values("EAP-USR", "nl", profile="consult"), flatten=True)
    tick = next(p for p in layout(FormId.USR, Lang.NL)[0] if p.field.name == "profile").ticks["consult_input"]
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(595.276, 841.89))
    c.setFont("Helvetica-Bold", 10)
    c.drawCentredString((tick.x0 + tick.x1) / 2, tick.y0 + 1.5, "X")  # a second cross, added by hand
    c.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.pages[0].merge_page(PdfReader(io.BytesIO(buf.getvalue())).pages[0])
    out = io.BytesIO()
    writer.write(out)
    parsed = parse_document(out.getvalue(), today=TODAY)
    assert [(e.code, e.field) for e in parsed.errors] == [("choice-invalid", "profile")]
