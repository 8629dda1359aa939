"""A PDF page's words through PDFium (pypdfium2): pdfplumber's ``extract_words()``, about seven times faster.

PDFium gives each character, its origin and its advance; the box is then built the way pdfminer
builds it (``LTChar``: from the baseline plus the font's descent, one font size high, the descent
of a standard-14 font taken from the same Adobe metrics pdfminer uses), and the characters are
grouped into words by the rule of pdfplumber's ``WordExtractor`` at its defaults: lines are
clusters of character tops within 3 pt, characters sorted left to right, a new word at a blank,
at a gap over 3 pt, or a step back. ``tests/unit/test_pdfium_words.py`` holds the two readers to
the same words on every sample PDF; docs/forms.md ("Reading a flattened PDF") says where each is used.

A page this reader is not known to agree on is refused (``words()`` answers None) rather than
read differently: a page turned (``/Rotate``) or whose media box does not start at 0,0, and any
character not upright (turned, mirrored or slanted text). The caller then reads the document with
pdfplumber. Not thread-safe (PDFium is not): one document at a time per process, as the parser's
sandbox runs them (docs/forms.md).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pypdfium2
import pypdfium2.raw as pdfium_c
from pdfminer.fontmetrics import FONT_METRICS

__all__ = ["PdfiumWords", "Word", "pdfium_reader"]

#: pdfplumber's defaults (``pdfplumber.utils.text.DEFAULT_X_TOLERANCE`` / ``DEFAULT_Y_TOLERANCE``)
_X_TOLERANCE = 3.0
_Y_TOLERANCE = 3.0
#: how far (pt) PDFium's next character may lie from the Adobe width's pen: its single precision, not a width
_PEN_TOLERANCE = 2e-3
#: what PDFium reads a hyphen at the end of a line as (``FPDFText_IsHyphen``)
_HYPHEN_MARK = 0x02
#: pdfplumber's ``expand_ligatures=True``
_LIGATURES = {"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"}
_LIGATURE_TABLE = str.maketrans(_LIGATURES)


def _address(fn: Any) -> int:
    address = ctypes.cast(fn, ctypes.c_void_p).value
    assert address is not None
    return address


#: ``FPDFText_GetTextObject`` answering the object's address (an int): a pointer object per character,
#: cast to compare, cost a quarter of the page's time
_text_object = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)(
    _address(pdfium_c.FPDFText_GetTextObject)
)
_font_of = ctypes.CFUNCTYPE(pdfium_c.FPDFTextObj_GetFont.restype, ctypes.c_void_p)(
    _address(pdfium_c.FPDFTextObj_GetFont)
)


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    y0: float  # PDF points, origin bottom-left
    y1: float


#: one character: text, x0, x1, top, bottom (pdfplumber's convention: top measured down from the page's top)
_Char = tuple[str, float, float, float, float]


class PdfiumWords:
    """The pages of one open document; ``words(i)`` is page i's words, or None when pdfplumber must read it."""

    def __init__(self, pdf: pypdfium2.PdfDocument) -> None:
        self._pdf = pdf
        self.page_count = len(pdf)
        self._fonts: dict[int | None, tuple[float, dict[str, int] | None] | None] = {}

    def words(self, index: int) -> list[Word] | None:
        found = self._grouped(index)
        if found is None:
            return None
        height, words = found
        return [Word(text, x0, x1, height - bottom, height - top) for text, x0, x1, top, bottom in words]

    def text(self, index: int) -> str | None:
        """The page's text as pdfplumber's ``extract_text()`` gives it: its words, a line to a line
        (word tops clustered within 3 pt, top to bottom), a blank between words."""
        found = self._grouped(index)
        if found is None:
            return None
        return "\n".join(" ".join(w[0] for w in line) for line in _lines(found[1], key=lambda w: w[3]))

    def _grouped(self, index: int) -> tuple[float, list[_Char]] | None:
        page = self._pdf[index]
        try:
            height = _plain_height(page)
            if height is None:
                return None
            textpage = page.get_textpage()
            try:
                chars = self._chars(textpage, height)
            finally:
                textpage.close()
        finally:
            page.close()
        if chars is None:
            return None
        return height, group_words(chars)

    def _chars(self, textpage: pypdfium2.PdfTextPage, height: float) -> list[_Char] | None:
        tp = textpage.raw
        chars: list[_Char] = []
        self._fonts.clear()  # a font's handle lives as long as its page
        ox, oy = ctypes.c_double(), ctypes.c_double()
        loose = pdfium_c.FS_RECTF()
        matrix = pdfium_c.FS_MATRIX()
        #: per text object: its height, the descent below the baseline (page points), and for a standard-14
        #: font the Adobe widths pdfminer measures with (PDFium's own differ by a unit here and there)
        objects: dict[int, tuple[float, float, dict[str, int] | None, float]] = {}
        current: int | None = None
        pen = 0.0
        for i in range(pdfium_c.FPDFText_CountChars(tp)):
            key = _text_object(tp, i)
            if not key:
                continue  # PDFium's own word and line breaks (generated, of no text object): pdfminer has none
            if key not in objects:
                if not pdfium_c.FPDFText_GetMatrix(tp, i, matrix):
                    return None
                if matrix.b != 0 or matrix.c != 0 or matrix.a <= 0 or matrix.d <= 0:
                    return None  # turned, mirrored or slanted: pdfplumber reads this page
                font = self._font(key)
                if font is None:
                    return None
                descent, widths = font
                size = pdfium_c.FPDFText_GetFontSize(tp, i)
                # the matrix's a holds the horizontal scaling (Tz) too, as pdfminer's advance does
                objects[key] = (matrix.d * size, matrix.d * (descent * size), widths, matrix.a * size / 1000)
            span, below, widths, per_unit = objects[key]
            if not pdfium_c.FPDFText_GetCharOrigin(tp, i, ox, oy):
                return None
            code = pdfium_c.FPDFText_GetUnicode(tp, i)
            if code == _HYPHEN_MARK:
                return None  # PDFium's mark for a hyphen ending a line: "-" or a soft hyphen, pdfplumber says which
            text = chr(code)
            x0 = ox.value
            if widths is not None:
                # PDFium lays a standard-14 font out with its own widths, pdfminer with Adobe's: where they differ
                # the next character of the object is not where pdfminer puts it, and pdfplumber reads the page
                if key == current and abs(x0 - pen) > _PEN_TOLERANCE:
                    return None
                x1 = x0 + per_unit * widths.get(text, 0)
                current, pen = key, x1
            elif pdfium_c.FPDFText_GetLooseCharBox(tp, i, loose):
                x1 = loose.right
            else:
                return None
            y0 = oy.value + below
            chars.append((text, x0, x1, height - (y0 + span), height - y0))
        return chars

    def _font(self, obj: int) -> tuple[float, dict[str, int] | None] | None:
        """The font's descent per unit of size and, for a standard-14 name, its Adobe widths — as pdfminer reads
        them: a standard-14 name takes the Adobe metrics, another font its descriptor's descent (made negative)."""
        font = _font_of(obj)
        key = ctypes.cast(font, ctypes.c_void_p).value
        if key in self._fonts:
            return self._fonts[key]
        found: tuple[float, dict[str, int] | None] | None = None
        if font:
            size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
            buf = ctypes.create_string_buffer(max(size, 1))
            pdfium_c.FPDFFont_GetBaseFontName(font, buf, size)
            name = buf.value.decode("latin-1")
            if name in FONT_METRICS:
                descriptor, widths = FONT_METRICS[name]
                found = (float(descriptor["Descent"]) / 1000, widths)  # type: ignore[arg-type]
            else:
                value = ctypes.c_float()
                if pdfium_c.FPDFFont_GetDescent(font, ctypes.c_float(1000), value):
                    found = (-abs(float(value.value)) / 1000, None)
        self._fonts[key] = found
        return found


