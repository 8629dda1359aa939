"""Scan pages as images: loading (PDF via pypdfium2, PNG/JPEG/TIFF via Pillow), deskew, alignment to the form's frame.

Every page of the three forms prints the same frame: a red header band across the full width whose
lower edge lies at ``PAGE_H - 30`` pt, and a red footer rule from ``MARGIN`` to ``PAGE_W - MARGIN``
at ``MARGIN - 2`` pt. The lower edge of the band gives the skew angle (a long straight edge); the
band edge, the footer rule and the rule's two ends give scale and offset. The page is then resampled
once onto a canonical A4 grid at ``SCALE`` pixels per point, so the layout of ``parsers.forms``
can be cropped directly, and each box is re-found locally so residual error does not cut letters.
"""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pypdfium2
from PIL import Image, ImageSequence

from extranet_intake.errors import ParseError
from extranet_intake.parsers.forms import MARGIN, PAGE_SIZE, Box

__all__ = [
    "DPI",
    "SCALE",
    "Frame",
    "Gray",
    "align_page",
    "box_px",
    "correct_horizontal",
    "find_frame",
    "ink_ratio",
    "load_pages",
    "normalise",
    "refine_box",
]

Gray = npt.NDArray[np.uint8]

#: working resolution: the canonical page is A4 at this many dots per inch (≈ 3.5 px per point)
DPI = 250.0
SCALE = DPI / 72.0
PAGE_W, PAGE_H = PAGE_SIZE
BAND_EDGE_PT = PAGE_H - 30.0
RULE_Y_PT = MARGIN - 2.0
#: a scan larger than this many pixels is refused before decoding (decompression bombs)
MAX_PIXELS = 60_000_000
#: a pixel darker than this (after contrast stretch) counts as ink
INK = 140


def load_pages(data: bytes, *, max_pages: int) -> list[Gray]:
    """Decode every page to 8-bit gray; a PDF is rendered at ``DPI``, images are used as scanned."""
    if b"%PDF-" in data[:1024]:
        return _pdf_pages(data, max_pages=max_pages)
    return _image_pages(data, max_pages=max_pages)


def _pdf_pages(data: bytes, *, max_pages: int) -> list[Gray]:
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise ParseError("pdf-corrupt", f"the PDF cannot be opened: {exc}") from exc
    try:
        if len(pdf) == 0:
            raise ParseError("ocr-failed", "the PDF has no pages")
        pages: list[Gray] = []
        for i in range(min(len(pdf), max_pages)):
            page = pdf[i]
            w, h = page.get_size()
            if w * h * SCALE * SCALE > MAX_PIXELS:
                raise ParseError("file-too-large", f"page {i + 1} is too large to render ({w:.0f}×{h:.0f} pt)")
            bitmap = page.render(scale=SCALE, grayscale=True)
            arr = bitmap.to_numpy()
            pages.append(np.ascontiguousarray(arr[:, :, 0] if arr.ndim == 3 else arr, dtype=np.uint8))
        return pages
    finally:
        pdf.close()


def _image_pages(data: bytes, *, max_pages: int) -> list[Gray]:
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise ParseError("file-too-large", f"the image is too large ({img.width}×{img.height} px)")
        pages: list[Gray] = []
        for i, frame in enumerate(ImageSequence.Iterator(img)):
            if i >= max_pages:
                break
            gray = frame.convert("L")
            # a scan at more than DPI is brought down: more pixels cost OCR time and add nothing
            ppp = gray.width / PAGE_W
            if ppp > SCALE * 1.15:
                gray = gray.resize(
                    (round(gray.width * SCALE / ppp), round(gray.height * SCALE / ppp)), Image.Resampling.BOX
                )
            pages.append(np.asarray(gray, dtype=np.uint8).copy())
        return pages
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ParseError("ocr-failed", f"the image cannot be decoded: {exc}") from exc


