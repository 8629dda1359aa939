"""Reading generated scans with the real tesseract: values, hand-writing to review, coded failures, parse_document."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from extranet_intake.parsers import parse_document
from extranet_intake.parsers.forms import FormId, Lang
from extranet_intake.parsers.ocr import read_scan
from extranet_intake.parsers.result import Method, OcrSettings, ParseOutcome
from extranet_intake.parsers.sandbox import SandboxedParser
from samplekit.scans import REFERENCE_DATE, ScanFormat, ScanSpec, Variant, make_scan

TODAY = REFERENCE_DATE


def _spec(
    form_id: FormId, lang: Lang, variant: Variant, fmt: ScanFormat, *, seed: int, angle: float = 1.7, dpi: int = 240
) -> ScanSpec:
    return ScanSpec(f"t-{seed}", form_id, lang, variant, fmt, dpi, angle, seed)


def _ocr_flagged(result: object) -> set[str | None]:
    return {w.field for w in getattr(result, "warnings", ()) if w.code.startswith("ocr-")}


def test_a_clean_user_fiche_pdf_scan_reads_every_value() -> None:
    data, entry = make_scan(_spec(FormId.USR, Lang.FR, Variant.CLEAN, ScanFormat.PDF, seed=11, angle=-2.2), today=TODAY)
    result = read_scan(data, today=TODAY, page_timeout=20)
    assert result.method is Method.OCR
    assert (result.form_id, result.language) == ("EAP-USR", "fr")
    assert set(result.confidence) >= {"org_name", "action", "signature"}
    # every value either right or sent to a person: never a wrong value unflagged
    flagged = _ocr_flagged(result)
    for name, want in entry["fields"].items():
        if result.fields.get(name) != want:
            assert name in flagged or (name == "contracts" and any(f and f.startswith("contract") for f in flagged))
    wrong = [n for n, v in entry["fields"].items() if result.fields.get(n) != v]
    assert len(wrong) <= 1


def test_a_photocopied_agreement_tiff_is_classified_with_tick_boxes_right() -> None:
    data, entry = make_scan(
        _spec(FormId.AGR, Lang.NL, Variant.PHOTOCOPY, ScanFormat.TIFF, seed=23, dpi=200), today=TODAY
    )
    result = read_scan(data, today=TODAY, page_timeout=20)
    assert (result.form_id, result.language) == ("EAP-AGR", "nl")
    for name in ("correspondence_language", "accept_terms", "signature"):
        assert result.fields.get(name) == entry["fields"].get(name)


def test_a_hand_written_field_goes_to_review_never_as_a_trusted_value() -> None:
    data, entry = make_scan(_spec(FormId.MU, Lang.NL, Variant.HANDWRITTEN, ScanFormat.PNG, seed=5), today=TODAY)
    hand = entry["handwritten"][0]
    result = read_scan(data, today=TODAY, page_timeout=20)
    assert result.form_id == "EAP-MU"
    assert hand in _ocr_flagged(result)
    assert result.confidence[hand] < 0.9


def test_parse_document_reads_an_image_only_pdf_and_a_jpeg_by_ocr() -> None:
    data, _ = make_scan(_spec(FormId.MU, Lang.FR, Variant.NOISY, ScanFormat.JPEG, seed=31), today=TODAY)
    result = parse_document(data, today=TODAY, filename="scan.jpg")
    assert result.method is Method.OCR
    assert result.form_id == "EAP-MU"


def test_a_page_out_of_time_is_a_coded_rejection() -> None:
    data, _ = make_scan(_spec(FormId.AGR, Lang.FR, Variant.CLEAN, ScanFormat.PNG, seed=7), today=TODAY)
    result = read_scan(data, today=TODAY, page_timeout=0.05)
    assert result.outcome is ParseOutcome.REJECTED
    assert result.errors[0].code == "ocr-page-timeout"


def test_a_photo_that_is_no_form_and_a_broken_image_are_coded() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 1600), (120, 160, 90)).save(buf, format="JPEG")
    assert read_scan(buf.getvalue(), today=date(2026, 11, 20), page_timeout=20).errors[0].code == "not-a-form"
    broken = read_scan(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, today=date(2026, 11, 20), page_timeout=20)
    assert broken.rejected
    assert broken.errors[0].code == "ocr-failed"


@pytest.mark.parametrize("fmt", [ScanFormat.TIFF, ScanFormat.PDF])
def test_scan_generation_is_deterministic(fmt: ScanFormat) -> None:
    spec = _spec(FormId.USR, Lang.NL, Variant.NOISY, fmt, seed=99)
    assert make_scan(spec, today=TODAY)[0] == make_scan(spec, today=TODAY)[0]


def test_the_configured_confidence_threshold_reaches_the_reader_in_the_sandbox() -> None:
    data, entry = make_scan(_spec(FormId.MU, Lang.NL, Variant.CLEAN, ScanFormat.PNG, seed=31), today=TODAY)
    strict = OcrSettings(page_timeout=20, min_confidence=1.01)  # no reading can be that sure
    with SandboxedParser(timeout=60, memory_mb=1024, max_bytes=20 * 1024 * 1024, ocr=strict) as parser:
        result = parser.parse(data, today=TODAY)
    typed = {n for n, v in entry["fields"].items() if isinstance(v, str) and v}
    assert typed
    assert typed <= _ocr_flagged(result)
