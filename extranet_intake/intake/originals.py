"""Originals as the desk shows them: PDF/scan pages as bounded PNG images, an XLSX as a table, a scan
field's crop, and the e-mail each document came in (sender, DMARC verdict, subject).

Nothing here hands an active PDF to a browser: pages leave as PNG pixels. Rendering is bounded
(pages, pixels) because the bytes came from outside; the queue only holds documents the sandboxed
parser already opened, but a bound costs nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pypdfium2
from openpyxl import load_workbook
from PIL import Image, ImageSequence
from sqlmodel import Session, col, select

from extranet_intake.errors import ParseError
from extranet_intake.intake.store_tables import Arrival
from extranet_intake.parsers.ocr_crop import field_crop
from extranet_intake.provisioning.rules import OCR_LOW_CONFIDENCE_CODES

__all__ = [
    "MAX_PAGES",
    "MAX_SIDE_PX",
    "ArrivalView",
    "OriginalKind",
    "arrivals_of",
    "crop_png",
    "doubtful_fields",
    "original_kind",
    "page_count",
    "render_page_png",
    "xlsx_table",
]

#: the longest side of a rendered page, in pixels: readable on a screen, small on the wire
MAX_SIDE_PX = 1400
MAX_PAGES = 20
_MAX_SOURCE_PIXELS = 60_000_000


class OriginalKind(StrEnum):
    PDF = "pdf"
    IMAGE = "image"
    XLSX = "xlsx"
    OTHER = "other"


def original_kind(data: bytes) -> OriginalKind:
    if b"%PDF-" in data[:1024]:
        return OriginalKind.PDF
    if data[:4] == b"PK\x03\x04":
        return OriginalKind.XLSX
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or data[:4] in (b"II*\x00", b"MM\x00*"):
        return OriginalKind.IMAGE
    return OriginalKind.OTHER


def page_count(data: bytes) -> int:
    """Pages the desk can show as images (0 for a spreadsheet or an unknown kind), at most MAX_PAGES."""
    kind = original_kind(data)
    try:
        if kind is OriginalKind.PDF:
            pdf = pypdfium2.PdfDocument(data)
            try:
                return min(len(pdf), MAX_PAGES)
            finally:
                pdf.close()
        if kind is OriginalKind.IMAGE:
            with Image.open(io.BytesIO(data)) as img:
                return min(getattr(img, "n_frames", 1), MAX_PAGES)
    except (pypdfium2.PdfiumError, OSError, ValueError):
        return 0
    return 0


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


def render_page_png(data: bytes, page: int, *, max_side: int = MAX_SIDE_PX) -> bytes:
    """Page ``page`` (0-based) of a PDF or scan as PNG, longest side at most ``max_side`` pixels."""
    if not 0 <= page < MAX_PAGES:
        raise ParseError("render-page-missing", f"page {page + 1} is not shown (at most {MAX_PAGES})", page=page)
    kind = original_kind(data)
    try:
        if kind is OriginalKind.PDF:
            pdf = pypdfium2.PdfDocument(data)
            try:
                # an AcroForm's values live in its widgets: without the form environment they are not drawn
                pdf.init_forms()
                if page >= len(pdf):
                    raise ParseError("render-page-missing", f"the document has no page {page + 1}", page=page)
                p = pdf[page]
                w, h = p.get_size()
                scale = min(max_side / max(w, h, 1.0), 4.0)
                return _png(p.render(scale=scale).to_pil())
            finally:
                pdf.close()
        if kind is OriginalKind.IMAGE:
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > _MAX_SOURCE_PIXELS:
                    raise ParseError("file-too-large", "the image is too large to show")
                for i, frame in enumerate(ImageSequence.Iterator(img)):
                    if i == page:
                        shown = frame.convert("RGB")
                        shown.thumbnail((max_side, max_side))
                        return _png(shown)
                raise ParseError("render-page-missing", f"the scan has no page {page + 1}", page=page)
    except (pypdfium2.PdfiumError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ParseError("render-failed", f"the page cannot be rendered: {type(exc).__name__}") from exc
    raise ParseError("render-not-paged", "this original has no pages to show as images", kind=str(kind))


def xlsx_table(data: bytes, *, max_rows: int = 200, max_cols: int = 30) -> list[tuple[str, list[list[str]]]]:
    """Each sheet's name and its first cells as text (values, never formulas)."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file: one coded refusal
        raise ParseError("render-failed", f"the spreadsheet cannot be read: {type(exc).__name__}") from exc
    try:
        sheets: list[tuple[str, list[list[str]]]] = []
        for ws in book.worksheets[:10]:
            rows = [
                ["" if v is None else str(v) for v in row[:max_cols]]
                for row in ws.iter_rows(max_row=max_rows, values_only=True)
            ]
            sheets.append((ws.title, [r for r in rows if any(r)]))
        return sheets
    finally:
        book.close()


def crop_png(data: bytes, form_id: str, field: str) -> bytes | None:
    """The scan around one field (as the OCR aligned it), as PNG; None when it cannot be located."""
    try:
        crop = field_crop(data, form_id, field)
    except ParseError:
        return None
    return None if crop is None else _png(Image.fromarray(crop))


def doubtful_fields(warnings: list[dict[str, Any]]) -> set[str]:
    """Fields the OCR was not sure of (low confidence, unreadable): the desk highlights them."""
    return {str(w.get("field")) for w in warnings if w.get("code") in OCR_LOW_CONFIDENCE_CODES and w.get("field")}


@dataclass(frozen=True)
class ArrivalView:
    channel: str
    sender: str
    subject: str
    dmarc: str
    auth_trusted: bool
    filename: str
    received_at: datetime


def arrivals_of(session: Session, sha256: str) -> list[ArrivalView]:
    """How a document came in: each arrival with its sender, DMARC verdict and subject (first first)."""
    rows = session.exec(select(Arrival).where(col(Arrival.sha256) == sha256).order_by(col(Arrival.id)))
    return [
        ArrivalView(a.channel, a.sender, a.subject, a.dmarc, a.auth_trusted, a.filename, a.received_at) for a in rows
    ]