def _plain_height(page: pypdfium2.PdfPage) -> float | None:
    """The page's height when its coordinates are pdfminer's (not turned, media box at 0,0), else None."""
    if page.get_rotation() != 0:
        return None
    x0, y0, x1, y1 = page.get_bbox()
    media = page.get_mediabox(fallback_ok=False)
    if (x0, y0) != (0, 0) or (media is not None and tuple(media) != (x0, y0, x1, y1)):
        return None
    return float(y1 - y0)


@contextmanager
def pdfium_reader(data: bytes) -> Iterator[PdfiumWords | None]:
    """The document open in PDFium, or None when PDFium cannot open it (pdfplumber then names what is wrong)."""
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        yield None
        return
    try:
        yield PdfiumWords(pdf)
    finally:
        pdf.close()


def group_words(chars: list[_Char]) -> list[_Char]:
    """Characters into words, as pdfplumber's ``WordExtractor`` does at its defaults (upright text)."""
    words: list[_Char] = []
    for line in _lines(chars, key=lambda c: c[3]):
        current: list[_Char] = []
        for c in sorted(line, key=lambda c: c[1]):
            if c[0].isspace():
                _flush(current, words)
                current = []
            elif current and (
                c[1] < current[-1][1]
                or c[1] > current[-1][2] + _X_TOLERANCE
                or abs(c[3] - current[-1][3]) > _Y_TOLERANCE
            ):
                _flush(current, words)
                current = [c]
            else:
                current.append(c)
        _flush(current, words)
    return words


def _lines(items: list[_Char], *, key: Callable[[_Char], float]) -> list[list[_Char]]:
    """pdfplumber's ``cluster_objects(items, key, 3)``: sorted keys chained within the tolerance, the items of
    a cluster in their order, the clusters by key."""
    cluster: dict[float, int] = {}
    n, last = -1, 0.0
    for value in sorted({key(c) for c in items}):
        if n < 0 or value > last + _Y_TOLERANCE:
            n += 1
        cluster[value] = n
        last = value
    lines: dict[int, list[_Char]] = {}
    for c in items:  # the clusters by key; a cluster's items in their order (a stable sort by cluster)
        lines.setdefault(cluster[key(c)], []).append(c)
    return [lines[n] for n in sorted(lines)]


def _flush(chars: list[_Char], words: list[_Char]) -> None:
    if chars:
        texts, x0s, x1s, tops, bottoms = zip(*chars, strict=True)
        words.append(("".join(texts).translate(_LIGATURE_TABLE), min(x0s), max(x1s), min(tops), max(bottoms)))