def normalise(gray: Gray) -> Gray:
    """Stretch contrast so paper is white and ink is black (photocopies are grey on grey)."""
    sample = gray[::4, ::4]
    lo = float(np.percentile(sample, 0.5))
    hi = float(np.percentile(sample, 60))
    if hi - lo < 20:
        return gray.copy()
    # a lookup table: one pass over the pixels instead of float arithmetic on each
    lut = np.clip((np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    out: Gray = lut[gray]
    return out


@dataclass(frozen=True)
class Frame:
    """Where the printed frame of a page lies in the (normalised) scan."""

    angle: float  # radians; the page content is rotated by this angle in the scan
    band_y: float  # after de-rotation about the centre: row of the band's lower edge
    rule_y: float  # row of the footer rule
    rule_x0: float  # columns of the rule's ends
    rule_x1: float
    centre: tuple[float, float]


def _band_edge_points(dark: npt.NDArray[np.bool_], ppp: float) -> tuple[npt.NDArray[np.float64], ...]:
    """Per sampled column, the row where the header band's last long dark run ends."""
    h, w = dark.shape
    top = min(h, int(110 * ppp))
    min_run = max(3, int(13 * ppp))
    xs: list[float] = []
    ys: list[float] = []
    for x in range(int(w * 0.06), int(w * 0.94), max(1, w // 200)):
        col = dark[:top, x]
        if not col.any():
            continue
        # run ends: transitions dark -> light
        padded = np.concatenate(([False], col, [False]))
        diff = np.diff(padded.astype(np.int8))
        starts = np.flatnonzero(diff == 1)
        ends = np.flatnonzero(diff == -1)
        # the band is the longest dark run near the top: white lettering in it only shortens it,
        # while the title's letters below are at most 11 pt tall
        runs = [(e - s, e) for s, e in zip(starts, ends, strict=True) if s < 60 * ppp]
        if not runs:
            continue
        length, end = max(runs)
        if length < min_run:
            continue
        xs.append(float(x))
        ys.append(float(end))
    return np.asarray(xs), np.asarray(ys)


def _fit_line(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64], tol: float) -> tuple[float, float] | None:
    if len(xs) < 12:
        return None
    keep = np.ones(len(xs), dtype=bool)
    slope, icpt = 0.0, float(np.median(ys))
    for _ in range(4):
        if keep.sum() < 8:
            return None
        slope, icpt = (float(v) for v in np.polyfit(xs[keep], ys[keep], 1))
        resid = np.abs(ys - (slope * xs + icpt))
        keep = resid <= max(tol, float(np.median(resid[keep])) * 3)
    return slope, icpt


def _rotate(gray: Gray, angle: float, centre: tuple[float, float]) -> Gray:
    img = Image.fromarray(gray)
    # PIL rotates counter-clockwise for positive degrees; undo the page's rotation
    out = img.rotate(math.degrees(angle), resample=Image.Resampling.BILINEAR, center=centre, fillcolor=255)
    return np.asarray(out, dtype=np.uint8)


def find_frame(norm: Gray) -> Frame | None:
    """Locate band edge and footer rule; None when the page does not carry the form's frame."""
    step = 2
    # min-pooling, not subsampling: a 0.8 pt rule at 200 dpi is one pixel thin and must survive
    hh, ww = norm.shape[0] // step, norm.shape[1] // step
    small = norm[: hh * step, : ww * step].reshape(hh, step, ww, step).min(axis=(1, 3))
    h, w = small.shape
    ppp = w / PAGE_W  # pixels per point, assuming the page roughly fills the image width
    dark = small < INK
    xs, ys = _band_edge_points(dark, ppp)
    line = _fit_line(xs, ys, tol=2.0)
    if line is None:
        return None
    slope, _ = line
    angle = math.atan(slope)
    if abs(angle) > math.radians(8):
        return None
    centre = (w / 2.0, h / 2.0)
    rot = _rotate(small, angle, centre) < INK if abs(angle) > 1e-4 else dark
    band_y = _band_bottom(rot, ppp)
    rule = _footer_rule(rot, ppp)
    if band_y is None or rule is None:
        return None
    rule_y, x0, x1 = rule
    # sanity: the band edge and the rule are ~ 764 pt apart, the rule ~ 499 pt long, in one scale
    sy = (rule_y - band_y) / (BAND_EDGE_PT - RULE_Y_PT)
    sx = (x1 - x0) / (PAGE_W - 2 * MARGIN)
    if sy <= 0 or not 0.9 < sx / sy < 1.1:
        return None
    return Frame(angle, band_y * step, rule_y * step, x0 * step, x1 * step, (centre[0] * step, centre[1] * step))


def _band_bottom(dark: npt.NDArray[np.bool_], ppp: float) -> float | None:
    h, w = dark.shape
    top = min(h, int(110 * ppp))
    frac = dark[:top, int(w * 0.05) : int(w * 0.95)].mean(axis=1)
    rows = np.flatnonzero(frac > 0.6)
    if len(rows) < 4 * ppp:
        return None
    # the last row of the first block of dark rows; sub-pixel: where the fraction crosses 0.5
    block_end = rows[0]
    for r in rows[1:]:
        if r - block_end > 2:
            break
        block_end = r
    r = int(block_end)
    if r + 1 < top:
        a, b = frac[r], frac[r + 1]
        return float(r + 1 + (a - 0.5) / max(a - b, 1e-6) - 0.5)
    return float(r + 1)


def _footer_rule(dark: npt.NDArray[np.bool_], ppp: float) -> tuple[float, float, float] | None:
    h = dark.shape[0]
    start = max(0, h - int(120 * ppp))
    region = dark[start:]
    frac = region.mean(axis=1)
    cand = np.flatnonzero(frac > 0.5)
    if len(cand) == 0:
        return None
    # the lowest long line: the rule sits under every field box
    last = int(cand[-1])
    # a thin rule, resampled after de-rotation, zig-zags over two or three rows
    reach = max(2, int(1.5 * ppp))
    group = np.arange(max(0, last - reach), min(len(frac), last + reach + 1))
    weights = np.where(frac[group] > 0.1, frac[group], 0.0)
    row = float(np.dot(group, weights) / weights.sum())
    band = region[group].any(axis=0)
    cols = np.flatnonzero(band)
    # longest run of ink along the rule: its ends are the rule's ends
    padded = np.concatenate(([False], band, [False]))
    diff = np.diff(padded.astype(np.int8))
    starts, ends = np.flatnonzero(diff == 1), np.flatnonzero(diff == -1)
    if len(cols) == 0 or len(starts) == 0:
        return None
    # tolerate small gaps (noise, faint toner) by merging runs closer than 2 pt
    runs: list[list[int]] = []
    for s, e in zip(starts, ends, strict=True):
        if runs and s - runs[-1][1] <= 4 * ppp:
            runs[-1][1] = int(e)
        else:
            runs.append([int(s), int(e)])
    first, last_col = max(runs, key=lambda r: r[1] - r[0])
    return start + row + 0.5, float(first), float(last_col)


def align_page(gray: Gray, frame: Frame) -> Gray:
    """Resample the scan onto the canonical A4 grid (SCALE px/pt, origin top-left) in one pass."""
    sx = (frame.rule_x1 - frame.rule_x0) / (PAGE_W - 2 * MARGIN)
    sy = (frame.rule_y - frame.band_y) / (BAND_EDGE_PT - RULE_Y_PT)
    cx, cy = frame.centre
    cos, sin = math.cos(frame.angle), math.sin(frame.angle)
    # canonical (u, v) -> point (x, y_from_top) -> de-rotated scan (xr, yr) -> scan (xs, ys)
    # xr = rule_x0 + (u/S - MARGIN) * sx ; yr = band_y + (v/S - 30) * sy
    # the de-rotated frame was made by rotating the scan by -angle about the centre, so
    # xs = cx + (xr-cx)cos - (yr-cy)sin ; ys = cy + (xr-cx)sin + (yr-cy)cos
    ax, bx = sx / SCALE, frame.rule_x0 - MARGIN * sx - cx
    ay, by = sy / SCALE, frame.band_y - (PAGE_H - BAND_EDGE_PT) * sy - cy
    coeffs = (
        ax * cos,
        -ay * sin,
        cx + bx * cos - by * sin,
        ax * sin,
        ay * cos,
        cy + bx * sin + by * cos,
    )
    size = (round(PAGE_W * SCALE), round(PAGE_H * SCALE))
    img = Image.fromarray(gray).transform(
        size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR, fillcolor=255
    )
    return np.asarray(img, dtype=np.uint8)


def correct_horizontal(page: Gray, frame: Frame, boxes: list[Box]) -> Frame:
    """Re-fit the horizontal scale from the boxes' own left and right borders (x = MARGIN, PAGE_W - MARGIN).

    The footer rule's ends are short features a speck or a faint end can move by points; the
    vertical borders of the full-width boxes are long, and only box rows are looked at, so the red
    bars of the section headings just left of the margin do not count.
    """
    h, w = page.shape
    ends = []
    for x_pt, side in ((MARGIN, 0), (PAGE_W - MARGIN, 1)):
        rows = np.zeros(h, dtype=bool)
        for b in boxes:
            if abs((b.x0, b.x1)[side] - x_pt) < 0.5:
                # the strips 1-3 pt inside the top and bottom borders: the borders' sides run
                # through them, the values (whose first letters line up 3 pt right of the
                # border) never reach them
                _, top, _, bottom = box_px(b)
                rows[int(top + SCALE) : int(top + 3 * SCALE)] = True
                rows[int(bottom - 3 * SCALE) : int(bottom - SCALE)] = True
        if rows.sum() < 20:
            return frame
        lo, hi = int((x_pt - 8) * SCALE), min(w, int((x_pt + 8) * SCALE))
        profile = (page[rows, lo:hi] < INK + 40).mean(axis=0)
        best = int(np.argmax(profile))
        if profile[best] < 0.3:
            return frame
        ends.append(lo + best + 0.5)
    sx = (frame.rule_x1 - frame.rule_x0) / (PAGE_W - 2 * MARGIN)
    # canonical column u lies at rule_x0 + (u / SCALE - MARGIN) * sx in the de-rotated scan
    x0 = frame.rule_x0 + (ends[0] / SCALE - MARGIN) * sx
    x1 = frame.rule_x0 + (ends[1] / SCALE - MARGIN) * sx
    return dataclasses.replace(frame, rule_x0=x0, rule_x1=x1)


def box_px(box: Box) -> tuple[float, float, float, float]:
    """A layout box (points, origin bottom-left) on the canonical grid: (left, top, right, bottom) pixels."""
    return box.x0 * SCALE, (PAGE_H - box.y1) * SCALE, box.x1 * SCALE, (PAGE_H - box.y0) * SCALE


def _edge(profile: npt.NDArray[np.float64], lo: int, hi: int, expect: float) -> float | None:
    lo, hi = max(lo, 0), min(hi, len(profile))
    if hi - lo < 2:
        return None
    window = profile[lo:hi]
    best = int(np.argmax(window))
    if window[best] < 0.35:
        return None
    # several lines of equal strength (a border next to an underline): take the one nearest
    strong = np.flatnonzero(window >= window[best] * 0.8) + lo
    return float(strong[np.argmin(np.abs(strong - expect))])


def refine_box(page: Gray, box: Box, *, search_pt: float = 4.0) -> tuple[int, int, int, int]:
    """The printed border of a layout box, re-found near where the layout puts it: (l, t, r, b) px.

    Any side that cannot be found keeps the layout's position.
    """
    left, top, right, bottom = box_px(box)
    s = search_pt * SCALE
    h, w = page.shape
    dark = page < INK + 40  # borders are grey (#7A7A7A), lighter than text
    il, ir = int(left + 0.25 * (right - left)), int(right - 0.25 * (right - left))
    y0, y1 = max(0, int(top - s)), min(h, int(bottom + s) + 1)
    x0, x1 = max(0, int(left - s)), min(w, int(right + s) + 1)
    rows = dark[y0:y1, il:ir].mean(axis=1).astype(np.float64)
    # the sides are looked for only in the bands next to the top and bottom borders, where no
    # letter reaches: a value's first letter sits 3 pt from the border and has a stem of its own
    band = max(2, round(0.2 * (bottom - top)))
    side_rows = np.r_[int(top) + 2 : int(top) + band, int(bottom) - band : int(bottom) - 1]
    side_rows = side_rows[(side_rows >= 0) & (side_rows < h)]
    cols = dark[side_rows, x0:x1].mean(axis=0).astype(np.float64)
    t = _edge(rows, 0, int(2 * s), top - y0)
    b = _edge(rows, int(bottom - y0 - s), len(rows), bottom - y0)
    lft = _edge(cols, 0, int(2 * s), left - x0)
    rgt = _edge(cols, int(right - x0 - s), len(cols), right - x0)
    return (
        round(x0 + lft) if lft is not None else round(left),
        round(y0 + t) if t is not None else round(top),
        round(x0 + rgt) if rgt is not None else round(right),
        round(y0 + b) if b is not None else round(bottom),
    )


def ink_ratio(page: Gray, rect: tuple[int, int, int, int]) -> float:
    """Share of ink pixels inside a rectangle (l, t, r, b), single specks of noise discounted."""
    left, top, right, bottom = rect
    if right <= left or bottom <= top:
        return 0.0
    dark = page[top:bottom, left:right] < INK
    if dark.size == 0:
        return 0.0
    # a pixel counts when it has an ink neighbour both vertically and horizontally: isolated
    # noise specks are not strokes
    pad = np.pad(dark, 1)
    vert = pad[:-2, 1:-1] | pad[2:, 1:-1]
    horiz = pad[1:-1, :-2] | pad[1:-1, 2:]
    core = dark & vert & horiz
    return float(core.mean())
