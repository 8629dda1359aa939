"""The scanned-form samples: filled forms from the renderer, rasterised and degraded like real scans, with a manifest.

Each sample is a flattened, filled form (``intake.form_pdf``) rendered at 200–300 dpi, rotated up to
±3°, shifted, blurred, with sensor noise and JPEG artefacts; a "photocopy" set is grey and low in
contrast; a few carry one field written by hand (per-letter jittered strokes in a slanted face, in
blue ink) — those must end in review, never with a guessed value. Files are image-only PDFs
(JPEG inside), PNG (16 greys), JPEG and TIFF (black and white, group 4). ``manifest.json``
holds, per file, the true values (normalised as the validator gives them) and the expected
outcome. Everything comes from one seeded random source, so the same seed and day give the same
files.
"""

from __future__ import annotations

import io
import json
import random
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from extranet_intake.intake.form_pdf import RenderValue, render_form
from extranet_intake.parsers.forms import CONTRACT_FIELDS, PAGE_SIZE, FieldKind, FormId, Lang, layout
from extranet_intake.parsers.validate import validate

__all__ = [
    "REFERENCE_DATE",
    "ScanFormat",
    "ScanSpec",
    "Variant",
    "generate_scans",
    "make_scan",
    "random_values",
    "scan_specs",
]


#: the day the sample values are written for (signing dates before it, end dates after it), so the
#: same command writes the same files whenever it runs
REFERENCE_DATE = date(2026, 11, 20)


class Variant(StrEnum):
    CLEAN = "clean"  # a good office scanner
    NOISY = "noisy"  # noise, blur, strong JPEG
    PHOTOCOPY = "photocopy"  # grey, low contrast, uneven toner
    HANDWRITTEN = "handwritten"  # one field written by hand


class ScanFormat(StrEnum):
    PDF = "pdf"
    PNG = "png"
    JPEG = "jpg"
    TIFF = "tif"


@dataclass(frozen=True)
class ScanSpec:
    name: str
    form_id: FormId
    lang: Lang
    variant: Variant
    fmt: ScanFormat
    dpi: int
    angle: float
    seed: int


# --------------------------------------------------------------------------- values

_FIRST = [
    "Jan",
    "Pieter",
    "Sofie",
    "Lotte",
    "Wouter",
    "Annelies",
    "Koen",
    "Els",
    "Bart",
    "Griet",
    "Jozef",
    "Inge",
    "Éloïse",
    "François",
    "Amélie",
    "Jérôme",
    "Céline",
    "Hélène",
    "Benoît",
    "Noémie",
    "Loïc",
    "Gaëlle",
    "Thérèse",
    "Raphaël",
    "Marc",
    "Nathalie",
]
_LAST = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Van den Bossche",
    "Vermeulen",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Leclercq",
    "Renard",
    "Hubert",
    "Delvaux",
    "Mathieu",
    "Van Acker",
    "D'Hondt",
]
_ORGS = [
    ("Brouwerij Het Anker NV", "hetanker.be"),
    ("Bouwbedrijf Claes & Zonen BV", "claes-bouw.be"),
    ("Boulangerie Delvaux SRL", "delvaux.be"),
    ("Transports Mathieu SA", "transmathieu.be"),
    ("Tuincentrum De Linde BV", "delinde.be"),
    ("Imprimerie Lefèvre SC", "lefevre-print.be"),
    ("Garage Peeters BV", "garagepeeters.be"),
    ("Clinique Saint-Luc ASBL", "stluc.be"),
    ("Stad Mechelen", "mechelen.be"),
    ("Commune d'Uccle", "uccle.brussels"),
]
_FUNCTIONS = [
    "Zaakvoerder",
    "HR-manager",
    "Directeur financier",
    "Gérante",
    "Payroll officer",
    "Administrateur délégué",
    "Boekhouder",
    "Responsable RH",
    "Personeelsdienst",
]
_STREETS = [
    "Kerkstraat 12",
    "Rue de la Station 45",
    "Meir 101 bus 3",
    "Chaussée de Louvain 210",
    "Grote Markt 1",
    "Avenue Louise 331",
    "Nieuwstraat 7A",
]
_CITIES = [
    ("2000", "Antwerpen"),
    ("4000", "Liège"),
    ("9000", "Gent"),
    ("1180", "Uccle"),
    ("3000", "Leuven"),
    ("5000", "Namur"),
    ("8000", "Brugge"),
    ("6000", "Charleroi"),
]


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isalnum() and c.isascii()).lower()


