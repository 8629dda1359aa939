"""The one definition of each form (EAP-AGR, EAP-MU, EAP-USR v2026.1, NL and FR) and its page layout.

The renderer, the AcroForm / text / XLSX / OCR extractors and the validators all read these
objects; no field list is written anywhere else. The layout is computed here, in PDF points
(origin bottom-left, A4), so that a flattened or scanned copy can be read by position.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

__all__ = [
    "CONTRACT_FIELDS",
    "FOOTER_RE",
    "FOREIGN_PLATFORM_PREFIXES",
    "FORMS",
    "FORM_VERSION",
    "HIDDEN_FIELDS",
    "PAGE_SIZE",
    "Box",
    "ChoiceOption",
    "FieldDef",
    "FieldKind",
    "FormDef",
    "FormId",
    "Lang",
    "PageText",
    "PlacedField",
    "Section",
    "footer_text",
    "form_def",
    "layout",
    "page_count",
]

FORM_VERSION = "2026.1"
PAGE_SIZE = (595.276, 841.89)  # A4 in points
MARGIN = 48.0

#: Machine names of the hidden AcroForm fields that identify a fillable form.
HIDDEN_FIELDS = ("form_id", "form_version", "form_lang")

#: Forms of Ethias' other platforms: recognised, and refused (docs/forms.md: access to each platform is
#: managed separately).
FOREIGN_PLATFORM_PREFIXES = ("ECON-", "EWP-")


class FormId(StrEnum):
    AGR = "EAP-AGR"
    MU = "EAP-MU"
    USR = "EAP-USR"


class Lang(StrEnum):
    NL = "nl"
    FR = "fr"


class FieldKind(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"
    ENTERPRISE = "enterprise_number"
    CHOICE = "choice"
    CHECKBOX = "checkbox"
    CONTRACT = "contract"
    SIGNATURE = "signature"


@dataclass(frozen=True)
class ChoiceOption:
    value: str
    nl: str
    fr: str

    def label(self, lang: Lang) -> str:
        return self.nl if lang is Lang.NL else self.fr


@dataclass(frozen=True)
class FieldDef:
    name: str
    kind: FieldKind
    nl: str
    fr: str
    required: bool = False
    max_len: int = 120
    #: share of the content width this field takes on its row (1, 1/2, 1/3, 1/5 …)
    width: float = 1.0
    options: tuple[ChoiceOption, ...] = ()

    def label(self, lang: Lang) -> str:
        return self.nl if lang is Lang.NL else self.fr

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)


@dataclass(frozen=True)
class Section:
    nl: str
    fr: str
    fields: tuple[FieldDef, ...]
    #: optional explanatory paragraph printed under the heading
    note_nl: str = ""
    note_fr: str = ""

    def title(self, lang: Lang) -> str:
        return self.nl if lang is Lang.NL else self.fr

    def note(self, lang: Lang) -> str:
        return self.note_nl if lang is Lang.NL else self.note_fr


@dataclass(frozen=True)
class FormDef:
    form_id: FormId
    title_nl: str
    title_fr: str
    sections: tuple[Section, ...]
    version: str = FORM_VERSION

    def title(self, lang: Lang) -> str:
        return self.title_nl if lang is Lang.NL else self.title_fr

    @property
    def fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for s in self.sections for f in s.fields)

    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)


def footer_text(form_id: str, version: str = FORM_VERSION) -> str:
    return f"{form_id} v{version}"


# --------------------------------------------------------------------------- the definitions

_LANGS = (ChoiceOption("nl", "Nederlands", "Néerlandais"), ChoiceOption("fr", "Frans", "Français"))


def _org_section() -> Section:
    return Section(
        "Organisatie",
        "Organisation",
        (
            FieldDef(
                "org_name",
                FieldKind.TEXT,
                "Naam van de organisatie",
                "Dénomination de l'organisation",
                required=True,
                width=2 / 3,
            ),
            FieldDef(
                "org_enterprise_number",
                FieldKind.ENTERPRISE,
                "Ondernemingsnummer",
                "Numéro d'entreprise",
                required=True,
                width=1 / 3,
                max_len=20,
            ),
        ),
    )


def _signature_fields(*, place: bool) -> tuple[FieldDef, ...]:
    fields = []
    if place:
        fields.append(FieldDef("signed_place", FieldKind.TEXT, "Opgemaakt te", "Fait à", required=True, width=1 / 2))
    fields.append(
        FieldDef(
            "signed_date", FieldKind.DATE, "Datum", "Date", required=True, width=1 / 2 if place else 1 / 3, max_len=10
        )
    )
    fields.append(FieldDef("signature", FieldKind.SIGNATURE, "Handtekening", "Signature", width=1.0))
    return tuple(fields)


AGREEMENT = FormDef(
    FormId.AGR,
    "Overeenkomst Extranet Aanvullend Pensioen",
    "Convention Extranet Pension complémentaire",
    (
        Section(
            _org_section().nl,
            _org_section().fr,
            (
                *_org_section().fields,
                FieldDef("org_street", FieldKind.TEXT, "Straat en nummer", "Rue et numéro", required=True),
                FieldDef(
                    "org_postcode", FieldKind.TEXT, "Postcode", "Code postal", required=True, width=1 / 3, max_len=10
                ),
                FieldDef("org_city", FieldKind.TEXT, "Gemeente", "Localité", required=True, width=2 / 3, max_len=80),
            ),
        ),
        Section(
            "Kennisgevingen",
            "Notifications",
            (
                FieldDef(
                    "notification_email",
                    FieldKind.EMAIL,
                    "E-mailadres voor kennisgevingen",
                    "Adresse e-mail pour les notifications",
                    required=True,
                    width=2 / 3,
                ),
                FieldDef(
                    "correspondence_language",
                    FieldKind.CHOICE,
                    "Taal",
                    "Langue",
                    required=True,
                    width=1 / 3,
                    options=_LANGS,
                ),
            ),
            note_nl="Wij raden een verdeellijst aan. Op dit adres worden nooit toegangscodes verstuurd.",
            note_fr="Nous recommandons une liste de distribution. Aucun code d'accès n'est envoyé à cette adresse.",
        ),
        Section(
            "Ondertekening",
            "Signature",
            (
                FieldDef(
                    "signatory_name",
                    FieldKind.TEXT,
                    "Naam van de ondertekenaar",
                    "Nom du signataire",
                    required=True,
                    width=1 / 2,
                ),
                FieldDef(
                    "signatory_function",
                    FieldKind.TEXT,
                    "Functie van de ondertekenaar",
                    "Fonction du signataire",
                    required=True,
                    width=1 / 2,
                ),
                FieldDef(
                    "accept_terms",
                    FieldKind.CHECKBOX,
                    "Ik heb de voorwaarden gelezen en aanvaard",
                    "J'ai lu et j'accepte les conditions",
                    required=True,
                ),
                *_signature_fields(place=True),
            ),
            note_nl=(
                "De organisatie gebruikt het Extranet Aanvullend Pensioen om persoonsgegevens van haar "
                "aangeslotenen uit te wisselen met Ethias en waakt over de vertrouwelijkheid ervan."
            ),
            note_fr=(
                "L'organisation utilise l'Extranet Pension complémentaire pour échanger avec Ethias des "
                "données personnelles de ses affiliés et veille à leur confidentialité."
            ),
        ),
    ),
)

MASTER_USER = FormDef(
    FormId.MU,
    "Master User fiche",
    "Fiche Master User",
    (
        _org_section(),
        Section(
            "Master User",
            "Master User",
            (
                FieldDef("mu_last_name", FieldKind.TEXT, "Naam", "Nom", required=True, width=1 / 2),
                FieldDef("mu_first_name", FieldKind.TEXT, "Voornaam", "Prénom", required=True, width=1 / 2),
                FieldDef("mu_function", FieldKind.TEXT, "Functie", "Fonction", required=True, width=1 / 2),
                FieldDef("mu_phone", FieldKind.PHONE, "Telefoon", "Téléphone", required=True, width=1 / 2, max_len=30),
                FieldDef(
                    "mu_email",
                    FieldKind.EMAIL,
                    "Persoonlijk e-mailadres",
                    "Adresse e-mail personnelle",
                    required=True,
                    width=2 / 3,
                ),
                FieldDef("mu_language", FieldKind.CHOICE, "Taal", "Langue", required=True, width=1 / 3, options=_LANGS),
            ),
            note_nl=(
                "De Master User meldt Ethias elke toekenning, wijziging en intrekking van "
                "gebruikerstoegangen binnen de organisatie."
            ),
            note_fr=(
                "Le Master User informe Ethias de toute attribution, modification et retrait "
                "d'accès utilisateur au sein de l'organisation."
            ),
        ),
        Section(
            "Wettelijke vertegenwoordiger",
            "Représentant légal",
            (
                FieldDef(
                    "rep_name",
                    FieldKind.TEXT,
                    "Naam van de wettelijke vertegenwoordiger",
                    "Nom du représentant légal",
                    required=True,
                    width=1 / 2,
                ),
                FieldDef("rep_function", FieldKind.TEXT, "Functie", "Fonction", required=True, width=1 / 2),
                *_signature_fields(place=False),
            ),
        ),
    ),
)

CONTRACT_FIELDS = tuple(f"contract_{i}" for i in range(1, 11))

USER = FormDef(
    FormId.USR,
    "Gebruikersfiche Extranet Aanvullend Pensioen",
    "Fiche utilisateur Extranet Pension complémentaire",
    (
        _org_section(),
        Section(
            "Aanvraag",
            "Demande",
            (
                FieldDef(
                    "action",
                    FieldKind.CHOICE,
                    "Type aanvraag",
                    "Type de demande",
                    required=True,
                    width=2 / 3,
                    options=(
                        ChoiceOption("new", "Nieuwe toegang", "Nouvel accès"),
                        ChoiceOption("modify", "Wijziging", "Modification"),
                        ChoiceOption("revoke", "Intrekking", "Retrait"),
                    ),
                ),
                FieldDef("login", FieldKind.TEXT, "Bestaande login", "Login existant", width=1 / 3, max_len=40),
            ),
        ),
        Section(
            "Gebruiker",
            "Utilisateur",
            (
                FieldDef("user_last_name", FieldKind.TEXT, "Naam", "Nom", required=True, width=1 / 2),
                FieldDef("user_first_name", FieldKind.TEXT, "Voornaam", "Prénom", required=True, width=1 / 2),
                FieldDef(
                    "user_email", FieldKind.EMAIL, "Persoonlijk e-mailadres", "Adresse e-mail personnelle", width=2 / 3
                ),
                FieldDef("user_phone", FieldKind.PHONE, "Telefoon", "Téléphone", width=1 / 3, max_len=30),
                FieldDef(
                    "user_language", FieldKind.CHOICE, "Taal", "Langue", required=True, width=1 / 3, options=_LANGS
                ),
                FieldDef(
                    "user_type",
                    FieldKind.CHOICE,
                    "Type gebruiker",
                    "Type d'utilisateur",
                    required=True,
                    width=2 / 3,
                    options=(
                        ChoiceOption("internal", "Medewerker", "Collaborateur"),
                        ChoiceOption("external", "Externe persoon", "Personne externe"),
                    ),
                ),
                FieldDef("external_company", FieldKind.TEXT, "Firma", "Société", width=2 / 3),
                FieldDef(
                    "access_end_date",
                    FieldKind.DATE,
                    "Einddatum toegang",
                    "Date de fin d'accès",
                    width=1 / 3,
                    max_len=10,
                ),
            ),
            note_nl="Eén fiche per persoon. De toegangscodes worden enkel naar dit persoonlijke adres gestuurd.",
            note_fr="Une fiche par personne. Les codes d'accès sont envoyés uniquement à cette adresse personnelle.",
        ),
        Section(
            "Toegang",
            "Accès",
            (
                FieldDef(
                    "profile",
                    FieldKind.CHOICE,
                    "Profiel",
                    "Profil",
                    required=True,
                    options=(
                        ChoiceOption("consult", "Raadplegen", "Consultation"),
                        ChoiceOption("consult_input", "Raadplegen en invoeren", "Consultation et encodage"),
                    ),
                ),
                FieldDef(
                    "scope",
                    FieldKind.CHOICE,
                    "Contracten",
                    "Contrats",
                    required=True,
                    options=(
                        ChoiceOption("all", "Alle contracten", "Tous les contrats"),
                        ChoiceOption("selected", "Enkel de volgende contracten", "Uniquement les contrats suivants"),
                    ),
                ),
                *(
                    FieldDef(
                        name,
                        FieldKind.CONTRACT,
                        f"Contractnummer {i}",
                        f"Numéro de contrat {i}",
                        width=1 / 5,
                        max_len=20,
                    )
                    for i, name in enumerate(CONTRACT_FIELDS, 1)
                ),
            ),
        ),
        Section(
            "Master User",
            "Master User",
            (
                FieldDef(
                    "mu_name",
                    FieldKind.TEXT,
                    "Naam van de Master User",
                    "Nom du Master User",
                    required=True,
                    width=2 / 3,
                ),
                *_signature_fields(place=False),
            ),
        ),
    ),
)

FORMS: dict[FormId, FormDef] = {f.form_id: f for f in (AGREEMENT, MASTER_USER, USER)}


def form_def(form_id: str) -> FormDef:
    return FORMS[FormId(form_id)]


# --------------------------------------------------------------------------- the layout


@dataclass(frozen=True)
class Box:
    """A rectangle in PDF points, origin bottom-left."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1


