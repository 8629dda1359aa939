"""The part of a scan one field was read from: the page aligned as the OCR aligns it, cropped to the field's box."""

from __future__ import annotations

from extranet_intake.parsers.forms import PAGE_SIZE, FormId, Lang, layout
from extranet_intake.parsers.ocr_image import SCALE, Gray, align_page, find_frame, load_pages, normalise

__all__ = ["field_crop"]

#: around the writing box, so a reviewer sees the label and any writing over the border
PAD_PT = 8.0
MAX_PAGES = 4


def field_crop(data: bytes, form_id: str, field: str) -> Gray | None:
    """The aligned scan around ``field``'s box, or None when the scan has no frame or no such field."""
    try:
        fid = FormId(form_id)
    except ValueError:
        return None
    placed = {p.field.name: p for p in layout(fid, Lang.NL)[0]}
    if field not in placed:
        return None
    for page in load_pages(data, max_pages=MAX_PAGES):
        norm = normalise(page)
        frame = find_frame(norm)
        if frame is None:
            continue
        canon = align_page(norm, frame)
        box = placed[field].box
        pad = PAD_PT * SCALE
        left = max(0, round(box.x0 * SCALE - pad))
        top = max(0, round((PAGE_SIZE[1] - box.y1) * SCALE - pad))
        right = min(canon.shape[1], round(box.x1 * SCALE + pad))
        bottom = min(canon.shape[0], round((PAGE_SIZE[1] - box.y0) * SCALE + pad))
        if right <= left or bottom <= top:
            return None
        return canon[top:bottom, left:right]
    return None
