"""Reading scanned forms (image-only PDFs, PNG/JPEG/TIFF): alignment, zone OCR, tick boxes, per-field confidence.

A scan is never applied with a guessed value: every field gets a confidence (calibrated per field
kind by :mod:`parsers.ocr_confidence`: values that prove themselves are trusted), and any field under
``OCR_MIN_CONFIDENCE`` — or with ink that reads as nothing, or that looks hand-written — puts an
``ocr-low-confidence`` / ``ocr-unreadable-field`` warning on the form, which sends it to the
review queue with the OCR values prefilled. A page that cannot be read in time is a coded
rejection (``ocr-page-timeout``), as is a page that cannot be read at all (``ocr-failed``).
"""

from __future__ import annotations

import difflib
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from pdfminer.fontmetrics import FONT_METRICS
from PIL import Image, ImageFilter

from extranet_intake.errors import ParseError
from extranet_intake.parsers.classify import classify_text
from extranet_intake.parsers.forms import (
    FOOTER_RE,
    FORMS,
    MARGIN,
    PAGE_SIZE,
    Box,
    FieldKind,
    FormId,
    Lang,
    PlacedField,
    layout,
)
from extranet_intake.parsers.ocr_confidence import PLAUSIBLE, calibrate
from extranet_intake.parsers.ocr_image import (
    INK,
    SCALE,
    Frame,
    Gray,
    align_page,
    correct_horizontal,
    find_frame,
    ink_ratio,
    load_pages,
    normalise,
    refine_box,
)
from extranet_intake.parsers.ocr_tess import ZoneText, read_zones
from extranet_intake.parsers.result import Issue, Method, ParsedForm
from extranet_intake.parsers.validate import RawValue, validate

__all__ = ["OCR_MIN_CONFIDENCE", "read_scan"]

#: ParsingConfig.ocr_min_confidence's default (parsers do not import the application's config)
OCR_MIN_CONFIDENCE = 0.90
MAX_PAGES = 4
#: two tesseract models read every zone; they err differently (nld reads ç as g, fra reads ij as ff),
#: so a value both agree on is trusted and a disagreement goes to a person
MODELS: tuple[str, ...] = ("fra", "nld")
#: ink share inside a writing box under which it is empty / over which it surely holds writing
EMPTY_INK, WRITTEN_INK = 0.0015, 0.006
#: ink share inside a tick box (border excluded) for a tick / for surely no tick
TICK_ON, TICK_OFF = 0.10, 0.03
SIGNED_INK = 0.004
#: a runner-up letter this likely (tesseract's choice confidence / 100) makes a reading doubtful
LETTER_DOUBT = 0.05
#: after contrast stretch, lighter than this is paper (grain, JPEG ringing)
PAPER = 185

_PLAUSIBLE = PLAUSIBLE


@dataclass
class _Reading:
    raw: dict[str, RawValue] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    handwritten: list[str] = field(default_factory=list)
    #: the text as read, before the kind's clean-up (spaces of "0644 695 949" kept): what was printed
    printed: dict[str, str] = field(default_factory=dict)
    #: what each model read (cleaned), its weakest word's confidence, and each word with its doubt:
    #: the evidence :mod:`parsers.ocr_confidence` weighs once every field of the form is read
    texts: dict[str, list[str]] = field(default_factory=dict)
    confs: dict[str, list[float]] = field(default_factory=dict)
    words: dict[str, list[list[tuple[str, float]]]] = field(default_factory=dict)


def read_scan(
    data: bytes,
    *,
    today: date,
    page_timeout: float,
    min_confidence: float = OCR_MIN_CONFIDENCE,
    clock: Callable[[], float] = time.monotonic,
) -> ParsedForm:
    """Read a scanned form; method ``ocr``. Never raises for a bad scan: that is a coded rejection."""
    try:
        return _read(data, today=today, page_timeout=page_timeout, min_confidence=min_confidence, clock=clock)
    except ParseError as exc:
        return ParsedForm.reject(exc.code, exc.message, method=Method.OCR)
    except (ValueError, IndexError, ArithmeticError) as exc:
        # an image no scanner makes (degenerate sizes, odd modes) must not stop the run: one form fails
        return ParsedForm.reject(
            "ocr-failed", f"the scan cannot be read: {type(exc).__name__}: {exc}", method=Method.OCR
        )