def _enterprise(rng: random.Random) -> str:
    base = f"{rng.choice('01')}{rng.randrange(10**7):07d}"
    digits = f"{base}{97 - int(base) % 97:02d}"
    style = rng.randrange(4)
    if style == 0:
        return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"
    if style == 1:
        return f"BE{digits}"
    if style == 2:
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    return digits


def _phone(rng: random.Random) -> str:
    d = [rng.randrange(10) for _ in range(6)]
    if rng.random() < 0.5:
        return f"+32 47{rng.randrange(10)} {d[0]}{d[1]} {d[2]}{d[3]} {d[4]}{d[5]}"
    return f"0{rng.choice('2349')} {rng.randrange(200, 999)} {d[0]}{d[1]} {d[2]}{d[3]}"


def _contract(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return f"G{rng.randrange(10**6):06d}"
    if style == 1:
        return f"PL-{rng.randrange(10**5):05d}"
    return f"{rng.randrange(10, 99)}.{rng.randrange(1000, 9999)}"


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_LAST), rng.choice(_FIRST)


def _email(first: str, last: str, domain: str) -> str:
    return f"{_ascii(first)}.{_ascii(last)}@{domain}"


def random_values(form_id: FormId, rng: random.Random, *, today: date) -> dict[str, RenderValue]:
    """Values a person would type on the form (dates dd/mm/yyyy, choices as machine values)."""
    org, domain = rng.choice(_ORGS)
    signed = (today - timedelta(days=rng.randrange(0, 60))).strftime("%d/%m/%Y")
    v: dict[str, RenderValue] = {"org_name": org, "org_enterprise_number": _enterprise(rng), "signed_date": signed}
    if form_id is FormId.AGR:
        postcode, city = rng.choice(_CITIES)
        last, first = _person(rng)
        v |= {
            "org_street": rng.choice(_STREETS),
            "org_postcode": postcode,
            "org_city": city,
            "notification_email": f"{rng.choice(['extranet', 'hr', 'personeel', 'rh'])}@{domain}",
            "correspondence_language": rng.choice(["nl", "fr"]),
            "signatory_name": f"{first} {last}",
            "signatory_function": rng.choice(_FUNCTIONS),
            "accept_terms": rng.random() < 0.9,
            "signed_place": city,
        }
    elif form_id is FormId.MU:
        last, first = _person(rng)
        v |= {
            "mu_last_name": last,
            "mu_first_name": first,
            "mu_function": rng.choice(_FUNCTIONS),
            "mu_phone": _phone(rng),
            "mu_email": _email(first, last, domain),
            "mu_language": rng.choice(["nl", "fr"]),
            "rep_name": " ".join(reversed(_person(rng))),
            "rep_function": rng.choice(_FUNCTIONS),
        }
    else:
        last, first = _person(rng)
        action = rng.choice(["new", "new", "modify", "revoke"])
        user_type = rng.choice(["internal", "internal", "external"])
        scope = rng.choice(["all", "selected"])
        v |= {
            "action": action,
            "user_last_name": last,
            "user_first_name": first,
            "user_email": _email(first, last, domain),
            "user_language": rng.choice(["nl", "fr"]),
            "user_type": user_type,
            "profile": rng.choice(["consult", "consult_input"]),
            "scope": scope,
            "mu_name": " ".join(reversed(_person(rng))),
        }
        if action != "new":
            v["login"] = f"eap{rng.randrange(10**5):05d}"
        if rng.random() < 0.5:
            v["user_phone"] = _phone(rng)
        if user_type == "external":
            v["external_company"] = rng.choice(["Conseil & Co SRL", "Payroll Partners BV", "SD Worx", "Acerta"])
            v["access_end_date"] = (today + timedelta(days=rng.randrange(30, 700))).strftime("%d/%m/%Y")
        if scope == "selected":
            for name in CONTRACT_FIELDS[: rng.randrange(1, 5)]:
                v[name] = _contract(rng)
    return v


