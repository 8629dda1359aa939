"""Originals as the desk shows them: PDF and scan pages as bounded PNG, XLSX as a table, a scan field's crop."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from extranet_intake.errors import ParseError
from extranet_intake.intake.originals import (
    MAX_SIDE_PX,
    OriginalKind,
    crop_png,
    doubtful_fields,
    original_kind,
    page_count,
    render_page_png,
    xlsx_table,
)


def _image(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG")
    return Image.open(io.BytesIO(png))


def test_pdf_page_renders_to_a_bounded_png(samples_dir: Path) -> None:
    data = (samples_dir / "documents" / "lejeune" / "agr-fr.pdf").read_bytes()
    assert original_kind(data) is OriginalKind.PDF
    assert page_count(data) >= 1
    img = _image(render_page_png(data, 0))
    assert max(img.size) <= MAX_SIDE_PX
    assert max(img.size) >= MAX_SIDE_PX - 2
    small = _image(render_page_png(data, 0, max_side=300))
    assert max(small.size) <= 300
    with pytest.raises(ParseError) as missing:
        render_page_png(data, 50)
    assert missing.value.code == "render-page-missing"


@pytest.mark.parametrize("name", ["scan-002-eap-agr-fr-clean.png", "scan-004-eap-mu-fr-clean.tif"])
def test_scan_image_renders_and_a_field_is_cropped_from_it(samples_dir: Path, name: str) -> None:
    data = (samples_dir / "scans" / name).read_bytes()
    assert original_kind(data) is OriginalKind.IMAGE
    assert max(_image(render_page_png(data, 0)).size) <= MAX_SIDE_PX
    form_id = "EAP-AGR" if "agr" in name else "EAP-MU"
    field = "org_enterprise_number"
    crop = crop_png(data, form_id, field)
    assert crop is not None
    img = _image(crop)
    # a strip around one writing box: far wider than tall, far smaller than the page
    assert img.width > 2 * img.height
    assert img.height < 300
    assert crop_png(data, form_id, "no_such_field") is None
    assert crop_png(b"not an image", form_id, field) is None


def test_xlsx_shows_as_a_table_of_values(samples_dir: Path) -> None:
    data = (samples_dir / "contracts.xlsx").read_bytes()
    assert original_kind(data) is OriginalKind.XLSX
    ((name, rows),) = xlsx_table(data)[:1]
    assert name
    assert len(rows) > 1
    assert all(isinstance(c, str) for c in rows[0])
    with pytest.raises(ParseError) as broken:
        xlsx_table(b"PK\x03\x04 not really")
    assert broken.value.code == "render-failed"
    with pytest.raises(ParseError):
        render_page_png(data, 0)


def test_doubtful_fields_are_the_ocr_warnings_fields() -> None:
    warnings = [
        {"code": "ocr-low-confidence", "field": "mu_email"},
        {"code": "ocr-unreadable-field", "field": "x"},
        {"code": "signed-date-old", "field": "signed_date"},
    ]
    assert doubtful_fields(warnings) == {"mu_email", "x"}


def test_an_acroform_pdf_renders_with_its_filled_values(samples_dir: Path) -> None:
    data = (samples_dir / "documents" / "lejeune" / "agr-fr.pdf").read_bytes()
    img = _image(render_page_png(data, 0, max_side=900)).convert("L")
    # inside the organisation-name box: the filled-in name (widget appearance), not an empty box
    box = img.crop((55, 150, 200, 162))
    dark = sum(1 for v in box.getdata() if v < 128)  # type: ignore[attr-defined]
    assert dark > 50
