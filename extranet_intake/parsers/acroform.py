"""Reading a fillable PDF with pypdf: open (encryption), active-content warnings, and the AcroForm fields.

Fields are read in one walk of ``/AcroForm /Fields`` (no ``get_fields()``, no page flattening).
Tick boxes and radio groups are read against each field's OWN on-state names — the keys of its
widgets' ``/AP /N``, its ``/Opt`` export values — because forms saved by other tools use ``/1``,
``/Ja``, ``/Oui`` or only set the widget's ``/AS``; a hard-coded ``/Yes`` would read them as blank.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

from extranet_intake.errors import ParseError
from extranet_intake.parsers.forms import FORMS, FieldKind, FormId, Lang, layout
from extranet_intake.parsers.result import Issue
from extranet_intake.parsers.validate import RawValue

__all__ = ["AcroField", "PdfDocument", "open_pdf", "resolve_fields"]

_OFF = "Off"
_MAX_DEPTH = 16  # real forms nest 3–4 levels; deeper is a hostile file
_MAX_FIELDS = 2000
_MAX_PAGES_SCANNED = 50
_INDEX_SUFFIX = re.compile(r"\[\d+\]$")
_RADIO = 1 << 15
_PUSHBUTTON = 1 << 16


@dataclass
class Widget:
    rect: tuple[float, float, float, float] | None
    appearance: str | None  # /AS: the state the widget shows
    on_states: tuple[str, ...]  # /AP /N keys other than /Off


@dataclass
class AcroField:
    """One terminal field as stored, before it is read against the form definition."""

    name: str
    ft: str | None
    flags: int
    value: Any
    opt: list[str] | None
    widgets: list[Widget] = field(default_factory=list)


@dataclass
class PdfDocument:
    """What one pass over the PDF's catalog found."""

    reader: PdfReader
    fields: dict[str, AcroField]
    warnings: list[Issue]


def _obj(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


#: 64 arrays or dictionaries opened in a row: no producer writes that, parsers recurse on it (each
#: pattern starts with a literal so the scan skips ahead: ~0.1 ms for a form)
_DEEP_ARRAYS = re.compile(rb"\[(?:\s*\[){63}")
_DEEP_DICTS = re.compile(rb"<<(?:\s*/[^\s/<>\[\]()]{1,127}\s*<<){63}")
_XOBJECT_SCAN_LIMIT = 2000


def open_pdf(data: bytes) -> PdfDocument:
    """Open the PDF, refuse user-password encryption, note active content, collect the fields."""
    if b"%%EOF" not in data[-8192:]:
        # cut off in transit or by a size limit: what is left may parse, but not as what was sent
        raise ParseError("pdf-corrupt", "the PDF is truncated (no end-of-file marker)")
    if _DEEP_ARRAYS.search(data) or _DEEP_DICTS.search(data):
        raise ParseError("hostile-structure", "the PDF nests its objects too deeply to be read safely")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            # an owner password alone (empty user password) only restricts editing: read normally
            raise ParseError("pdf-encrypted", "the PDF is protected by a password; send it without one")
        root = reader.trailer["/Root"].get_object()
        if not isinstance(root, DictionaryObject):
            raise ParseError("pdf-corrupt", "the PDF has no document catalog")
        warnings = _Actions()
        fields = _read_fields(root, warnings)
        _scan_catalog(root, warnings)
    except ParseError:
        raise
    except RecursionError as exc:
        raise ParseError("hostile-structure", "the PDF nests its objects too deeply to be read safely") from exc
    except (
        PdfReadError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OSError,
        AssertionError,
        NotImplementedError,
        UnicodeError,
        ArithmeticError,
    ) as exc:
        raise ParseError("pdf-corrupt", f"the PDF is damaged and cannot be read: {exc}") from exc
    return PdfDocument(reader, fields, warnings.issues())


class _Actions:
    def __init__(self) -> None:
        self.javascript = False
        self.launch = False
        self.embedded = False
        self.xfa = False

    def action(self, node: DictionaryObject) -> None:
        if "/AA" in node:
            self.javascript = True
        act = _obj(node.get("/A"))
        if isinstance(act, DictionaryObject):
            if act.get("/S") == "/Launch":
                self.launch = True
            elif act.get("/S") == "/JavaScript" or "/JS" in act:
                self.javascript = True

    def issues(self) -> list[Issue]:
        # codes of parsers.result.ACTIVE_CONTENT_CODES: each sends the form to a person, with these words
        out = []
        if self.javascript:
            out.append(
                Issue("pdf-javascript-ignored", "the PDF carries JavaScript or automatic actions; they were not run")
            )
        if self.launch:
            out.append(
                Issue(
                    "pdf-launch-action-ignored",
                    "the PDF carries a launch action (it asks the viewer "
                    "to start a program or open a file); it was not run",
                )
            )
        if self.embedded:
            out.append(
                Issue("pdf-embedded-files-ignored", "the PDF carries embedded files; they were not extracted or opened")
            )
        if self.xfa:
            out.append(
                Issue(
                    "pdf-xfa-ignored",
                    "the PDF carries an XFA form (a second form that some viewers "
                    "show instead); only its AcroForm fields were read",
                )
            )
        return out


def _scan_catalog(root: DictionaryObject, acts: _Actions) -> None:
    open_action = _obj(root.get("/OpenAction"))
    if isinstance(open_action, DictionaryObject):
        acts.action(DictionaryObject({NameObject("/A"): open_action}))
    if "/AA" in root:
        acts.javascript = True
    names = _obj(root.get("/Names"))
    if isinstance(names, DictionaryObject):
        if "/JavaScript" in names:
            acts.javascript = True
        if "/EmbeddedFiles" in names:
            acts.embedded = True
    pages = _obj(root.get("/Pages"))
    stack: list[tuple[Any, int]] = [(pages, 0)]
    seen: set[int] = set()
    scanned = 0
    while stack and scanned < _MAX_PAGES_SCANNED:
        node, depth = stack.pop()
        node = _obj(node)
        if not isinstance(node, DictionaryObject) or id(node) in seen or depth > _MAX_DEPTH:
            continue
        seen.add(id(node))
        if "/AA" in node:
            acts.javascript = True
        kids = _obj(node.get("/Kids"))
        if isinstance(kids, ArrayObject):
            stack.extend((k, depth + 1) for k in reversed(kids))
            continue
        scanned += 1
        _check_xobjects(node)
        annots = _obj(node.get("/Annots"))
        if isinstance(annots, ArrayObject):
            for a in annots[:500]:
                annot = _obj(a)
                if not isinstance(annot, DictionaryObject):
                    continue
                if annot.get("/Subtype") == "/FileAttachment":
                    acts.embedded = True
                acts.action(annot)


def _check_xobjects(page: DictionaryObject) -> None:
    """Refuse a form XObject that draws itself (directly or through others): renderers recurse forever."""
    resources = _obj(page.get("/Resources"))
    # (xobject dictionary of a resources dict, the chain of form XObjects that led there)
    stack: list[tuple[Any, tuple[int, ...]]] = []
    if isinstance(resources, DictionaryObject):
        stack.append((resources.get("/XObject"), ()))
    visited = 0
    while stack:
        xobjects, chain = stack.pop()
        xobjects = _obj(xobjects)
        if not isinstance(xobjects, DictionaryObject):
            continue
        for ref in xobjects.values():
            visited += 1
            if visited > _XOBJECT_SCAN_LIMIT or len(chain) > _MAX_DEPTH:
                raise ParseError("hostile-structure", "the PDF's drawings nest too deeply to be read safely")
            key = ref.idnum if isinstance(ref, IndirectObject) else id(ref)
            if key in chain:
                raise ParseError(
                    "hostile-structure", "a drawing of the PDF contains itself (self-referencing form XObject)"
                )
            xobj = _obj(ref)
            if isinstance(xobj, DictionaryObject) and xobj.get("/Subtype") == "/Form":
                inner = _obj(xobj.get("/Resources"))
                if isinstance(inner, DictionaryObject):
                    stack.append((inner.get("/XObject"), (*chain, key)))


def _read_fields(root: DictionaryObject, acts: _Actions) -> dict[str, AcroField]:
    acro = _obj(root.get("/AcroForm"))
    if not isinstance(acro, DictionaryObject):
        return {}
    if "/XFA" in acro:
        # what an XFA viewer shows may differ from the AcroForm values read here
        acts.xfa = True
    top = _obj(acro.get("/Fields"))
    if not isinstance(top, ArrayObject):
        return {}
    out: dict[str, AcroField] = {}
    seen: set[int] = set()
    # (node, parent name, inherited /FT, /Ff, /V, /Opt, depth)
    stack: list[tuple[Any, str, Any, int, Any, Any, int]] = [(k, "", None, 0, None, None, 0) for k in reversed(top)]
    while stack:
        ref, prefix, ft, ff, v, opt, depth = stack.pop()
        node = _obj(ref)
        if not isinstance(node, DictionaryObject) or id(node) in seen:
            continue
        if depth > _MAX_DEPTH or len(out) > _MAX_FIELDS:
            raise ParseError("hostile-structure", "the PDF's form fields nest too deeply or are too many")
        seen.add(id(node))
        acts.action(node)
        partial = node.get("/T")
        name = (
            f"{prefix}.{partial}" if prefix and partial is not None else str(partial) if partial is not None else prefix
        )
        ft = node.get("/FT", ft)
        ff = int(node.get("/Ff", ff))
        v = node.get("/V", v)
        opt = node.get("/Opt", opt)
        kids = _obj(node.get("/Kids"))
        if isinstance(kids, ArrayObject) and any(
            isinstance(_obj(k), DictionaryObject) and "/T" in _obj(k) for k in kids
        ):
            stack.extend((k, name, ft, ff, v, opt, depth + 1) for k in reversed(kids))
            continue
        f = AcroField(name, str(ft) if ft is not None else None, ff, _obj(v), _opt_list(opt))
        for w in kids if isinstance(kids, ArrayObject) else ():
            widget = _obj(w)
            if isinstance(widget, DictionaryObject):
                acts.action(widget)
                if f.ft == "/Btn":
                    f.widgets.append(_widget(widget))
        if f.ft == "/Btn" and not isinstance(kids, ArrayObject):
            # only buttons need their widgets' states and places; a text widget's appearance stream is
            # never parsed (that is what keeps this walk cheaper than get_fields())
            f.widgets.append(_widget(node))
        out[name] = f
    return out


def _widget(w: DictionaryObject) -> Widget:
    rect = _obj(w.get("/Rect"))
    box = None
    if isinstance(rect, ArrayObject) and len(rect) == 4:
        x0, y0, x1, y1 = (float(_obj(c)) for c in rect)
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    states: tuple[str, ...] = ()
    ap = _obj(w.get("/AP"))
    if isinstance(ap, DictionaryObject):
        normal = _obj(ap.get("/N"))
        if isinstance(normal, DictionaryObject):
            states = tuple(str(k)[1:] for k in normal if k != "/Off")
    appearance = w.get("/AS")
    return Widget(box, str(appearance)[1:] if isinstance(appearance, NameObject) else None, states)


def _opt_list(opt: Any) -> list[str] | None:
    opt = _obj(opt)
    if not isinstance(opt, ArrayObject):
        return None
    out = []
    for item in opt:
        item = _obj(item)
        if isinstance(item, ArrayObject) and item:
            item = _obj(item[0])  # [export value, display text]
        out.append(_text(item) or "")
    return out


def _text(value: PdfObject | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, NameObject):
        return str(value)[1:]
    if isinstance(value, TextStringObject):
        return str(value)
    if isinstance(value, ByteStringObject):
        return bytes(value).decode("latin-1")
    if isinstance(value, ArrayObject):
        parts = [_text(_obj(v)) for v in value]
        return ", ".join(p for p in parts if p)
    if isinstance(value, NumberObject | float | int | str):
        return str(value)
    return None


def _machine_name(name: str, known: frozenset[str]) -> str:
    if name in known:
        return name
    # tools wrap fields in parents ("form1[0].page1[0].org_name[0]"): the last part is the name
    return _INDEX_SUFFIX.sub("", name.rsplit(".", 1)[-1])


def _selected_state(f: AcroField) -> str | None:
    value = _text(f.value) if f.value is not None else None
    if value and value != _OFF:
        return value
    # appearance-only: no /V, the widget's /AS says which state it shows
    for w in f.widgets:
        if w.appearance and w.appearance != _OFF:
            return w.appearance
    return None


def _ticked(f: AcroField) -> bool:
    states = {s for w in f.widgets for s in w.on_states}
    value = _text(f.value) if f.value is not None else None
    if value and value != _OFF and (not states or value in states):
        return True
    # no /V, or a /V naming no state the box has (a viewer would show it blank): trust /AS
    return any(w.appearance and w.appearance != _OFF and (not states or w.appearance in states) for w in f.widgets)


def _choice(f: AcroField, name: str, form_id: FormId, lang: Lang | None) -> str | None:
    if f.ft == "/Tx" or f.ft == "/Ch":
        return _text(f.value)  # a text field holding the machine value is accepted
    state = _selected_state(f)
    if state is None:
        return None
    definition = FORMS[form_id].field(name)
    values = {v.casefold(): v for v in definition.values}
    if f.opt and state.isdigit() and int(state) < len(f.opt):
        # /Opt: the on-states are indexes and /Opt holds the export values
        exported = f.opt[int(state)]
        return values.get(exported.strip().casefold(), exported)
    if state.casefold() in values:
        return values[state.casefold()]
    # a tool that named the states itself (/1, /Choice2, /Ja): the ticked widget's place says which option
    widget = next((w for w in f.widgets if state in w.on_states or w.appearance == state), None)
    if widget is not None and widget.rect is not None:
        placed = next(p for p in layout(form_id, lang or Lang.NL)[0] if p.field.name == name)
        cx, cy = (widget.rect[0] + widget.rect[2]) / 2, (widget.rect[1] + widget.rect[3]) / 2
        best = min(
            placed.ticks.items(),
            key=lambda kv: ((kv[1].x0 + kv[1].x1) / 2 - cx) ** 2 + ((kv[1].y0 + kv[1].y1) / 2 - cy) ** 2,
        )
        return best[0]
    if widget is not None and len(f.widgets) == len(definition.options):
        return definition.options[f.widgets.index(widget)].value
    return state


def resolve_fields(fields: dict[str, AcroField], form_id: FormId, lang: Lang | None) -> dict[str, RawValue]:
    """Read each stored field against the form definition: text, ticked or not, chosen option."""
    form = FORMS[form_id]
    known = form.field_names
    out: dict[str, RawValue] = {}
    for full, f in fields.items():
        name = _machine_name(full, known)
        if name not in known:
            continue
        kind = form.field(name).kind
        if kind is FieldKind.SIGNATURE:
            if f.ft == "/Sig" and f.value is not None:
                out[name] = True
        elif kind is FieldKind.CHECKBOX:
            out[name] = _ticked(f) if f.ft == "/Btn" else _text(f.value)
        elif kind is FieldKind.CHOICE:
            out[name] = _choice(f, name, form_id, lang)
        elif f.ft != "/Btn":
            out[name] = _text(f.value)
    return out


def hidden_ids(fields: dict[str, AcroField]) -> tuple[str | None, str | None, str | None]:
    """The hidden ``form_id``, ``form_version``, ``form_lang`` of a fillable form, if it has them."""

    def get(name: str) -> str | None:
        f = fields.get(name)
        return _text(f.value) if f is not None and f.value is not None else None

    return get("form_id"), get("form_version"), get("form_lang")
