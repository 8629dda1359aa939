"""Scan geometry without tesseract: skew and frame found, boxes landing on the print, tick ink, classification rules."""

from __future__ import annotations

import io
import math

import numpy as np
import pypdfium2
import pytest
from PIL import Image

from extranet_intake.errors import ParseError
from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers.forms import FieldKind, FormId, Lang, layout
from extranet_intake.parsers.ocr import _classify, _form_by_geometry, _Reading, _text_field
from extranet_intake.parsers.ocr_image import (
    SCALE,
    align_page,
    box_px,
    find_frame,
    ink_ratio,
    load_pages,
    normalise,
    refine_box,
)
from extranet_intake.parsers.ocr_tess import Word, ZoneText, _split

VALUES = {
    "org_name": "Garage Peeters BV",
    "org_enterprise_number": "0644.695.949",
    "action": "modify",
    "login": "eap12345",
    "user_last_name": "Dupont",
    "user_first_name": "Éloïse",
    "user_language": "fr",
    "user_type": "internal",
    "profile": "consult",
    "scope": "all",
    "mu_name": "Jan Peeters",
    "signed_date": "03/11/2026",
}


@pytest.fixture(scope="module")
def page() -> Image.Image:
    pdf = render_form(FormId.USR, Lang.FR, VALUES, flatten=True, signed=True)
    doc = pypdfium2.PdfDocument(pdf)
    try:
        img: Image.Image = doc[0].render(scale=200 / 72, grayscale=True).to_pil().convert("L")
    finally:
        doc.close()
    return img


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("angle", [-2.8, -0.7, 0.0, 1.3, 3.0])
def test_skew_is_measured_and_the_boxes_land_on_the_print(page: Image.Image, angle: float) -> None:
    scan = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255, translate=(9, -7))
    gray = load_pages(_png(scan), max_pages=1)[0]
    frame = find_frame(normalise(gray))
    assert frame is not None
    # PIL turns counter-clockwise for a positive angle: the measured skew is its opposite
    assert math.degrees(frame.angle) == pytest.approx(-angle, abs=0.1)
    canon = align_page(normalise(gray), frame)
    placed, _ = layout(FormId.USR, Lang.FR)
    org = next(p for p in placed if p.field.name == "org_name")
    found = refine_box(canon, org.box)
    expected = box_px(org.box)
    # the border re-found within a point of where the layout says
    assert all(abs(a - b) <= SCALE * 1.2 for a, b in zip(found, expected, strict=True))
    assert _form_by_geometry(canon) is FormId.USR


def test_a_page_without_the_form_frame_has_no_frame() -> None:
    blank = Image.new("L", (1654, 2339), 255)
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 255, (400, 400), dtype=np.uint8))
    blank.paste(noise, (600, 900))
    assert find_frame(normalise(load_pages(_png(blank), max_pages=1)[0])) is None


def test_tick_ink_separates_ticked_from_empty(page: Image.Image) -> None:
    frame = find_frame(normalise(np.asarray(page)))
    assert frame is not None
    canon = align_page(normalise(np.asarray(page)), frame)
    placed, _ = layout(FormId.USR, Lang.FR)
    action = next(p for p in placed if p.field.name == "action")
    inks = {}
    for value, box in action.ticks.items():
        left, top, right, bottom = refine_box(canon, box, search_pt=2.5)
        pad = round(1.8 * SCALE)
        inks[value] = ink_ratio(canon, (left + pad, top + pad, right - pad, bottom - pad))
    assert inks["modify"] > 0.1
    assert inks["new"] < 0.03
    assert inks["revoke"] < 0.03


def _zone(text: str, conf: float = 96.0) -> ZoneText:
    return ZoneText(tuple(Word(w, conf, i * 10) for i, w in enumerate(text.split())))


def test_title_decides_when_the_footer_is_a_doubtful_read() -> None:
    # "v2026.4" is a misread of v2026.1 at low confidence: the title says which form it is
    fid, lang = _classify(_zone("Fiche Master User"), _zone("EAP-MU v2026.4", 61.0), FormId.USR)
    assert (fid, lang) == (FormId.MU, Lang.FR)


def test_a_clearly_printed_other_platform_is_refused() -> None:
    with pytest.raises(ParseError) as exc:
        _classify(_zone("Ethias Connect aanvraag"), _zone("ECON-USR v2025.2", 97.0), FormId.USR)
    assert exc.value.code == "other-platform"


def test_no_title_and_no_footer_is_not_a_form() -> None:
    with pytest.raises(ParseError) as exc:
        _classify(_zone("Factuur 2026-118"), _zone("blz 1"), FormId.USR)
    assert exc.value.code == "not-a-form"


def test_models_that_disagree_leave_the_field_under_the_threshold() -> None:
    reading = _Reading()
    _text_field(reading, FieldKind.TEXT, "user_first_name", 0.05, [_zone("François", 95.0), _zone("Frangois", 96.0)])
    assert reading.raw["user_first_name"] == "Frangois"
    assert reading.confidence["user_first_name"] < 0.9


def test_border_strokes_read_as_pipes_are_not_part_of_the_value() -> None:
    reading = _Reading()

    _text_field(reading, FieldKind.TEXT, "org_name", 0.05, [_zone("| Garage Peeters BV |"), _zone("Garage Peeters BV")])
    assert reading.raw["org_name"] == "Garage Peeters BV"
    assert reading.confidence["org_name"] >= 0.9


def test_ink_that_reads_as_nothing_is_unreadable_not_empty() -> None:

    reading = _Reading()
    _text_field(reading, FieldKind.EMAIL, "user_email", 0.05, [ZoneText(()), ZoneText(())])
    assert reading.raw["user_email"] is None
    assert reading.unreadable == ["user_email"]


HOCR = """<span class='ocr_line' id='line_1_1' title="bbox 2 12 219 39">
<span class='ocrx_word' id='word_1_1' title='bbox 24 30 120 62; x_wconf 95'>Benoit
<span class='ocrx_cinfo' id='lstm_choices_1_1_1'>
<span class='ocrx_cinfo' id='choice_1_1_1' title='x_confs 94.4'>i</span>
<span class='ocrx_cinfo' id='choice_1_1_2' title='x_confs 13.5'>ï</span></span>
</span>
<span class='ocrx_word' id='word_1_2' title='bbox 130 31 220 61; x_wconf 91'>D&#39;Hondt
<span class='ocrx_cinfo' id='lstm_choices_1_2_1'>
<span class='ocrx_cinfo' id='choice_1_2_1' title='x_confs 99.0'>D</span>
<span class='ocrx_cinfo' id='choice_1_2_2' title='x_confs 0'>O</span></span>
</span>
<span class='ocrx_word' id='word_2_1' title='bbox 24 130 90 160; x_wconf 88'>2026</span>
"""


def test_hocr_words_go_to_their_zone_with_their_doubt() -> None:
    zones = _split(HOCR, [(0, 100), (100, 200)])
    assert zones[0].text == "Benoit D'Hondt"
    assert zones[0].min_conf == pytest.approx(0.91)
    assert zones[0].doubt == pytest.approx(0.135)
    assert zones[1].text == "2026"
    assert zones[1].doubt == 0.0