@dataclass(frozen=True)
class PlacedField:
    field: FieldDef
    page: int
    label_at: tuple[float, float]
    #: the writing box (text fields) or the whole signature box; for choices, the row of options
    box: Box
    #: for choices: option value -> its tick box; for a checkbox: "on" -> its tick box
    ticks: dict[str, Box] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class PageText:
    """Static text the renderer prints: headings, notes (same for every copy of the form)."""

    page: int
    kind: str  # "title" | "section" | "note"
    at: tuple[float, float]
    text: str


ROW_H = 34.0  # label line + writing box
BOX_H = 18.0
TICK = 10.0
SIG_H = 60.0
GAP = 8.0
TOP = PAGE_SIZE[1] - MARGIN - 58.0  # under the header band
BOTTOM = MARGIN + 24.0  # above the footer


@cache
def layout(form_id: FormId, lang: Lang) -> tuple[tuple[PlacedField, ...], tuple[PageText, ...]]:
    """Place every field of the form: the one geometry the renderer draws and the readers crop."""
    form = FORMS[form_id]
    content_w = PAGE_SIZE[0] - 2 * MARGIN
    placed: list[PlacedField] = []
    texts: list[PageText] = [PageText(0, "title", (MARGIN, PAGE_SIZE[1] - MARGIN - 30), form.title(lang))]
    page, y = 0, TOP

    def need(height: float) -> None:
        nonlocal page, y
        if y - height < BOTTOM:
            page += 1
            y = TOP

    for section in form.sections:
        note_lines = _wrap(section.note(lang), 105)
        need(22 + 11 * len(note_lines) + ROW_H)
        texts.append(PageText(page, "section", (MARGIN, y - 14), section.title(lang)))
        y -= 20
        for line in note_lines:
            texts.append(PageText(page, "note", (MARGIN, y - 9), line))
            y -= 11
        if note_lines:
            y -= 4
        x = MARGIN
        row_h = 0.0
        for f in section.fields:
            w = content_w * f.width
            h = SIG_H + 14 if f.kind is FieldKind.SIGNATURE else ROW_H
            if x + w > MARGIN + content_w + 0.5:
                y -= row_h
                x, row_h = MARGIN, 0.0
            if x == MARGIN:
                need(h)
            row_h = max(row_h, h)
            cell_w = w - (GAP if x + w < MARGIN + content_w - 0.5 else 0)
            label_at = (x, y - 9)
            box_top = y - 13
            if f.kind is FieldKind.SIGNATURE:
                box = Box(x, box_top - SIG_H, x + cell_w, box_top)
                placed.append(PlacedField(f, page, label_at, box))
            elif f.kind is FieldKind.CHECKBOX:
                tick = Box(x, y - 4 - TICK, x + TICK, y - 4)
                placed.append(PlacedField(f, page, (x + TICK + 6, y - 12), tick, {"on": tick}))
            elif f.kind is FieldKind.CHOICE:
                box = Box(x, box_top - BOX_H, x + cell_w, box_top)
                ticks: dict[str, Box] = {}
                ox = x + 2
                # option widths are fixed per option count so NL and FR share one geometry
                step = (cell_w - 4) / len(f.options)
                for opt in f.options:
                    ty = box_top - (BOX_H + TICK) / 2
                    ticks[opt.value] = Box(ox, ty, ox + TICK, ty + TICK)
                    ox += step
                placed.append(PlacedField(f, page, label_at, box, ticks))
            else:
                box = Box(x, box_top - BOX_H, x + cell_w, box_top)
                placed.append(PlacedField(f, page, label_at, box))
            x += w
        y -= row_h + 4
    return tuple(placed), tuple(texts)


def page_count(form_id: FormId) -> int:
    placed, _ = layout(form_id, Lang.NL)
    return max(p.page for p in placed) + 1


def _wrap(text: str, width: int) -> list[str]:
    if not text:
        return []
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return lines


FOOTER_RE = re.compile(r"\b((?:EAP|ECON|EWP)-[A-Z]{2,4})\s+v(\d{4}\.\d+)\b")