# --------------------------------------------------------------------------- degradation

_FONTS = Path("/usr/share/fonts/truetype/dejavu")
_HAND_FONTS = ("DejaVuSans-Oblique.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansCondensed-Oblique.ttf")


def _rasterise(pdf: bytes, dpi: int, *, gray: bool) -> Image.Image:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        img = doc[0].render(scale=dpi / 72, grayscale=gray).to_pil()
    finally:
        doc.close()
    out: Image.Image = img.convert("L" if gray else "RGB")
    return out


def _handwrite(
    img: Image.Image, box: tuple[float, float, float, float], text: str, dpi: int, rng: random.Random
) -> None:
    """Write ``text`` into a box (points) letter by letter, each one tilted, shifted and resized."""
    s = dpi / 72
    x0, y0, x1, _ = box
    left, bottom = x0 * s + 4 * s, (PAGE_SIZE[1] - y0) * s - 4 * s
    font_path = str(_FONTS / rng.choice(_HAND_FONTS))
    x = left
    ink = (25, 40, 120) if img.mode == "RGB" else 60
    for ch in text:
        size = int(rng.uniform(10.5, 13.5) * s)
        font = ImageFont.truetype(font_path, size)
        if ch == " ":
            x += size * rng.uniform(0.3, 0.45)
            continue
        bbox = font.getbbox(ch)
        glyph = Image.new("L", (int(bbox[2]) + 8, size + 8), 0)
        ImageDraw.Draw(glyph).text((4, 4), ch, font=font, fill=255, stroke_width=rng.choice([0, 0, 1]))
        glyph = glyph.rotate(rng.uniform(-14, 10), resample=Image.Resampling.BICUBIC, expand=True)
        gx = int(x)
        gy = int(bottom - glyph.height + rng.uniform(-2.0, 2.0) * s)
        if gx + glyph.width > x1 * s - 2 * s:
            break
        img.paste(Image.new(img.mode, glyph.size, ink), (gx, gy), glyph)
        x += (bbox[2] - bbox[0]) * rng.uniform(0.85, 1.1) + rng.uniform(0.2, 1.6) * s


def _degrade(img: Image.Image, spec: ScanSpec, rng: random.Random) -> Image.Image:
    w, h = img.size
    # the sheet lies slightly askew and off-centre on the glass
    img = img.rotate(
        spec.angle,
        resample=Image.Resampling.BICUBIC,
        expand=False,
        fillcolor=(255, 255, 255) if img.mode == "RGB" else 255,
        translate=(rng.randint(-12, 12), rng.randint(-12, 12)),
    )
    blur = {
        Variant.CLEAN: (0.2, 0.6),
        Variant.NOISY: (0.7, 1.3),
        Variant.PHOTOCOPY: (0.5, 1.0),
        Variant.HANDWRITTEN: (0.3, 0.8),
    }[spec.variant]
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(*blur)))
    arr = np.asarray(img, dtype=np.float32)
    nrng = np.random.default_rng(spec.seed)
    if spec.variant is Variant.PHOTOCOPY:
        # grey paper, washed-out toner, a darker edge where the lid did not close
        lum = arr if arr.ndim == 2 else arr.mean(axis=2)
        lo, hi = rng.uniform(85, 115), rng.uniform(200, 225)
        lum = lo + lum * (hi - lo) / 255.0
        gradient = np.linspace(0, rng.uniform(10, 25), w, dtype=np.float32)[None, :]
        arr = lum - gradient
    sigma = {Variant.CLEAN: 3.0, Variant.NOISY: 11.0, Variant.PHOTOCOPY: 7.0, Variant.HANDWRITTEN: 5.0}[spec.variant]
    arr = arr + nrng.normal(0, sigma, arr.shape).astype(np.float32)
    specks = nrng.random(arr.shape[:2]) < (0.0004 if spec.variant is Variant.CLEAN else 0.0015)
    arr[specks] = 30
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    quality = {Variant.CLEAN: 85, Variant.NOISY: 40, Variant.PHOTOCOPY: 60, Variant.HANDWRITTEN: 75}[spec.variant]
    if spec.fmt in (ScanFormat.JPEG, ScanFormat.PDF) or spec.variant is Variant.NOISY:
        buf = io.BytesIO()
        out.save(buf, format="JPEG", quality=quality)
        out = Image.open(io.BytesIO(buf.getvalue()))
        out.load()
    del h
    return out


