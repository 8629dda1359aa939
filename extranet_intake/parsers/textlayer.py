"""Reading a flattened (printed-style) PDF by position: the page's words placed in the form's boxes.

One word list per page; the first page's words also classify the document (footer and title). A
word belongs to the box its start lies in (long values overflow to the right); an "X" inside a tick
box ticks it — the geometry is ``parsers.forms.layout``, the one the renderer drew.

Two readers give the same words (see docs/forms.md, "Reading a flattened PDF"): PDFium
(``parsers.pdfium_words``, about seven times faster: ``bench/textlayer.py``) reads every page it is
known to agree on; pdfplumber reads the rest — a first page without text (a scan), a page turned or offset,
turned text, a file PDFium cannot open — and its errors give the coded reasons of a damaged file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import PdfminerException

from extranet_intake.errors import ParseError
from extranet_intake.parsers.classify import Classification, classify_text
from extranet_intake.parsers.forms import Box, FieldKind, FormId, Lang, layout
from extranet_intake.parsers.pdfium_words import Word, pdfium_reader
from extranet_intake.parsers.validate import RawValue

__all__ = ["TextLayer", "Word", "pdfplumber_words", "read_text_layer"]

#: tolerance, in points, around a box (a glyph's box may poke past the drawn border)
_SLACK = 1.5
_MAX_PAGES = 10


@dataclass(frozen=True)
class TextLayer:
    """The classification from the printed text, the values read from the boxes, and whether any text was found."""

    classification: Classification
    raw: dict[str, RawValue]
    has_text: bool


def _words(page: Any) -> list[Word]:
    height = float(page.height)
    return [
        Word(w["text"], float(w["x0"]), float(w["x1"]), height - float(w["bottom"]), height - float(w["top"]))
        for w in page.extract_words()
    ]


def pdfplumber_words(data: bytes) -> list[list[Word]]:
    """Every page's words as pdfplumber reads them (the reference the PDFium reader is held to)."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [_words(p) for p in pdf.pages]


def read_text_layer(data: bytes) -> TextLayer:
    """Classify by the first page's text, then read every field box of the pages the form has."""
    fast = _read_with_pdfium(data)
    return fast if fast is not None else _read_with_pdfplumber(data)


def _read_with_pdfium(data: bytes) -> TextLayer | None:
    """The text layer read by PDFium; None when a page needs pdfplumber (its geometry, or no text on page 1)."""
    with pdfium_reader(data) as reader:
        if reader is None or reader.page_count == 0:
            return None
        first = reader.words(0)
        if not first:
            return None  # a scan, or a page PDFium reads nothing on: pdfplumber decides (and names the damage)
        cls = classify_text([" ".join(w.text for w in first)])
        if cls.form_id is None:
            return TextLayer(cls, {}, True)
        placed, _ = layout(cls.form_id, cls.language or Lang.NL)
        words = [first]
        for i in range(1, min(max(p.page for p in placed) + 1, reader.page_count)):
            page = reader.words(i)
            if page is None:
                return None
            words.append(page)
    return TextLayer(cls, read_boxes(cls.form_id, cls.language, words), True)


def _read_with_pdfplumber(data: bytes) -> TextLayer:
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = pdf.pages
            if not pages:
                raise ParseError("pdf-corrupt", "the PDF has no pages")
            first = _words(pages[0])
            cls = classify_text([" ".join(w.text for w in first)])
            if cls.form_id is None:
                # a scan has no words at all; other pages may still hold the footer of a scanned form
                has_text = bool(first) or any(_words(p) for p in pages[1:_MAX_PAGES])
                return TextLayer(cls, {}, has_text)
            placed, _ = layout(cls.form_id, cls.language or Lang.NL)
            n_pages = max(p.page for p in placed) + 1
            words = [first, *(_words(p) for p in pages[1:n_pages])]
    except ParseError:
        raise
    except PdfminerException as exc:
        # pdfplumber wraps whatever pdfminer raised: the wrapped error decides the code
        inner = exc.args[0] if exc.args else None
        if isinstance(inner, MemoryError):
            raise ParseError("parse-memory", "the PDF inflates to more memory than a form can need") from exc
        if isinstance(inner, RecursionError):
            raise ParseError("hostile-structure", "the PDF nests its objects too deeply to be read safely") from exc
        if isinstance(inner, PDFPasswordIncorrect):
            raise ParseError("pdf-encrypted", "the PDF is protected by a password; send it without one") from exc
        raise ParseError("pdf-corrupt", f"the PDF's text cannot be read: {inner}") from exc
    except PDFPasswordIncorrect as exc:
        raise ParseError("pdf-encrypted", "the PDF is protected by a password; send it without one") from exc
    except RecursionError as exc:
        raise ParseError("hostile-structure", "the PDF nests its objects too deeply to be read safely") from exc
    except (
        PSException,
        PDFSyntaxError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        AssertionError,
        OSError,
        UnicodeError,
        ArithmeticError,
    ) as exc:
        raise ParseError("pdf-corrupt", f"the PDF's text cannot be read: {exc}") from exc
    return TextLayer(cls, read_boxes(cls.form_id, cls.language, words), True)


def _starts_in(w: Word, box: Box) -> bool:
    cy = (w.y0 + w.y1) / 2
    return box.x0 - _SLACK <= w.x0 <= box.x1 and box.y0 - _SLACK <= cy <= box.y1 + _SLACK


def _centred_in(w: Word, box: Box) -> bool:
    cx, cy = (w.x0 + w.x1) / 2, (w.y0 + w.y1) / 2
    return box.x0 - _SLACK <= cx <= box.x1 + _SLACK and box.y0 - _SLACK <= cy <= box.y1 + _SLACK


def read_boxes(form_id: FormId, lang: Lang | None, pages: Sequence[Sequence[Word]]) -> dict[str, RawValue]:
    """Assign the words of each page to the field boxes of the layout (shared with OCR-by-text)."""
    placed, _ = layout(form_id, lang or Lang.NL)
    raw: dict[str, RawValue] = {}
    for pf in placed:
        if pf.page >= len(pages):
            continue
        words = pages[pf.page]
        kind = pf.field.kind
        if kind is FieldKind.SIGNATURE:
            continue
        if kind is FieldKind.CHECKBOX:
            raw[pf.field.name] = any(w.text.upper() == "X" and _centred_in(w, pf.ticks["on"]) for w in words)
        elif kind is FieldKind.CHOICE:
            ticked = [
                v for v, tick in pf.ticks.items() if any(w.text.upper() == "X" and _centred_in(w, tick) for w in words)
            ]
            # several boxes ticked: hand them all over, the validator refuses the ambiguity
            raw[pf.field.name] = " + ".join(ticked) if ticked else None
        else:
            inside = sorted((w for w in words if _starts_in(w, pf.box)), key=lambda w: (-round(w.y1), w.x0))
            raw[pf.field.name] = " ".join(w.text for w in inside) or None
    return raw
