"""The form renderer: blank or filled fillable PDFs and flattened copies, from the one form definition.

Everything it draws — labels, boxes, tick boxes, signature box, footer — comes from
``parsers.forms`` (definitions and layout), so what the readers crop is exactly what was printed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFString
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from extranet_intake.errors import ConfigError
from extranet_intake.mailer.identity import SERVICE_ADDRESS
from extranet_intake.parsers.forms import (
    CONTRACT_FIELDS,
    FORMS,
    MARGIN,
    PAGE_SIZE,
    Box,
    FieldKind,
    FormId,
    Lang,
    PlacedField,
    footer_text,
    layout,
)

__all__ = ["RenderValue", "render_form"]

RenderValue = str | bool | list[str] | None

BRAND = HexColor("#C8102E")  # Ethias red
INK = HexColor("#1D1D1B")
MUTED = HexColor("#5B5B5B")
SECTION_BG = HexColor("#F1F1F1")
BOX_LINE = HexColor("#7A7A7A")
FONT, BOLD = "Helvetica", "Helvetica-Bold"

_ADDRESS = {
    Lang.NL: "Ethias NV · Dienst Life Second Pillar (1315) · Kruisherenstraat 24, 4000 Luik · " + SERVICE_ADDRESS,
    Lang.FR: "Ethias SA · Service Life Second Pillar (1315) · Rue des Croisiers 24, 4000 Liège · " + SERVICE_ADDRESS,
}
_PLATFORM = {Lang.NL: "Extranet Aanvullend Pensioen", Lang.FR: "Extranet Pension complémentaire"}
_PAGE = {Lang.NL: "pagina", Lang.FR: "page"}


def render_form(
    form_id: FormId | str,
    lang: Lang | str,
    values: Mapping[str, RenderValue] | None = None,
    *,
    flatten: bool = False,
    signed: bool = False,
) -> bytes:
    """Render the form: fillable (blank when ``values`` is None) or, with ``flatten``, printed text only.

    ``values`` holds what a person would type (dates ``dd/mm/yyyy``, choices as machine values,
    tick boxes as bool, contracts as ``contract_N`` keys or a ``contracts`` list). ``signed`` draws
    an ink scribble in the signature box (scans and flattened copies of signed forms).
    """
    fid, lg = FormId(form_id), Lang(lang)
    vals = _expand_contracts(values or {})
    unknown = set(vals) - FORMS[fid].field_names
    if unknown:
        raise ConfigError(
            "render-unknown-field", f"{fid} has no field(s) {', '.join(sorted(unknown))}", form_id=str(fid)
        )
    placed, texts = layout(fid, lg)
    pages = max(p.page for p in placed) + 1
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=PAGE_SIZE, pageCompression=1)
    c.setTitle(f"{FORMS[fid].title(lg)} ({footer_text(fid)})")
    c.setAuthor("Ethias")
    c.setSubject(footer_text(fid))
    for page in range(pages):
        _page_frame(c, fid, lg, page, pages)
        for t in texts:
            if t.page == page:
                _static_text(c, t.kind, t.at, t.text)
        for pf in placed:
            if pf.page == page:
                _draw_field(c, pf, lg, vals.get(pf.field.name), flatten=flatten, signed=signed)
        if page == 0 and not flatten:
            _hidden_ids(c, fid, lg)
        c.showPage()
    c.save()
    return buf.getvalue()


def _expand_contracts(values: Mapping[str, RenderValue]) -> dict[str, RenderValue]:
    vals = {k: v for k, v in values.items() if k != "contracts"}
    contracts = values.get("contracts")
    if isinstance(contracts, list):
        for name, number in zip(CONTRACT_FIELDS, contracts, strict=False):
            vals[name] = number
    return vals


def _page_frame(c: Canvas, fid: FormId, lg: Lang, page: int, pages: int) -> None:
    w, h = PAGE_SIZE
    c.setFillColor(BRAND)
    c.rect(0, h - 30, w, 30, stroke=0, fill=1)
    c.setFillColor(white)
    c.setFont(BOLD, 15)
    c.drawString(MARGIN, h - 21, "ethias")
    c.setFont(FONT, 9)
    c.drawRightString(w - MARGIN, h - 19, _PLATFORM[lg])
    c.setFillColor(MUTED)
    c.setFont(FONT, 7)
    c.drawString(MARGIN, MARGIN - 10, footer_text(fid))
    c.drawCentredString(w / 2, MARGIN - 10, _ADDRESS[lg])
    c.drawRightString(w - MARGIN, MARGIN - 10, f"{_PAGE[lg]} {page + 1}/{pages}")
    c.setStrokeColor(BRAND)
    c.setLineWidth(0.8)
    c.line(MARGIN, MARGIN - 2, w - MARGIN, MARGIN - 2)


def _static_text(c: Canvas, kind: str, at: tuple[float, float], text: str) -> None:
    x, y = at
    if kind == "title":
        c.setFillColor(INK)
        c.setFont(BOLD, 15)
        c.drawString(x, y, text)
    elif kind == "section":
        c.setFillColor(SECTION_BG)
        c.rect(x - 4, y - 4, PAGE_SIZE[0] - 2 * MARGIN + 8, 16, stroke=0, fill=1)
        c.setFillColor(BRAND)
        c.rect(x - 4, y - 4, 3, 16, stroke=0, fill=1)
        c.setFillColor(INK)
        c.setFont(BOLD, 10)
        c.drawString(x + 4, y, text)
    else:
        c.setFillColor(MUTED)
        c.setFont(FONT, 7.5)
        c.drawString(x, y, text)


def _fit(text: str, width: float, size: float = 10.0) -> float:
    while size > 5 and stringWidth(text, FONT, size) > width:
        size -= 0.5
    return size


def _draw_field(c: Canvas, pf: PlacedField, lg: Lang, value: RenderValue, *, flatten: bool, signed: bool) -> None:
    f, box = pf.field, pf.box
    c.setFillColor(INK)
    c.setFont(FONT, 7.5)
    c.drawString(*pf.label_at, f.label(lg) + (" *" if f.required else ""))
    c.setStrokeColor(BOX_LINE)
    c.setLineWidth(0.6)
    form = c.acroForm
    if f.kind is FieldKind.SIGNATURE:
        c.rect(box.x0, box.y0, box.width, box.height, stroke=1, fill=0)
        if signed:
            _scribble(c, box.x0 + 20, box.y0 + 12, box.width * 0.35)
        if not flatten:
            _signature_field(c, box)
        return
    if f.kind is FieldKind.CHECKBOX:
        tick = pf.ticks["on"]
        c.rect(tick.x0, tick.y0, tick.width, tick.height, stroke=1, fill=0)
        if flatten:
            if value is True:
                _cross(c, tick)
        else:
            form.checkbox(
                name=f.name,
                tooltip=f.label(lg),
                checked=value is True,
                x=tick.x0,
                y=tick.y0,
                size=tick.width,
                buttonStyle="cross",
                shape="square",
                borderWidth=0,
                fillColor=white,
                borderColor=BOX_LINE,
                textColor=black,
                forceBorder=False,
            )
        return
    if f.kind is FieldKind.CHOICE:
        for opt in f.options:
            tick = pf.ticks[opt.value]
            c.setFillColor(INK)
            c.setFont(FONT, 8.5)
            c.drawString(tick.x1 + 4, tick.y0 + 1.5, opt.label(lg))
            c.rect(tick.x0, tick.y0, tick.width, tick.height, stroke=1, fill=0)
            if flatten:
                if value == opt.value:
                    _cross(c, tick)
            else:
                form.radio(
                    name=f.name,
                    tooltip=f.label(lg),
                    value=opt.value,
                    selected=value == opt.value,
                    x=tick.x0,
                    y=tick.y0,
                    size=tick.width,
                    buttonStyle="cross",
                    shape="square",
                    borderWidth=0,
                    fillColor=white,
                    borderColor=BOX_LINE,
                    textColor=black,
                    forceBorder=False,
                )
        return
    c.rect(box.x0, box.y0, box.width, box.height, stroke=1, fill=0)
    text = "" if value is None or isinstance(value, bool | list) else str(value)
    if flatten:
        if text:
            size = _fit(text, box.width - 6)
            c.setFillColor(INK)
            c.setFont(FONT, size)
            c.drawString(box.x0 + 3, box.y0 + (box.height - size) / 2 + 1.5, text)
    else:
        form.textfield(
            name=f.name,
            tooltip=f.label(lg),
            value=text,
            x=box.x0 + 0.5,
            y=box.y0 + 0.5,
            width=box.width - 1,
            height=box.height - 1,
            borderWidth=0,
            fontName=FONT,
            fontSize=_fit(text, box.width - 6, 9.0) if text else 9,
            textColor=INK,
            fillColor=Color(1, 1, 1, alpha=0),
            maxlen=f.max_len,
            forceBorder=False,
        )


def _cross(c: Canvas, tick: Any) -> None:
    # A typed "X" (not just lines) so the text layer of a flattened copy says which box is ticked.
    c.setFillColor(INK)
    c.setFont(BOLD, tick.height)
    c.drawCentredString((tick.x0 + tick.x1) / 2, tick.y0 + tick.height * 0.15, "X")


def _scribble(c: Canvas, x: float, y: float, width: float) -> None:
    c.setStrokeColor(HexColor("#1A2B6D"))
    c.setLineWidth(1.3)
    p = c.beginPath()
    p.moveTo(x, y + 10)
    p.curveTo(x + width * 0.2, y + 40, x + width * 0.3, y - 5, x + width * 0.45, y + 22)
    p.curveTo(x + width * 0.6, y + 45, x + width * 0.7, y, x + width, y + 18)
    c.drawPath(p, stroke=1, fill=0)


def _hidden_ids(c: Canvas, fid: FormId, lg: Lang) -> None:
    for i, (name, value) in enumerate(
        (("form_id", str(fid)), ("form_version", FORMS[fid].version), ("form_lang", str(lg)))
    ):
        c.acroForm.textfield(
            name=name,
            value=value,
            x=1 + i * 3,
            y=1,
            width=2,
            height=2,
            borderWidth=0,
            fieldFlags="readOnly",
            annotationFlags="hidden",
            forceBorder=False,
        )


def _signature_field(c: Canvas, box: Box) -> None:
    # reportlab has no signature fields; add an empty /Sig widget over the drawn box the way its own
    # acroform module adds widgets, so signing tools (and our readers) find it where the form says.
    doc = c._doc
    widget = PDFDictionary(
        {
            "Type": PDFName("Annot"),
            "Subtype": PDFName("Widget"),
            "FT": PDFName("Sig"),
            "T": PDFString("signature"),
            "F": 4,
            "P": doc.thisPageRef(),
            "Rect": PDFArray((box.x0, box.y0, box.x1, box.y1)),
        }
    )
    c._addAnnotation(widget)
    c.acroForm.fields.append(c.acroForm.getRef(widget))
