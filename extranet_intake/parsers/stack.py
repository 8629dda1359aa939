"""A stack of forms in one PDF (or multi-page TIFF): classify every page, cut it into one part per form.

The team scans the day's post in one go, and senders concatenate forms: one PDF may hold an
agreement, a Master User fiche and user fiches, with a blank page or a page upside down among
them. ``split_stack`` classifies each page by what it prints — the footer ``EAP-USR v2026.1``
from the text layer, or read by OCR from the bottom of a scanned page (and, when no footer is
found there, from the bottom of the page turned 180°: a sheet fed upside down) — and cuts the
file into parts: one per form (a form's pages together), one per page that belongs to no form
(``blank`` or ``unknown``: a person must look). Each part is a PDF of its own pages of the
original (a page found upside down turned right side up), and says which pages it came from.

A PDF of one page, or whose pages are one form, is no stack: ``split_stack`` returns ``[]`` and
the document is parsed as it is. Pure: bytes in, parts out; runs in the parser's sandbox.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np
import pdfplumber
import pypdfium2
from pypdf import PdfReader, PdfWriter

from extranet_intake.errors import ParseError
from extranet_intake.parsers.forms import FOOTER_RE, FormId, page_count
from extranet_intake.parsers.pdfium_words import pdfium_reader

if TYPE_CHECKING:
    from extranet_intake.parsers.ocr_image import Gray
    from extranet_intake.parsers.ocr_tess import ZoneText

__all__ = ["MAX_STACK_PAGES", "TIFF_MAGIC", "PageKind", "Part", "split_stack", "tiff_as_pdf"]

#: more pages than any day's post from one sender: refused rather than OCR'd for minutes
MAX_STACK_PAGES = 40
#: share of ink (specks discounted) under which a scanned page is blank
BLANK_INK = 0.004
#: how much darker than the paper a pixel must be to be ink (scanner noise stays well within it)
_INK_BELOW_PAPER = 60
#: the bottom left corner of the page the footer is read from (its share of the page's height, width)
_FOOTER_SHARE = 0.10
_FOOTER_WIDTH = 0.45


#: the footer as OCR reads it off a scan: a speck read as a letter between id and version ("EAP-MU iS
#: v2026.1"), the space read as a dot ("EAP-AGR.V2026.1"), the version's dot as a comma. Only the form
#: id is taken from it; the parser reads the version again, strictly, from the part.
_OCR_FOOTER_RE = re.compile(r"\b((?:EAP|ECON|EWP)-[A-Z]{2,4})\b[^\n]{0,8}?[vV]\s?\d{4}[.,]\d")


class PageKind(StrEnum):
    FORM = "form"  # pages of one form (its footer names it)
    BLANK = "blank"  # no ink: a separator sheet, the back of a page
    UNKNOWN = "unknown"  # ink, but no form footer: a letter, a page of something else


@dataclass(frozen=True)
class Part:
    """One form (or one page of no form) of a stack, with its own PDF bytes."""

    #: page numbers in the original, from 1, both included
    first: int
    last: int
    kind: PageKind
    #: the footer's form id (``EAP-USR``, or another platform's ``ECON-USR``); None for blank/unknown pages
    form_id: str | None
    #: the page was upside down in the original; the part's page is turned right side up
    rotated: bool
    data: bytes

    @property
    def pages(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"

    @property
    def stray_code(self) -> str | None:
        """The code of a part that holds no form (one of ``STRAY_PAGE_CODES``), None for a form."""
        return {PageKind.BLANK: "stack-blank-page", PageKind.UNKNOWN: "stack-page-without-form"}.get(self.kind)


@dataclass(frozen=True)
class _Page:
    kind: PageKind
    form_id: str | None = None
    rotated: bool = False


#: the first bytes of a TIFF (little- and big-endian): a scanner's multi-page file is a stack like a PDF
TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


def tiff_as_pdf(data: bytes) -> bytes | None:
    """A multi-page TIFF (a scanner's batch) as a PDF of the same pages, to be cut like a PDF stack; None
    for anything else, a single page, or a file Pillow cannot read (the parser then says what is wrong).

    Each page keeps its pixels and resolution: a bilevel file (mode ``1``, the usual fax-like scan) is
    stored losslessly (CCITT G4), any other as 8-bit gray in JPEG at quality 95 (Pillow's PDF writer).
    The original TIFF stays in the store byte for byte; the parts are PDFs, as every part is.
    """
    if data[:4] not in TIFF_MAGIC:
        return None
    from PIL import Image, ImageSequence

    from extranet_intake.parsers.ocr_image import MAX_PIXELS

    try:
        img = Image.open(io.BytesIO(data))
        count = getattr(img, "n_frames", 1)
        if count < 2:
            return None
        if count > MAX_STACK_PAGES:
            raise ParseError(
                "stack-too-many-pages", f"the TIFF has {count} pages; a stack may have at most {MAX_STACK_PAGES}"
            )
        pages = []
        for frame in ImageSequence.Iterator(img):
            if frame.width * frame.height > MAX_PIXELS:
                raise ParseError("file-too-large", f"a page of the TIFF is too large ({frame.width}×{frame.height} px)")
            pages.append(frame.copy())
        bilevel = all(page.mode == "1" for page in pages)
        if not bilevel:  # one writer setting for the whole file: gray, JPEG quality 95
            pages = [page.convert("L") for page in pages]
        dpi = img.info.get("dpi", (300, 300))
        out = io.BytesIO()
        extra = {} if bilevel else {"quality": 95}
        pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi[0] or 300), **extra)
        return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def split_stack(data: bytes, *, page_timeout: float = 20.0) -> list[Part]:
    """The parts of a PDF (or multi-page TIFF) holding several forms (or a form and pages of none); ``[]``
    when it is no stack."""
    if b"%PDF-" not in data[:1024]:
        converted = tiff_as_pdf(data)
        if converted is None:
            return []
        data = converted
    try:
        reader = PdfReader(io.BytesIO(data))
        count = len(reader.pages)
    except Exception:
        return []  # the parser reports what is wrong with this file
    if count < 2:
        return []
    if count > MAX_STACK_PAGES:
        raise ParseError(
            "stack-too-many-pages", f"the PDF has {count} pages; a stack may have at most {MAX_STACK_PAGES}"
        )
    pages = _classify_pages(data, count, page_timeout=page_timeout)
    groups = _group(pages)
    if len(groups) == 1 and groups[0][2].kind is PageKind.FORM and not groups[0][2].rotated:
        return []  # one form over all the pages: parsed as it is
    return [
        Part(
            first + 1,
            last + 1,
            page.kind,
            page.form_id,
            page.rotated,
            _extract(reader, first, last, rotate=page.rotated),
        )
        for first, last, page in groups
    ]


def _group(pages: list[_Page]) -> list[tuple[int, int, _Page]]:
    """Pages into parts: a form's first page takes the pages its form has (when they name no other
    form); every page of no form is a part of its own, so a person sees exactly that page."""
    groups: list[tuple[int, int, _Page]] = []
    i = 0
    while i < len(pages):
        page = pages[i]
        last = i
        if page.kind is PageKind.FORM and page.form_id in {str(f) for f in FormId}:
            want = page_count(FormId(page.form_id)) - 1
            while (
                want > 0
                and last + 1 < len(pages)
                and pages[last + 1].kind is not PageKind.FORM
                and pages[last + 1].kind is not PageKind.BLANK
            ):
                last += 1
                want -= 1
        groups.append((i, last, page))
        i = last + 1
    return groups


def _page_texts(data: bytes, count: int) -> list[str]:
    """Each page's text: PDFium's words in pdfplumber's lines (``parsers.pdfium_words``); a page where PDFium
    finds no text (a scan) or is not known to read as pdfplumber does is pdfplumber's, as every page was."""
    texts: list[str | None] = [None] * count
    with pdfium_reader(data) as reader:
        if reader is not None:
            for i in range(min(count, reader.page_count)):
                texts[i] = reader.text(i) or None
    missing = [i for i, text in enumerate(texts) if text is None]
    if missing:
        try:
            with pdfplumber.open(io.BytesIO(data)) as pdf:
                for i in missing:
                    texts[i] = (pdf.pages[i].extract_text() or "") if i < len(pdf.pages) else ""
        except Exception:
            for i in missing:
                texts[i] = ""
    return [text or "" for text in texts]


def _classify_pages(data: bytes, count: int, *, page_timeout: float) -> list[_Page]:
    texts = _page_texts(data, count)
    pages: list[_Page] = []
    scanned: list[int] = []
    for i, text in enumerate(texts):
        footer = _footer(text)
        if footer is not None:
            pages.append(_Page(PageKind.FORM, footer))
        elif text.strip():
            pages.append(_Page(PageKind.UNKNOWN))
        else:
            pages.append(_Page(PageKind.BLANK))  # until OCR says otherwise
            scanned.append(i)
    if scanned:
        for i, page in zip(scanned, _ocr_pages(data, scanned, page_timeout=page_timeout), strict=True):
            pages[i] = page
    return pages


def _footer(text: str, *, ocr: bool = False) -> str | None:
    # the printed footer ends the page; a footer typed into a box comes before it
    found = list((_OCR_FOOTER_RE if ocr else FOOTER_RE).finditer(text.replace("\u2014", " ")))
    return found[-1].group(1) if found else None


def _ocr_pages(data: bytes, indexes: list[int], *, page_timeout: float) -> list[_Page]:
    # lazy: tesseract and the image code load only when a scanned page is met
    from extranet_intake.parsers.ocr_image import MAX_PIXELS, SCALE, ink_ratio, normalise
    from extranet_intake.parsers.ocr_tess import read_zones

    out: list[_Page] = []
    pdf = pypdfium2.PdfDocument(data)
    try:
        for i in indexes:
            started = time.monotonic()
            page = pdf[i]
            w, h = page.get_size()
            if w * h * SCALE * SCALE > MAX_PIXELS:
                raise ParseError("file-too-large", f"page {i + 1} is too large to render ({w:.0f}×{h:.0f} pt)")
            arr = page.render(scale=SCALE, grayscale=True).to_numpy()
            gray = np.ascontiguousarray(arr[:, :, 0] if arr.ndim == 3 else arr, dtype=np.uint8)
            rows, cols = gray.shape
            # ink against this page's own paper (a photocopy's paper is grey): contrast stretching
            # first would turn a blank sheet's noise into ink
            paper = float(np.median(gray[::8, ::8]))
            marks = np.where(gray < paper - _INK_BELOW_PAPER, 0, 255).astype(np.uint8)
            if ink_ratio(marks, (0, 0, cols, rows)) < BLANK_INK:
                out.append(_Page(PageKind.BLANK))
                continue
            norm = normalise(gray)
            band, width = max(1, round(rows * _FOOTER_SHARE)), max(1, round(cols * _FOOTER_WIDTH))
            found = _read_footer(read_zones, norm[rows - band :, :width], started, page_timeout)
            if found is not None:
                out.append(_Page(PageKind.FORM, found))
                continue
            # upside down, the footer is at the top right, turned: turn that corner and read again
            corner = np.ascontiguousarray(np.rot90(norm[:band, cols - width :], 2))
            found = _read_footer(read_zones, corner, started, page_timeout)
            if found is not None:
                out.append(_Page(PageKind.FORM, found, rotated=True))
            else:
                out.append(_by_frame(norm))
    finally:
        pdf.close()
    return out


def _by_frame(norm: Gray) -> _Page:
    """A page whose footer OCR could not read (noise, a grey photocopy): a form still shows the form's
    frame (header band and footer rule), upright or turned; which form, its box layout says. The
    parser reads the part again in full and settles the form from its footer and title."""
    from extranet_intake.parsers.ocr import _form_by_geometry  # the scan reader's own geometry classifier
    from extranet_intake.parsers.ocr_image import align_page, find_frame

    for rotated, page in ((False, norm), (True, np.ascontiguousarray(np.rot90(norm, 2)))):
        frame = find_frame(page)
        if frame is not None:
            return _Page(PageKind.FORM, str(_form_by_geometry(align_page(page, frame))), rotated=rotated)
    return _Page(PageKind.UNKNOWN)


def _read_footer(
    read_zones: Callable[..., list[list[ZoneText]]], crop: Gray, started: float, page_timeout: float
) -> str | None:
    left = max(0.5, page_timeout - (time.monotonic() - started))
    ((zone,),) = read_zones([crop], timeout=left, models=("eng",))
    return _footer(zone.text, ocr=True)


def _extract(reader: PdfReader, first: int, last: int, *, rotate: bool) -> bytes:
    writer = PdfWriter()
    # append (not add_page): it brings the pages' form fields along, so a fillable form stays fillable
    writer.append(reader, pages=list(range(first, last + 1)), import_outline=False)
    if rotate:
        for page in writer.pages:
            page.rotate(180)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