def _read(
    data: bytes, *, today: date, page_timeout: float, min_confidence: float, clock: Callable[[], float]
) -> ParsedForm:
    started = clock()
    pages = load_pages(data, max_pages=MAX_PAGES)
    if not pages:
        raise ParseError("ocr-failed", "the scan holds no page")
    # all three forms are one page: the first page that carries the form's frame is the form
    canon: Gray | None = None
    frame: Frame | None = None
    norm = pages[0]
    for page in pages:
        norm = normalise(page)
        frame = find_frame(norm)
        if frame is not None:
            canon = align_page(norm, frame)
            break
        if clock() - started > page_timeout:
            raise ParseError("ocr-page-timeout", f"finding the form on the page took longer than {page_timeout:g} s")
    if canon is None or frame is None:
        raise ParseError("not-a-form", "no page of the scan carries the form's frame (header band and footer rule)")
    guess = _form_by_geometry(canon)
    fixed = correct_horizontal(canon, frame, [p.box for p in _text_fields(guess)])
    if fixed != frame:
        canon = align_page(norm, fixed)
    form_id, lang, zones = _ocr_page(canon, guess, deadline=started + page_timeout, clock=clock)
    if form_id is not guess:
        # the printed footer/title outranks the geometry: read the zones of the form it names
        form_id, lang, zones = _ocr_page(canon, form_id, deadline=clock() + page_timeout, clock=clock)
    reading = _interpret(canon, form_id, zones)
    calibrate(form_id, reading)
    return _result(form_id, lang, reading, today=today, min_confidence=min_confidence)


# --------------------------------------------------------------------------- classification


def _border_strength(page: Gray, box: Box) -> float:
    left, top = round(box.x0 * SCALE), round((PAGE_SIZE[1] - box.y1) * SCALE)
    right, bottom = round(box.x1 * SCALE), round((PAGE_SIZE[1] - box.y0) * SCALE)
    if right - left < 8:
        return 0.0
    band = 3
    dark = page < 180
    tops = dark[max(0, top - band) : top + band + 1, left + 4 : right - 4].mean(axis=1).max()
    bots = dark[max(0, bottom - band) : bottom + band + 1, left + 4 : right - 4].mean(axis=1).max()
    return float(min(tops, bots))


def _form_by_geometry(page: Gray) -> FormId:
    """Which form's boxes are printed where: the three layouts differ (the signature box above all)."""
    scores: dict[FormId, float] = {}
    for fid in FormId:
        placed, _ = layout(fid, Lang.NL)
        boxes = [p.box for p in placed if p.field.kind not in (FieldKind.CHOICE, FieldKind.CHECKBOX)]
        scores[fid] = float(np.mean([_border_strength(page, b) for b in boxes]))
    return max(scores, key=lambda f: scores[f])


_TITLE_BOX = Box(MARGIN - 2, PAGE_SIZE[1] - MARGIN - 35, PAGE_SIZE[0] - MARGIN, PAGE_SIZE[1] - MARGIN - 13)
_FOOTER_BOX = Box(MARGIN - 2, MARGIN - 13, MARGIN + 75, MARGIN - 4)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold().split())


def _classify(title: ZoneText, footer: ZoneText, fallback: FormId) -> tuple[FormId, Lang]:
    best: tuple[float, FormId, Lang] = (0.0, fallback, Lang.NL)
    for fid, form in FORMS.items():
        for lg in Lang:
            ratio = difflib.SequenceMatcher(None, _fold(title.text), _fold(form.title(lg))).ratio()
            if ratio > best[0]:
                best = (ratio, fid, lg)
    ratio, title_form, title_lang = best
    cls = classify_text([footer.text, title.text])
    if cls.rejection is not None and cls.rejection.code != "not-a-form":
        # another platform or version, as printed — unless the footer is a doubtful read of one of
        # ours (a 1 read as 4 must not refuse a good form; the title settles it)
        if footer.min_conf >= 0.9 or ratio < 0.75:
            raise ParseError(cls.rejection.code, cls.rejection.message)
        return title_form, title_lang
    if cls.form_id is not None:
        lang = cls.language or title_lang
        return cls.form_id, lang
    if ratio >= 0.75:
        return title_form, title_lang
    if FOOTER_RE.search(footer.text) is None:
        raise ParseError(
            "not-a-form", "neither the footer (e.g. 'EAP-USR v2026.1') nor a form title can be read on the scan"
        )
    return fallback, title_lang


def _inner(rect: tuple[int, int, int, int], pad_pt: float) -> tuple[int, int, int, int]:
    pad = round(pad_pt * SCALE)
    left, top, right, bottom = rect
    return left + pad, top + pad, right - pad, bottom - pad


def _crop(page: Gray, rect: tuple[int, int, int, int]) -> Gray:
    left, top, right, bottom = rect
    return page[max(0, top) : bottom, max(0, left) : right]


def _denoise(crop: Gray) -> Gray:
    """Speckle and grain out, paper to pure white: tesseract reads noise as letters at a line's end."""
    img = Image.fromarray(crop).filter(ImageFilter.MedianFilter(3))
    arr = np.where(np.asarray(img, dtype=np.uint8) > PAPER, 255, np.asarray(img, dtype=np.uint8)).astype(np.uint8)
    # what is left of the box's border at either end is a tall thin line; no letter fills the height
    # (a letter's stem is at most half the crop's height and starts 1.6 pt in)
    edge = round(1.2 * SCALE)
    tall = (arr < INK).mean(axis=0) > 0.75
    for x in [*range(min(edge, arr.shape[1])), *range(max(0, arr.shape[1] - edge), arr.shape[1])]:
        if tall[x]:
            arr[:, x] = 255
    return arr


def _text_fields(form_id: FormId) -> list[PlacedField]:
    placed, _ = layout(form_id, Lang.NL)
    return [p for p in placed if p.field.kind not in (FieldKind.CHOICE, FieldKind.CHECKBOX, FieldKind.SIGNATURE)]


def _ocr_page(
    page: Gray, form_id: FormId, *, deadline: float, clock: Callable[[], float]
) -> tuple[FormId, Lang, dict[str, tuple[float, list[ZoneText], Gray | None]]]:
    """OCR title, footer and the written text boxes of ``form_id``: one strip, each model once."""
    crops: list[Gray] = [_crop(page, _inner(_rect(_TITLE_BOX), 0)), _upscale(_crop(page, _rect(_FOOTER_BOX)))]
    names: list[str] = []
    inks: dict[str, float] = {}
    for pf in _text_fields(form_id):
        inner = _inner(refine_box(page, pf.box), 1.4)
        ink = ink_ratio(page, inner)
        inks[pf.field.name] = ink
        if ink >= EMPTY_INK:
            crops.append(_denoise(_crop(page, inner)))
            names.append(pf.field.name)
    field_crops = dict(zip(names, crops[2:], strict=True))
    remaining = deadline - clock()
    if remaining <= 0:
        raise ParseError("ocr-page-timeout", "the page's time for OCR was used up before tesseract could run")
    readings = read_zones(crops, timeout=remaining, models=MODELS)
    titles = max((r[0] for r in readings), key=lambda z: z.min_conf)
    footers = max((r[1] for r in readings), key=lambda z: z.min_conf)
    fid, lang = _classify(titles, footers, form_id)
    zones: dict[str, tuple[float, list[ZoneText], Gray | None]] = {n: (ink, [], None) for n, ink in inks.items()}
    for i, name in enumerate(names):
        zones[name] = (inks[name], [r[2 + i] for r in readings], field_crops[name])
    return fid, lang, zones


def _rect(box: Box) -> tuple[int, int, int, int]:
    return (
        round(box.x0 * SCALE),
        round((PAGE_SIZE[1] - box.y1) * SCALE),
        round(box.x1 * SCALE),
        round((PAGE_SIZE[1] - box.y0) * SCALE),
    )


def _upscale(crop: Gray) -> Gray:
    # the footer is 7 pt: twice the size reads much better
    return np.repeat(np.repeat(crop, 2, axis=0), 2, axis=1)


# --------------------------------------------------------------------------- interpretation


def _clean(kind: FieldKind, text: str) -> str:
    text = unicodedata.normalize("NFC", text).strip()
    if kind in (FieldKind.EMAIL, FieldKind.ENTERPRISE, FieldKind.DATE, FieldKind.CONTRACT):
        text = text.replace(" ", "")
    if kind is FieldKind.EMAIL:
        text = text.lower()
    if kind is FieldKind.CONTRACT:
        text = text.upper()
    return " ".join(text.split())


def _tick_inks(page: Gray, tick: Box) -> float:
    rect = refine_box(page, tick, search_pt=2.5)
    return ink_ratio(page, _inner(rect, 1.8))


def _interpret(page: Gray, form_id: FormId, zones: dict[str, tuple[float, list[ZoneText], Gray | None]]) -> _Reading:
    reading = _Reading()
    placed, _ = layout(form_id, Lang.NL)
    for pf in placed:
        f = pf.field
        name = f.name
        if f.kind is FieldKind.SIGNATURE:
            rect = _inner(_rect(pf.box), 3)
            reading.raw[name] = ink_ratio(page, rect) >= SIGNED_INK
            reading.confidence[name] = 1.0
        elif f.kind is FieldKind.CHECKBOX:
            ink = _tick_inks(page, pf.ticks["on"])
            reading.raw[name] = ink >= TICK_ON
            reading.confidence[name] = _tick_conf(ink)
        elif f.kind is FieldKind.CHOICE:
            inks = {value: _tick_inks(page, box) for value, box in pf.ticks.items()}
            on = [v for v, ink in inks.items() if ink >= TICK_ON]
            reading.raw[name] = on[0] if len(on) == 1 else None
            # one box clearly ticked, the others clearly not; or none at all
            reading.confidence[name] = min(_tick_conf(ink) for ink in inks.values()) if len(on) <= 1 else 0.0
        else:
            ink, zts, crop = zones.get(name, (0.0, [], None))
            _text_field(reading, f.kind, name, ink, zts)
            printed = reading.printed.get(name)
            if crop is not None and printed and not _typeset(crop, printed):
                reading.handwritten.append(name)
                reading.confidence[name] = min(reading.confidence[name], 0.3)
    return reading


def _tick_conf(ink: float) -> float:
    if ink >= TICK_ON or ink <= TICK_OFF:
        return 1.0
    return 0.5


_EDGE_JUNK = re.compile(r"^[|\\/\[\]{}!_~`'\".,:;]+$")


def _words(zt: ZoneText) -> str:
    words = [w.text for w in zt.words]
    # a stroke of the box border or a speck read as "|" or "." at either end is not part of the value
    while words and _EDGE_JUNK.match(words[0]):
        words.pop(0)
    while words and _EDGE_JUNK.match(words[-1]):
        words.pop()
    return " ".join(words)


def _text_field(reading: _Reading, kind: FieldKind, name: str, ink: float, zts: list[ZoneText]) -> None:
    if not zts:
        reading.raw[name] = None
        reading.confidence[name] = 1.0
        return
    texts = [_clean(kind, _words(zt)) for zt in zts]
    reading.texts[name] = texts
    reading.confs[name] = [zt.min_conf for zt in zts]
    reading.words[name] = [[(w.text, w.doubt / 100.0) for w in zt.words] for zt in zts]
    # the more confident model's reading is the value; both must agree for it to be trusted
    best = max(range(len(zts)), key=lambda i: (zts[i].min_conf if texts[i] else -1.0, -i))
    text = texts[best]
    if not text:
        if ink >= WRITTEN_INK:
            reading.unreadable.append(name)
            reading.confidence[name] = 0.0
        else:
            reading.confidence[name] = 1.0  # specks of dust, not writing
        reading.raw[name] = None
        return
    reading.raw[name] = text
    reading.printed[name] = _words(zts[best])
    conf = max(zt.min_conf for zt in zts)
    if len(set(texts)) > 1:
        conf = min(conf, 0.5)
    # a letter with an accent variant as close runner-up ("i" or "ï"?) is a guess
    if max(zt.doubt for zt in zts) >= LETTER_DOUBT:
        conf = min(conf, 0.6)
    elif kind is FieldKind.ENTERPRISE and len(set(texts)) == 1 and _mod97(text):
        # two models agree on ten digits that pass the mod-97 check: a misread cannot also do that
        conf = max(conf, 0.95)
    pattern = _PLAUSIBLE.get(kind)
    if pattern is not None and not pattern.match(text):
        conf = min(conf, 0.5)
    reading.confidence[name] = round(conf, 3)


_HELVETICA_WIDTHS: dict[str, int] = FONT_METRICS["Helvetica"][1]
#: the printed values are Helvetica at 10 pt or less (smaller only when a value is long)
TYPED_SIZE_PT = (4.5, 10.6)
_DESCENDERS = frozenset("gjpqyQ,;@()[]{}|_çÇ")


def _advance(text: str) -> float:
    """Width of ``text`` set in Helvetica at 1 pt (accented letters as their base letter)."""
    total = 0
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)[:1] or ch
        total += _HELVETICA_WIDTHS.get(ch, _HELVETICA_WIDTHS.get(base, 556))
    return total / 1000.0


def _typeset(crop: Gray, text: str) -> bool:
    """Does the ink look like ``text`` printed in the form's type, not written by hand?

    Printed values are set in Helvetica at no more than 10 pt, letters on one baseline. The ink
    width divided by the text's Helvetica advance gives the font size it would need: hand-writing
    (bigger, irregular spacing) needs 12-15 pt; and its letters do not share a baseline.
    """
    ink = crop < INK
    cols = np.flatnonzero(ink.any(axis=0))
    advance = _advance(text)
    if len(cols) == 0 or advance <= 0:
        return False
    size = (cols[-1] - cols[0] + 1) / SCALE / advance
    if not TYPED_SIZE_PT[0] <= size <= TYPED_SIZE_PT[1]:
        return False
    # letters (runs of inked columns) without a descender end on the baseline
    inked = ink.any(axis=0)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], inked.astype(np.int8), [0]))))
    bottoms = [
        int(np.flatnonzero(ink[:, a:b].any(axis=1))[-1])
        for a, b in zip(edges[::2], edges[1::2], strict=True)
        if b - a >= 2
    ]
    if len(bottoms) >= 4 and not any(c in _DESCENDERS for c in text):
        med = float(np.median(bottoms))
        on_line = float(np.mean([abs(b - med) <= 0.6 * SCALE for b in bottoms]))
        if on_line < 0.6:
            return False
    return True


def _mod97(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return len(digits) == 10 and digits[0] in "01" and 97 - int(digits[:8]) % 97 == int(digits[8:])


def _result(form_id: FormId, lang: Lang, reading: _Reading, *, today: date, min_confidence: float) -> ParsedForm:
    fields, errors, warnings = validate(str(form_id), reading.raw, today=today)
    conf = dict(reading.confidence)
    # a value the validator refuses may be the writer's mistake or a misread: a person decides
    for issue in errors:
        target = issue.field
        if target == "contracts":
            for n in [k for k in conf if k.startswith("contract_") and reading.raw.get(k)]:
                conf[n] = min(conf[n], 0.6)
        elif target in conf and reading.raw.get(target):
            conf[target] = min(conf[target], 0.6)
    ocr_warnings: list[Issue] = []
    for name in reading.unreadable:
        ocr_warnings.append(Issue("ocr-unreadable-field", f"{name}: writing in the box could not be read", name))
    for name in reading.handwritten:
        ocr_warnings.append(Issue("ocr-low-confidence", f"{name}: looks hand-written; check the value", name))
    for name, value in sorted(conf.items()):
        if value < min_confidence and name not in reading.unreadable and name not in reading.handwritten:
            ocr_warnings.append(
                Issue("ocr-low-confidence", f"{name}: OCR confidence {value:.2f} is under {min_confidence:.2f}", name)
            )
    return ParsedForm(
        form_id=str(form_id),
        version=FORMS[form_id].version,
        language=str(lang),
        method=Method.OCR,
        fields=fields,
        confidence={k: round(v, 3) for k, v in conf.items()},
        errors=tuple(errors),
        warnings=(*ocr_warnings, *warnings),
    )