def _encode(img: Image.Image, spec: ScanSpec) -> bytes:
    buf = io.BytesIO()
    if spec.fmt is ScanFormat.PDF:
        # an image-only PDF, as a scanner writes it: one JPEG per page, no text layer
        # fixed dates: the same command must write the same bytes (the producer too: the committed scans
        # carry the command's name from before it moved to samplekit, and are byte-compared)
        stamp = datetime(2026, 11, 20, tzinfo=UTC).timetuple()
        img.save(
            buf,
            format="PDF",
            resolution=float(spec.dpi),
            quality=80,
            creationDate=stamp,
            modDate=stamp,
            producer="extranet-intake samples scans",
        )
    elif spec.fmt is ScanFormat.PNG:
        # a scanner's "16 greys" mode: a quarter of the bytes of 8-bit grey, still a grey scan
        grey = img.convert("L").point(lambda v: (v // 17) * 17).quantize(16)
        grey.save(buf, format="PNG", dpi=(spec.dpi, spec.dpi), bits=4)
    elif spec.fmt is ScanFormat.JPEG:
        img.save(buf, format="JPEG", quality=80, dpi=(spec.dpi, spec.dpi))
    else:
        # black-and-white, CCITT group 4: what document scanners write by default
        cut = 150 if spec.variant is Variant.PHOTOCOPY else 140
        bw = img.convert("L").point(lambda v: 255 if v > cut else 0).convert("1")
        bw.save(buf, format="TIFF", compression="group4", dpi=(spec.dpi, spec.dpi))
    return buf.getvalue()


def _hand_field(form_id: FormId, values: dict[str, RenderValue], rng: random.Random) -> str:
    placed, _ = layout(form_id, Lang.NL)
    names = [
        p.field.name
        for p in placed
        if p.field.kind in (FieldKind.TEXT, FieldKind.EMAIL, FieldKind.PHONE, FieldKind.DATE)
        and isinstance(values.get(p.field.name), str)
        and values[p.field.name]
    ]
    return rng.choice(names)


def make_scan(spec: ScanSpec, *, today: date) -> tuple[bytes, dict[str, Any]]:
    """One scan file and its manifest entry."""
    rng = random.Random(spec.seed)
    values = random_values(spec.form_id, rng, today=today)
    printed = dict(values)
    hand = _hand_field(spec.form_id, values, rng) if spec.variant is Variant.HANDWRITTEN else None
    if hand is not None:
        printed.pop(hand)
    pdf = render_form(spec.form_id, spec.lang, printed, flatten=True, signed=True)
    # colour only where a colour scan is stored compressed (JPEG, PDF): lossless colour is 3× the bytes
    colour = spec.fmt in (ScanFormat.JPEG, ScanFormat.PDF) and spec.variant is not Variant.PHOTOCOPY
    img = _rasterise(pdf, spec.dpi, gray=not (colour and rng.random() < 0.6))
    if hand is not None:
        placed, _ = layout(spec.form_id, spec.lang)
        box = next(p.box for p in placed if p.field.name == hand)
        _handwrite(img, (box.x0, box.y0, box.x1, box.y1), str(values[hand]), spec.dpi, rng)
    data = _encode(_degrade(img, spec, rng), spec)
    # the renderer signs every copy (an ink scribble in the signature box)
    fields, errors, warnings = validate(str(spec.form_id), {**values, "signature": True}, today=today)
    entry: dict[str, Any] = {
        "file": f"{spec.name}.{spec.fmt.value}",
        "form_id": str(spec.form_id),
        "lang": str(spec.lang),
        "variant": str(spec.variant),
        "format": str(spec.fmt),
        "dpi": spec.dpi,
        "angle": round(spec.angle, 2),
        "typed": {k: v for k, v in values.items() if v is not None},
        "fields": fields,
        "handwritten": [hand] if hand else [],
        "expected": {
            "form_id": str(spec.form_id),
            "method": "ocr",
            "errors": sorted({i.code for i in errors}),
            "warnings": sorted({i.code for i in warnings}),
            # a hand-written field is never read as a value that takes effect: it goes to review
            "review": hand is not None,
            "review_fields": [hand] if hand else [],
        },
    }
    return data, entry


def scan_specs(*, count: int = 72, seed: int = 20261101) -> list[ScanSpec]:
    """The sample set: every form × language, all variants and formats, 200–300 dpi, ±3°."""
    rng = random.Random(seed)
    variants = [Variant.CLEAN] * 5 + [Variant.NOISY] * 3 + [Variant.PHOTOCOPY] * 3 + [Variant.HANDWRITTEN]
    formats = list(ScanFormat)
    specs: list[ScanSpec] = []
    combos = [(f, lg) for f in FormId for lg in Lang]
    for i in range(count):
        form_id, lang = combos[i % len(combos)]
        variant = variants[(i // len(combos) + i) % len(variants)]
        fmt = formats[i % len(formats)]
        specs.append(
            ScanSpec(
                name=f"scan-{i + 1:03d}-{form_id.value.lower()}-{lang.value}-{variant.value}",
                form_id=form_id,
                lang=lang,
                variant=variant,
                fmt=fmt,
                dpi=rng.choice([200, 240, 300]),
                angle=rng.uniform(-3.0, 3.0),
                seed=rng.randrange(2**31),
            )
        )
    return specs


def _write(args: tuple[ScanSpec, date, Path]) -> dict[str, Any]:
    spec, today, out = args
    data, entry = make_scan(spec, today=today)
    (out / entry["file"]).write_bytes(data)
    return entry


def generate_scans(
    out: Path, *, today: date = REFERENCE_DATE, count: int = 72, seed: int = 20261101, jobs: int = 2
) -> dict[str, Any]:
    """Write the scans and ``manifest.json`` into ``out`` (``jobs`` processes); returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    work = [(spec, today, out) for spec in scan_specs(count=count, seed=seed)]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            entries = list(pool.map(_write, work))
    else:
        entries = [_write(w) for w in work]
    manifest = {"today": today.isoformat(), "seed": seed, "count": len(entries), "scans": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


# --------------------------------------------------------------------------- stacks (issue 13.1)


class StackKind(StrEnum):
    SCAN = "scan"  # the day's post scanned in one go: an image-only PDF, one JPEG per page
    FLAT = "flat"  # flattened (printed-style) forms concatenated: a text layer per page
    FILLABLE = "fillable"  # fillable forms concatenated, their fields kept


@dataclass(frozen=True)
class StackSpec:
    name: str
    kind: StackKind
    #: the pages in order: a form (id, language) or None for a blank sheet
    pages: tuple[tuple[FormId, Lang] | None, ...]
    #: 0-based index of the page fed upside down (scans only), or None
    upside_down: int | None
    seed: int
    dpi: int = 200
    variant: Variant = Variant.CLEAN


def stack_specs(*, bench: bool = False) -> list[StackSpec]:
    """The committed stacks (small: 3–6 pages), or with ``bench`` also longer ones (up to 10 forms)."""
    agr, mu, usr = FormId.AGR, FormId.MU, FormId.USR
    nl, fr = Lang.NL, Lang.FR
    specs = [
        # the example: agreement, Master User fiche and a user fiche scanned together
        StackSpec("stack-01-scan-agr-mu-usr", StackKind.SCAN, ((agr, nl), (mu, nl), (usr, fr)), None, 1301),
        StackSpec("stack-02-scan-blank-upside-down", StackKind.SCAN, ((usr, fr), None, (usr, nl), (mu, fr)), 2, 1302),
        StackSpec("stack-03-flat-mixed", StackKind.FLAT, ((mu, fr), (usr, nl), None, (usr, fr), (agr, nl)), None, 1303),
        StackSpec("stack-04-fillable", StackKind.FILLABLE, ((agr, fr), (usr, nl), (usr, fr)), None, 1304),
    ]
    if bench:
        rng = random.Random(1310)
        combos = [(f, lg) for f in FormId for lg in Lang]
        runs = (
            (6, Variant.CLEAN),
            (8, Variant.CLEAN),
            (10, Variant.CLEAN),
            (6, Variant.NOISY),
            (8, Variant.PHOTOCOPY),
            (10, Variant.NOISY),
        )
        for n, (forms, variant) in enumerate(runs, start=5):
            pages: list[tuple[FormId, Lang] | None] = [rng.choice(combos) for _ in range(forms)]
            pages.insert(rng.randrange(1, forms), None)
            specs.append(
                StackSpec(
                    f"stack-{n:02d}-scan-{forms}-forms-{variant.value}",
                    StackKind.SCAN,
                    tuple(pages),
                    rng.randrange(len(pages)),
                    1300 + n,
                    variant=variant,
                )
            )
    return specs


def _stack_page_pdf(form_id: FormId, lang: Lang, rng: random.Random, *, today: date, fillable: bool) -> bytes:
    values = random_values(form_id, rng, today=today)
    return render_form(form_id, lang, values, flatten=not fillable, signed=not fillable)


def make_stack(spec: StackSpec, *, today: date) -> tuple[bytes, dict[str, Any]]:
    """One stack file and its manifest entry: which pages hold which form, which are blank, which turned."""
    from pypdf import PdfReader, PdfWriter

    rng = random.Random(spec.seed)
    if spec.kind is StackKind.SCAN:
        images: list[Image.Image] = []
        for i, page in enumerate(spec.pages):
            scan = ScanSpec(
                f"{spec.name}-{i + 1}",
                page[0] if page else FormId.USR,
                page[1] if page else Lang.NL,
                spec.variant,
                ScanFormat.PDF,
                spec.dpi,
                rng.uniform(-2.0, 2.0),
                rng.randrange(2**31),
            )
            if page is None:
                pdf = render_form(FormId.USR, Lang.NL, {}, flatten=True)
                blank = _rasterise(pdf, spec.dpi, gray=True)
                img = Image.new("L", blank.size, 255)
            else:
                img = _rasterise(
                    _stack_page_pdf(page[0], page[1], rng, today=today, fillable=False), spec.dpi, gray=True
                )
            img = _degrade(img, scan, rng)
            if i == spec.upside_down:
                img = img.rotate(180)
            images.append(img.convert("L"))
        buf = io.BytesIO()
        stamp = datetime(2026, 11, 20, tzinfo=UTC).timetuple()  # fixed date and producer: see _encode
        images[0].save(
            buf,
            format="PDF",
            save_all=True,
            append_images=images[1:],
            resolution=float(spec.dpi),
            quality=75,
            creationDate=stamp,
            modDate=stamp,
            producer="extranet-intake samples stacks",
        )
        data = buf.getvalue()
    else:
        writer = PdfWriter()
        for page in spec.pages:
            if page is None:
                writer.add_blank_page(width=PAGE_SIZE[0], height=PAGE_SIZE[1])
                continue
            one = _stack_page_pdf(page[0], page[1], rng, today=today, fillable=spec.kind is StackKind.FILLABLE)
            writer.append(PdfReader(io.BytesIO(one)))
        # no random document ID: the same command must write the same bytes
        writer._ID = None  # pypdf has no public switch for it
        buf = io.BytesIO()
        writer.write(buf)
        data = buf.getvalue()
    parts = [
        {
            "pages": str(i + 1),
            "kind": "blank" if page is None else "form",
            "form_id": None if page is None else str(page[0]),
            "lang": None if page is None else str(page[1]),
            "rotated": i == spec.upside_down,
        }
        for i, page in enumerate(spec.pages)
    ]
    entry = {
        "file": f"{spec.name}.pdf",
        "kind": str(spec.kind),
        "pages": len(spec.pages),
        "forms": sum(1 for p in spec.pages if p is not None),
        "parts": parts,
    }
    return data, entry


def generate_stacks(out: Path, *, today: date = REFERENCE_DATE, bench: bool = False) -> dict[str, Any]:
    """Write the stacks and their ``manifest.json`` into ``out``; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for spec in stack_specs(bench=bench):
        data, entry = make_stack(spec, today=today)
        (out / entry["file"]).write_bytes(data)
        entries.append(entry)
    manifest = {"today": today.isoformat(), "count": len(entries), "stacks": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest
