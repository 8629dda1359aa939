"""The committed sample set: three organisations, their forms, the mail carrying them, and the manifest of outcomes.

``build_samples()`` is pure and deterministic (fixed seed, fixed reference date, reportlab in
invariant mode, zip members and XLSX properties with fixed timestamps), so regenerating gives the
same bytes and the manifest's SHA-256 values stay put. ``write_samples(out)`` writes them and
removes stale files of the folders it owns (``documents``, ``mail``, ``drop``, ``reference``);
``samples/scans`` belongs to the OCR work and is never touched.

Field values are written twice on purpose: as a person types them (``dd/mm/yyyy``, dotted
enterprise numbers, national phone numbers) for the renderer, and normalised by hand for the
manifest — the manifest must not be computed by the validator it is meant to check.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import random
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from reportlab import rl_config
from reportlab.lib.colors import HexColor, white
from reportlab.pdfgen.canvas import Canvas

from extranet_intake.intake.form_pdf import RenderValue, render_form
from extranet_intake.parsers.forms import CONTRACT_FIELDS, FORM_VERSION, FORMS, PAGE_SIZE, FormId, Lang
from extranet_intake.parsers.result import Channel, FieldValue, Method, ParseOutcome
from samplekit.xlsx_fiche import write_user_fiche_xlsx

__all__ = [
    "CONTRACTS_FILE",
    "GATEWAY",
    "LEGACY_FILE",
    "MAILBOX",
    "MANIFEST_NAME",
    "OWNED_DIRS",
    "REFERENCE_DATE",
    "SEED",
    "SampleSet",
    "WriteReport",
    "build_samples",
    "write_samples",
]

REFERENCE_DATE = date(2026, 11, 20)
SEED = 20261120
GATEWAY = "mx.ethias.be"
MAILBOX = "extranet2P@ethias.be"
MANIFEST_NAME = "manifest.json"
#: the folders this module writes and may clean; anything else under samples/ (scans/) is left alone
OWNED_DIRS = ("documents", "mail", "drop")
CONTRACTS_FILE = "contracts.xlsx"
LEGACY_FILE = "legacy_accounts.xlsx"
_ZIP_TIME = (2026, 11, 20, 0, 0, 0)
_BRUSSELS = timezone(timedelta(hours=1))  # CET: every sample is dated in November


# --------------------------------------------------------------------------- the people


@dataclass(frozen=True)
class MasterUser:
    last: str
    first: str
    function: str
    email: str
    phone_typed: str
    phone: str  # E.164, as the validator must normalise it
    language: Lang

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Legacy:
    login: str
    last: str
    first: str
    email: str


@dataclass(frozen=True)
class Org:
    key: str
    name: str
    number: str  # 10 digits
    language: Lang
    street: str
    postcode: str
    city: str
    notification_email: str
    mu: MasterUser
    rep_name: str
    rep_function: str
    contracts: tuple[tuple[str, str], ...]
    legacy: tuple[Legacy, ...]
    #: how the organisation writes its enterprise number (the three spellings docs/forms.md accepts)
    number_style: str = "dots"
    #: how it sends its opening set of forms
    channel: Channel = Channel.EMAIL

    @property
    def domain(self) -> str:
        return self.notification_email.split("@", 1)[1]

    def typed_number(self, style: str | None = None) -> str:
        n = self.number
        style = style or self.number_style
        if style == "be":
            return f"BE{n}"
        if style == "spaces":
            return f"{n[:4]} {n[4:7]} {n[7:]}"
        return f"{n[:4]}.{n[4:7]}.{n[7:]}"


@dataclass(frozen=True)
class User:
    """One person on a user fiche, normalised; ``typed`` values are derived from it."""

    action: str
    last: str
    first: str
    language: Lang
    email: str = ""
    phone: tuple[str, str] | None = None  # (as typed, E.164)
    user_type: str = "internal"
    company: str = ""
    end: date | None = None
    profile: str = ""
    scope: str = ""
    contracts: tuple[str, ...] = ()
    login: str = ""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


# Every domain is under the reserved `.example` TLD (RFC 2606): a demo wired to a real SMTP relay
# must never mail credentials to a real company.
DRIELINDEN = Org(
    key="drielinden",
    name="Brouwerij De Drie Linden NV",
    number="0456789133",
    language=Lang.NL,
    street="Brusselsesteenweg 212",
    postcode="2800",
    city="Mechelen",
    notification_email="extranet@drielinden.example",
    mu=MasterUser(
        "Peeters", "Sofie", "HR-manager", "sofie.peeters@drielinden.example", "0475 12 34 56", "+32475123456", Lang.NL
    ),
    rep_name="Koen Verhoeven",
    rep_function="Gedelegeerd bestuurder",
    contracts=(
        ("4100101", "Groepsverzekering bedienden"),
        ("4100102", "Groepsverzekering arbeiders"),
        ("4100103", "Individuele pensioentoezegging directie"),
    ),
    legacy=(
        Legacy("LG10071", "Wouters", "Geert", "geert.wouters@drielinden.example"),
        Legacy("LG10072", "Smets", "Lieve", "lieve.smets@drielinden.example"),
    ),
    number_style="dots",
)
LEJEUNE = Org(
    key="lejeune",
    name="Boulangeries Lejeune SA",
    number="0812345603",
    language=Lang.FR,
    street="Chaussée de Louvain 45",
    postcode="5000",
    city="Namur",
    notification_email="extranet-rh@boulangeries-lejeune.example",
    mu=MasterUser(
        "Martin",
        "Isabelle",
        "Responsable RH",
        "isabelle.martin@boulangeries-lejeune.example",
        "0478 65 43 21",
        "+32478654321",
        Lang.FR,
    ),
    rep_name="Marc Lejeune",
    rep_function="Administrateur délégué",
    contracts=(
        ("5200201", "Assurance groupe employés"),
        ("5200202", "Assurance groupe ouvriers"),
        ("5200203", "Engagement individuel de pension dirigeants"),
    ),
    legacy=(
        Legacy("LG20031", "Collard", "Sophie", "sophie.collard@boulangeries-lejeune.example"),
        Legacy("LG20032", "Henrard", "Michel", "michel.henrard@boulangeries-lejeune.example"),
    ),
    number_style="be",
)
ZENNE = Org(
    key="zenne",
    name="Zenne Logistics BV",
    number="0765432146",
    language=Lang.NL,
    street="Leuvensesteenweg 540",
    postcode="1800",
    city="Vilvoorde",
    notification_email="extranet@zennelogistics.example",
    mu=MasterUser(
        "De Vos", "An", "Payroll officer", "an.devos@zennelogistics.example", "02 234 56 78", "+3222345678", Lang.NL
    ),
    rep_name="Bart Van Damme",
    rep_function="Zaakvoerder",
    contracts=(("6300301", "Groepsverzekering bedienden"), ("6300302", "Groepsverzekering chauffeurs")),
    legacy=(Legacy("LG30011", "Goossens", "Dirk", "dirk.goossens@zennelogistics.example"),),
    number_style="spaces",
    channel=Channel.POST,
)
ORGS = (DRIELINDEN, LEJEUNE, ZENNE)
#: in the registers only: never sends a form, so its legacy account must stay active
DECLERCQ_NUMBER = "0698765432"
DECLERCQ_CONTRACT = (
    "7400401",
    "Groepsverzekering",
)
DECLERCQ_LEGACY = Legacy("LG40001", "Declercq", "Eva", "eva.declercq@garage-declercq.example")


# --------------------------------------------------------------------------- documents


class Format(StrEnum):
    FILLABLE = "fillable"  # filled AcroForm
    FLATTENED = "flattened"  # printed-style PDF, text only (what a scan-and-drop or a "print to PDF" gives)
    XLSX = "xlsx"
    FOREIGN = "foreign"  # a form of another Ethias platform


_METHOD = {Format.FILLABLE: Method.ACROFORM, Format.FLATTENED: Method.TEXT, Format.XLSX: Method.XLSX}


@dataclass
class Doc:
    path: str
    form_id: str
    lang: Lang
    fmt: Format
    description: str
    org: Org | None
    typed: dict[str, RenderValue]
    fields: dict[str, FieldValue] | None
    attachment_name: str
    errors: list[tuple[str, str | None]] = field(default_factory=list)
    warnings: list[tuple[str, str | None]] = field(default_factory=list)
    provisioning_error: str | None = None
    #: is it queued for review (None: the implementation may queue it), and what the reviewer decides
    review_queued: bool | None = False
    review_decision: str | None = None
    review_reason: str = ""
    data: bytes = b""
    delivered_by: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> ParseOutcome:
        if self.fmt is Format.FOREIGN:
            return ParseOutcome.REJECTED
        return ParseOutcome.INVALID if self.errors else ParseOutcome.VALID

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _d(day: date, sep: str = "/") -> str:
    return f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year}"


def _agr(
    org: Org, *, signed: date, signatory: tuple[str, str] | None = None
) -> tuple[dict[str, RenderValue], dict[str, FieldValue]]:
    name, function = signatory or (org.rep_name, org.rep_function)
    common: dict[str, Any] = {
        "org_name": org.name,
        "org_street": org.street,
        "org_postcode": org.postcode,
        "org_city": org.city,
        "notification_email": org.notification_email,
        "correspondence_language": str(org.language),
        "signatory_name": name,
        "signatory_function": function,
        "accept_terms": True,
        "signed_place": org.city,
    }
    typed = {**common, "org_enterprise_number": org.typed_number(), "signed_date": _d(signed)}
    fields = {**common, "org_enterprise_number": org.number, "signed_date": signed.isoformat()}
    return typed, fields


def _mu(org: Org, *, signed: date) -> tuple[dict[str, RenderValue], dict[str, FieldValue]]:
    mu = org.mu
    common: dict[str, Any] = {
        "org_name": org.name,
        "mu_last_name": mu.last,
        "mu_first_name": mu.first,
        "mu_function": mu.function,
        "mu_email": mu.email,
        "mu_language": str(mu.language),
        "rep_name": org.rep_name,
        "rep_function": org.rep_function,
    }
    typed = {
        **common,
        "org_enterprise_number": org.typed_number(),
        "mu_phone": mu.phone_typed,
        "signed_date": _d(signed),
    }
    fields = {**common, "org_enterprise_number": org.number, "mu_phone": mu.phone, "signed_date": signed.isoformat()}
    return typed, fields


def _usr(
    org: Org, u: User, *, signed: date, date_sep: str = "/"
) -> tuple[dict[str, RenderValue], dict[str, FieldValue]]:
    typed: dict[str, RenderValue] = {
        "org_name": org.name,
        "org_enterprise_number": org.typed_number(),
        "action": u.action,
        "user_last_name": u.last,
        "user_first_name": u.first,
        "user_language": str(u.language),
        "user_type": u.user_type,
        "mu_name": org.mu.name,
        "signed_date": _d(signed, date_sep),
    }
    fields: dict[str, FieldValue] = {
        "org_name": org.name,
        "org_enterprise_number": org.number,
        "action": u.action,
        "user_last_name": u.last,
        "user_first_name": u.first,
        "user_language": str(u.language),
        "user_type": u.user_type,
        "mu_name": org.mu.name,
        "signed_date": signed.isoformat(),
        # scope "all" makes any contract numbers meaningless (warning contracts-ignored)
        "contracts": [] if u.scope == "all" else list(u.contracts),
    }
    for key, value in (
        ("login", u.login),
        ("user_email", u.email),
        ("external_company", u.company),
        ("profile", u.profile),
        ("scope", u.scope),
    ):
        if value:
            typed[key] = value
            fields[key] = value
    if u.phone:
        typed["user_phone"], fields["user_phone"] = u.phone
    if u.end:
        typed["access_end_date"] = _d(u.end, date_sep)
        fields["access_end_date"] = u.end.isoformat()
    for name, number in zip(CONTRACT_FIELDS, u.contracts, strict=False):
        typed[name] = number
    return typed, fields


# --------------------------------------------------------------------------- the sample plan


def _signed(day: int, month: int = 11) -> date:
    return date(2026, month, day)


def _documents() -> list[Doc]:
    """Every document of the set, in delivery order. Paths are relative to samples/."""
    docs: list[Doc] = []

    def add(doc: Doc) -> Doc:
        docs.append(doc)
        return doc

    # --- Brouwerij De Drie Linden (NL, e-mail, trusted Master User) -------------------------------
    a = DRIELINDEN
    t, f = _agr(a, signed=_signed(12))
    add(
        Doc(
            "documents/drielinden/agr-nl.pdf",
            "EAP-AGR",
            Lang.NL,
            Format.FILLABLE,
            "Agreement, filled on screen",
            a,
            t,
            f,
            "Overeenkomst Extranet Aanvullend Pensioen.pdf",
            review_queued=True,
            review_decision="approve",
            review_reason="signature and signatory checked",
        )
    )
    t, f = _mu(a, signed=_signed(12))
    add(
        Doc(
            "documents/drielinden/mu-nl.pdf",
            "EAP-MU",
            Lang.NL,
            Format.FILLABLE,
            "Master User fiche naming Sofie Peeters",
            a,
            t,
            f,
            "Master User fiche.pdf",
            review_queued=True,
            review_decision="approve",
            review_reason="designation by the legal representative",
        )
    )
    jan = User(
        "new",
        "Janssens",
        "Jan",
        Lang.NL,
        email="jan.janssens@drielinden.example",
        phone=("0496 11 22 33", "+32496112233"),
        profile="consult_input",
        scope="all",
    )
    t, f = _usr(a, jan, signed=_signed(13))
    add(
        Doc(
            "documents/drielinden/usr-new-janssens-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FILLABLE,
            "New internal user, consult and input, all contracts",
            a,
            t,
            f,
            "Gebruikersfiche Janssens.pdf",
        )
    )
    claire = User(
        "new",
        "Dubois",
        "Claire",
        Lang.FR,
        email="claire.dubois@actuaris-conseil.example",
        user_type="external",
        company="Actuaris Conseil SRL",
        end=date(2031, 6, 30),
        profile="consult",
        scope="selected",
        contracts=("4100101", "4100102"),
    )
    t, f = _usr(a, claire, signed=_signed(13))
    add(
        Doc(
            "documents/drielinden/usr-new-dubois-fr.pdf",
            "EAP-USR",
            Lang.FR,
            Format.FILLABLE,
            "New external user (actuary), consult, two selected contracts, end date 2031",
            a,
            t,
            f,
            "Fiche utilisateur Dubois.pdf",
        )
    )
    pieter = User(
        "new",
        "Claes",
        "Pieter",
        Lang.NL,
        email="pieter.claes@drielinden.example",
        profile="consult",
        scope="selected",
        contracts=("4100103",),
    )
    t, f = _usr(a, pieter, signed=_signed(13))
    add(
        Doc(
            "documents/drielinden/usr-new-claes-nl.xlsx",
            "EAP-USR",
            Lang.NL,
            Format.XLSX,
            "New internal user as an XLSX fiche, consult, one selected contract",
            a,
            t,
            f,
            "gebruikersfiche_claes.xlsx",
        )
    )
    # second message of the same day: two fiches that parse clean but break dossier rules, one bad number
    tom = User(
        "new",
        "Mertens",
        "Tom",
        Lang.NL,
        email="tom.mertens@drielinden.example",
        profile="consult",
        scope="selected",
        contracts=("5200201",),
    )
    t, f = _usr(a, tom, signed=_signed(16))
    add(
        Doc(
            "documents/drielinden/usr-new-mertens-foreign-contract-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FILLABLE,
            "Valid fiche naming contract 5200201 of Boulangeries Lejeune: no cross-organisation access",
            a,
            t,
            f,
            "Gebruikersfiche Mertens.pdf",
            provisioning_error="contract-not-in-register",
            review_queued=None,
            review_decision="reject",
            review_reason="contract-not-in-register",
        )
    )
    team = User("new", "Loonadministratie", "Team", Lang.NL, email=a.notification_email, profile="consult", scope="all")
    t, f = _usr(a, team, signed=_signed(16))
    add(
        Doc(
            "documents/drielinden/usr-new-notification-address-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FILLABLE,
            "Valid fiche whose user e-mail is the agreement's notification address (a distribution list)",
            a,
            t,
            f,
            "Gebruikersfiche Loonadministratie.pdf",
            provisioning_error="user-email-is-notification-address",
            review_queued=None,
            review_decision="reject",
            review_reason="user-email-is-notification-address",
        )
    )
    hilde = User(
        "new", "Jacobs", "Hilde", Lang.NL, email="hilde.jacobs@drielinden.example", profile="consult", scope="all"
    )
    t, f = _usr(a, hilde, signed=_signed(16))
    t["org_enterprise_number"] = "0456.789.134"
    del f["org_enterprise_number"]
    add(
        Doc(
            "documents/drielinden/usr-new-jacobs-bad-checksum-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FILLABLE,
            "Enterprise number mistyped (0456.789.134: mod-97 check fails)",
            a,
            t,
            f,
            "Gebruikersfiche Jacobs.pdf",
            errors=[("enterprise-number-checksum", "org_enterprise_number")],
            review_queued=None,
            review_decision="reject",
            review_reason="enterprise-number-checksum",
        )
    )

    # --- Boulangeries Lejeune (FR, e-mail; agreement forwarded by the Master User) -----------------
    b = LEJEUNE
    # signed in April, sent in November: older than six months is a warning, not an error
    t, f = _agr(b, signed=_signed(2, 4))
    add(
        Doc(
            "documents/lejeune/agr-fr.pdf",
            "EAP-AGR",
            Lang.FR,
            Format.FILLABLE,
            "Agreement signed in April (signed-date-old warning), inside a forwarded message",
            b,
            t,
            f,
            "Convention Extranet signée.pdf",
            warnings=[("signed-date-old", "signed_date")],
            review_queued=True,
            review_decision="approve",
            review_reason="signature and signatory checked",
        )
    )
    agr_b_typed, agr_b_fields = t, f
    t, f = _mu(b, signed=_signed(9))
    add(
        Doc(
            "documents/lejeune/mu-fr.pdf",
            "EAP-MU",
            Lang.FR,
            Format.FILLABLE,
            "Master User fiche naming Isabelle Martin, inside a forwarded message",
            b,
            t,
            f,
            "Fiche Master User.pdf",
            review_queued=True,
            review_decision="approve",
            review_reason="designation by the legal representative",
        )
    )
    mu_b_typed, mu_b_fields = t, f
    luc = User(
        "new",
        "Dupont",
        "Luc",
        Lang.FR,
        email="luc.dupont@boulangeries-lejeune.example",
        phone=("081 22 33 44", "+3281223344"),
        profile="consult",
        scope="all",
    )
    t, f = _usr(b, luc, signed=_signed(17))
    add(
        Doc(
            "documents/lejeune/usr-new-dupont-fr.pdf",
            "EAP-USR",
            Lang.FR,
            Format.FILLABLE,
            "New internal user, consult, all contracts",
            b,
            t,
            f,
            "Fiche utilisateur Dupont.pdf",
        )
    )
    els = User(
        "new",
        "Wouters",
        "Els",
        Lang.NL,
        email="els.wouters@boulangeries-lejeune.example",
        profile="consult_input",
        scope="selected",
        contracts=("5200201", "5200202"),
    )
    t, f = _usr(b, els, signed=_signed(17))
    add(
        Doc(
            "documents/lejeune/usr-new-wouters-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FILLABLE,
            "New internal Dutch-speaking user, consult and input, two selected contracts",
            b,
            t,
            f,
            "Gebruikersfiche Wouters.pdf",
        )
    )
    nathalie = User(
        "new",
        "Lambert",
        "Nathalie",
        Lang.FR,
        email="nathalie.lambert@fiduciaire-lambert.example",
        user_type="external",
        company="Fiduciaire Lambert SRL",
        end=date(2031, 12, 31),
        profile="consult",
        scope="all",
    )
    t, f = _usr(b, nathalie, signed=_signed(17))
    add(
        Doc(
            "documents/lejeune/usr-new-lambert-fr.xlsx",
            "EAP-USR",
            Lang.FR,
            Format.XLSX,
            "New external user (accountant) as an XLSX fiche, consult, all contracts, end date 2031",
            b,
            t,
            f,
            "fiche_utilisateur_lambert.xlsx",
        )
    )
    julien = User(
        "new",
        "Petit",
        "Julien",
        Lang.FR,
        email="julien.petit@proconsult.example",
        user_type="external",
        company="ProConsult SA",
        profile="consult",
        scope="all",
    )
    t, f = _usr(b, julien, signed=_signed(17))
    add(
        Doc(
            "documents/lejeune/usr-new-petit-no-end-date-fr.pdf",
            "EAP-USR",
            Lang.FR,
            Format.FILLABLE,
            "External user without an end date of access",
            b,
            t,
            f,
            "Fiche utilisateur Petit.pdf",
            errors=[("external-end-date-required", "access_end_date")],
            review_queued=None,
            review_decision="reject",
            review_reason="access-end-date-missing",
        )
    )
    bram = User(
        "new",
        "Desmet",
        "Bram",
        Lang.NL,
        email="bram.desmet@boulangeries-lejeune.example",
        profile="consult",
        scope="all",
    )
    t, f = _usr(b, bram, signed=_signed(17))
    del t["user_last_name"], f["user_last_name"]
    add(
        Doc(
            "documents/lejeune/usr-new-missing-last-name-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FILLABLE,
            "Required field left empty (user's last name)",
            b,
            t,
            f,
            "Gebruikersfiche Bram.pdf",
            errors=[("field-required", "user_last_name")],
            review_queued=None,
            review_decision="reject",
            review_reason="field-required",
        )
    )
    paul = User(
        "new",
        "Renard",
        "Paul",
        Lang.FR,
        email="paul.renard@boulangeries-lejeune.example",
        profile="consult",
        scope="all",
    )
    t, f = _usr(b, paul, signed=_signed(17))
    add(
        Doc(
            "documents/lejeune/usr-new-renard-fr.pdf",
            "EAP-USR",
            Lang.FR,
            Format.FILLABLE,
            "Fiche signed by the Master User but mailed by the user himself (not the Master User address)",
            b,
            t,
            f,
            "Ma fiche utilisateur.pdf",
            review_queued=True,
            review_decision="approve",
            review_reason="confirmed with the Master User by phone",
        )
    )
    kevin = User(
        "new", "Maes", "Kevin", Lang.NL, email="kevin.maes@freemail.example", profile="consult_input", scope="all"
    )
    t, f = _usr(b, kevin, signed=_signed(18))
    add(
        Doc(
            "documents/lejeune/usr-new-maes-spoofed-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FILLABLE,
            "Fiche in a message claiming the Master User's address but failing DMARC",
            b,
            t,
            f,
            "Gebruikersfiche.pdf",
            review_queued=True,
            review_decision="reject",
            review_reason="sender-not-authenticated",
        )
    )
    # parse-only flattened twins: every form exists flattened in both languages
    add(
        Doc(
            "documents/lejeune/agr-fr-flattened.pdf",
            "EAP-AGR",
            Lang.FR,
            Format.FLATTENED,
            "Flattened (printed) copy of the agreement, not delivered: parse sample only",
            b,
            dict(agr_b_typed),
            dict(agr_b_fields),
            "",
            warnings=[("signed-date-old", "signed_date")],
        )
    )
    add(
        Doc(
            "documents/lejeune/mu-fr-flattened.pdf",
            "EAP-MU",
            Lang.FR,
            Format.FLATTENED,
            "Flattened (printed) copy of the Master User fiche, not delivered: parse sample only",
            b,
            dict(mu_b_typed),
            dict(mu_b_fields),
            "",
        )
    )

    # --- Zenne Logistics (NL, paper by post: scanned and dropped by the team) ---------------------
    c = ZENNE
    t, f = _agr(c, signed=_signed(10))
    add(
        Doc(
            "drop/zenne-agr-nl.pdf",
            "EAP-AGR",
            Lang.NL,
            Format.FLATTENED,
            "Agreement received by post",
            c,
            t,
            f,
            "",
            review_queued=True,
            review_decision="approve",
            review_reason="signature and signatory checked",
        )
    )
    t, f = _mu(c, signed=_signed(10))
    add(
        Doc(
            "drop/zenne-mu-nl.pdf",
            "EAP-MU",
            Lang.NL,
            Format.FLATTENED,
            "Master User fiche received by post",
            c,
            t,
            f,
            "",
            review_queued=True,
            review_decision="approve",
            review_reason="designation by the legal representative",
        )
    )
    tim = User(
        "new",
        "Vermeulen",
        "Tim",
        Lang.NL,
        email="tim.vermeulen@zennelogistics.example",
        profile="consult_input",
        scope="all",
        contracts=("6300301",),
    )
    t, f = _usr(c, tim, signed=_signed(10))
    add(
        Doc(
            "drop/zenne-usr-new-vermeulen-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FLATTENED,
            "New internal user by post; scope all with a contract number written anyway (ignored)",
            c,
            t,
            f,
            "",
            warnings=[("contracts-ignored", "contracts")],
            review_queued=True,
            review_decision="approve",
            review_reason="paper form checked",
        )
    )
    sarah = User(
        "new",
        "Lemaire",
        "Sarah",
        Lang.FR,
        email="sarah.lemaire@bureau-lemaire.example",
        user_type="external",
        company="Bureau Conseil Lemaire",
        end=date(2031, 3, 31),
        profile="consult",
        scope="selected",
        contracts=("6300301",),
    )
    t, f = _usr(c, sarah, signed=_signed(10))
    add(
        Doc(
            "drop/zenne-usr-new-lemaire-fr.pdf",
            "EAP-USR",
            Lang.FR,
            Format.FLATTENED,
            "New external French-speaking user by post, one selected contract, end date 2031",
            c,
            t,
            f,
            "",
            review_queued=True,
            review_decision="approve",
            review_reason="paper form checked",
        )
    )
    wim = User(
        "new",
        "Claeys",
        "Wim",
        Lang.NL,
        email="wim.claeys@transportadvies.example",
        user_type="external",
        company="Transport Advies Claeys",
        end=date(2026, 6, 30),
        profile="consult",
        scope="all",
    )
    t, f = _usr(c, wim, signed=_signed(10))
    add(
        Doc(
            "drop/zenne-usr-new-claeys-expired-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FLATTENED,
            "External user whose end date (30/06/2026) is already past",
            c,
            t,
            f,
            "",
            errors=[("end-date-past", "access_end_date")],
            review_queued=None,
            review_decision="reject",
            review_reason="access-end-date-past",
        )
    )
    olivier = User(
        "new",
        "Hermans",
        "Olivier",
        Lang.FR,
        email="olivier.hermans@freemail.example",
        profile="consult_input",
        scope="all",
    )
    t, f = _usr(c, olivier, signed=_signed(18))
    add(
        Doc(
            "documents/zenne/usr-new-hermans-forged-fr.pdf",
            "EAP-USR",
            Lang.FR,
            Format.FILLABLE,
            "Fiche in a message whose forged Authentication-Results header claims DMARC pass",
            c,
            t,
            f,
            "Fiche utilisateur.pdf",
            review_queued=True,
            review_decision="reject",
            review_reason="sender-not-authenticated",
        )
    )

    # --- another platform ----------------------------------------------------------------------
    add(
        Doc(
            "documents/other/econ-usr-nl.pdf",
            "ECON-USR",
            Lang.NL,
            Format.FOREIGN,
            "User fiche of Ethias Connect (another platform): refused",
            None,
            {},
            None,
            "Gebruikersfiche Connect.pdf",
            errors=[("other-platform", None)],
            review_queued=None,
            review_decision="reject",
            review_reason="other-platform",
        )
    )

    # --- wave 2: changes after the organisations are open -----------------------------------------
    jan2 = User(
        "modify",
        "Janssens",
        "Jan",
        Lang.NL,
        email=jan.email,
        phone=jan.phone,
        profile="consult",
        scope="selected",
        contracts=("4100101",),
    )
    t, f = _usr(a, jan2, signed=_signed(19))
    add(
        Doc(
            "documents/drielinden/usr-modify-janssens-nl-flattened.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FLATTENED,
            "Modify Jan Janssens (found by e-mail): consult only, one contract; printed to PDF",
            a,
            t,
            f,
            "Wijziging Janssens.pdf",
        )
    )
    pieter2 = User("revoke", "Claes", "Pieter", Lang.NL, email=pieter.email)
    t, f = _usr(a, pieter2, signed=_signed(19))
    add(
        Doc(
            "documents/drielinden/usr-revoke-claes-nl.pdf",
            "EAP-USR",
            Lang.NL,
            Format.FILLABLE,
            "Revoke Pieter Claes (found by e-mail)",
            a,
            t,
            f,
            "Intrekking Claes.pdf",
        )
    )
    luc2 = User("revoke", "Dupont", "Luc", Lang.FR, email=luc.email)
    t, f = _usr(b, luc2, signed=_signed(19))
    add(
        Doc(
            "documents/lejeune/usr-revoke-dupont-fr.pdf",
            "EAP-USR",
            Lang.FR,
            Format.FILLABLE,
            "Revoke Luc Dupont (found by e-mail)",
            b,
            t,
            f,
            "Retrait Dupont.pdf",
        )
    )
    sarah2 = User(
        "modify",
        "Lemaire",
        "Sarah",
        Lang.FR,
        email=sarah.email,
        user_type="external",
        company=sarah.company,
        end=date(2031, 9, 30),
        profile="consult",
        scope="selected",
        contracts=("6300301", "6300302"),
    )
    t, f = _usr(c, sarah2, signed=_signed(19), date_sep=".")
    add(
        Doc(
            "documents/zenne/usr-modify-lemaire-fr.pdf",
            "EAP-USR",
            Lang.FR,
            Format.FILLABLE,
            "Modify Sarah Lemaire (found by e-mail): end date 30.09.2031, second contract",
            c,
            t,
            f,
            "Modification Lemaire.pdf",
        )
    )
    return docs


# --------------------------------------------------------------------------- rendering


@contextlib.contextmanager
def _invariant_pdf() -> Iterator[None]:
    # reportlab stamps the time and a random document id into every PDF unless invariant mode is on
    old = rl_config.invariant
    rl_config.invariant = 1
    try:
        yield
    finally:
        rl_config.invariant = old


def _stable_zip(data: bytes) -> bytes:
    """Rewrite an XLSX with fixed member times and document properties, so it hashes the same every time."""
    stamp = "2026-11-20T00:00:00Z"
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{stamp}\g<2>", text)
                body = text.encode("utf-8")
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            dst.writestr(member, body)
    return out.getvalue()


def _xlsx_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    for column, width in zip("ABCDE", (14, 16, 22, 16, 42), strict=False):
        ws.column_dimensions[column].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return _stable_zip(buf.getvalue())


def _foreign_form() -> bytes:
    """A user fiche of Ethias Connect: same house style, another platform's title and footer."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=PAGE_SIZE, pageCompression=1)
    w, h = PAGE_SIZE
    c.setTitle("Gebruikersfiche Ethias Connect (ECON-USR v2026.1)")
    c.setFillColor(HexColor("#C8102E"))
    c.rect(0, h - 30, w, 30, stroke=0, fill=1)
    c.setFillColor(white)
    c.setFont("Helvetica-Bold", 15)
    c.drawString(48, h - 21, "ethias")
    c.setFont("Helvetica", 9)
    c.drawRightString(w - 48, h - 19, "Ethias Connect")
    c.setFillColor(HexColor("#1D1D1B"))
    c.setFont("Helvetica-Bold", 15)
    c.drawString(48, h - 78, "Gebruikersfiche Ethias Connect")
    rows = (
        ("Naam van de organisatie", DRIELINDEN.name),
        ("Ondernemingsnummer", DRIELINDEN.typed_number()),
        ("Naam", "Janssens"),
        ("Voornaam", "Jan"),
        ("Persoonlijk e-mailadres", "jan.janssens@drielinden.example"),
        ("Toepassing", "Schadeaangiften arbeidsongevallen"),
        ("Profiel", "Raadplegen en aangeven"),
        ("Datum", "13/11/2026"),
    )
    y = h - 120
    for label, value in rows:
        c.setFont("Helvetica", 7.5)
        c.drawString(48, y, label)
        c.setStrokeColor(HexColor("#7A7A7A"))
        c.rect(48, y - 22, w - 96, 18, stroke=1, fill=0)
        c.setFont("Helvetica", 10)
        c.drawString(51, y - 17, value)
        y -= 36
    c.setFont("Helvetica", 7)
    c.setFillColor(HexColor("#5B5B5B"))
    c.drawString(48, 38, f"ECON-USR v{FORM_VERSION}")
    c.drawCentredString(w / 2, 38, "Ethias NV · Ethias Connect · connect@ethias.be")
    c.drawRightString(w - 48, 38, "pagina 1/1")
    c.showPage()
    c.save()
    return buf.getvalue()


def _render(doc: Doc) -> bytes:
    if doc.fmt is Format.FOREIGN:
        return _foreign_form()
    if doc.fmt is Format.XLSX:
        return _stable_zip(write_user_fiche_xlsx(doc.typed, lang=doc.lang))
    flat = doc.fmt is Format.FLATTENED
    return render_form(doc.form_id, doc.lang, doc.typed, flatten=flat, signed=flat)


# --------------------------------------------------------------------------- messages


class Auth(StrEnum):
    PASS = "pass"  # noqa: S105 - a DMARC verdict. The gateway's header: dmarc, dkim and spf pass
    FAIL = "fail"  # the gateway's header: dmarc fail (spoofed From)
    FORGED = "forged"  # gateway says fail; a sender-written "pass" header sits below it


@dataclass
class Mail:
    path: str
    wave: int
    sender: tuple[str, str]
    subject: str
    body: str
    sent: datetime
    docs: list[Doc]
    description: str
    auth: Auth = Auth.PASS
    from_master_user: bool = True
    trusted: bool = True
    #: a message forwarded as an attachment (message/rfc822) holding its own documents
    forwarded: Mail | None = None
    #: attachments that repeat a document already delivered earlier (same SHA-256)
    duplicates: list[Doc] = field(default_factory=list)
    to: tuple[str, str] = ("Extranet Aanvullend Pensioen", MAILBOX)
    #: send a text/html alternative too, as most mail clients do
    html: bool = False
    data: bytes = b""

    @property
    def outcome(self) -> str:
        return "forms" if self.docs or self.forwarded or self.duplicates else "no-form-attachment"

    @property
    def for_people(self) -> str | None:
        """Why the run moves this mail, unread, to the people folder (issue 13.4) — no form, or every
        form refused at parse — or None (a form that may be queued for review keeps it in Processed)."""
        if self.outcome != "forms":
            return self.outcome
        docs = self.docs + self.duplicates + (self.forwarded.docs if self.forwarded else [])
        return "forms-refused" if docs and all(d.outcome is ParseOutcome.REJECTED for d in docs) else None


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=_BRUSSELS)


def _mails(docs: Mapping[str, Doc]) -> list[Mail]:
    a, b, c = DRIELINDEN, LEJEUNE, ZENNE

    def d(path: str) -> Doc:
        return docs[path]

    inner = Mail(
        "",
        1,
        (b.rep_name, "marc.lejeune@boulangeries-lejeune.example"),
        "Convention Extranet et fiche Master User",
        "Isabelle,\n\nVoici la convention signée et ta désignation comme Master User. Peux-tu les envoyer à "
        "Ethias ?\n\nMarc\n",
        _at(16, 8, 5),
        [d("documents/lejeune/agr-fr.pdf"), d("documents/lejeune/mu-fr.pdf")],
        "original message of the director",
        to=(b.mu.name, b.mu.email),
    )
    return [
        Mail(
            "mail/01-drielinden-opening.eml",
            1,
            (a.mu.name, a.mu.email),
            "Aansluiting Extranet Aanvullend Pensioen - Brouwerij De Drie Linden",
            "Beste,\n\nIn bijlage de overeenkomst, de Master User fiche en drie gebruikersfiches voor onze "
            "organisatie.\n\nMet vriendelijke groeten,\nSofie Peeters\nHR-manager\n",
            _at(16, 9, 12),
            [
                d("documents/drielinden/agr-nl.pdf"),
                d("documents/drielinden/mu-nl.pdf"),
                d("documents/drielinden/usr-new-janssens-nl.pdf"),
                d("documents/drielinden/usr-new-dubois-fr.pdf"),
                d("documents/drielinden/usr-new-claes-nl.xlsx"),
            ],
            "Opening set from the (pending) Master User's address, DMARC pass: AGR and MU to review, the user "
            "fiches count as the Master User's once the MU fiche is approved",
        ),
        Mail(
            "mail/02-lejeune-forwarded-agreement.eml",
            1,
            (b.mu.name, b.mu.email),
            "TR: Convention Extranet et fiche Master User",
            "Bonjour,\n\nJe vous transfère la convention et ma fiche Master User signées par notre "
            "administrateur délégué.\n\nCordialement,\nIsabelle Martin\n",
            _at(16, 10, 40),
            [],
            "Forward by the Master User with the agreement and MU fiche inside an attached message/rfc822",
            forwarded=inner,
        ),
        Mail(
            "mail/03-drielinden-dossier-errors.eml",
            1,
            (a.mu.name, a.mu.email),
            "Bijkomende gebruikersfiches",
            "Beste,\n\nHierbij nog drie gebruikersfiches.\n\nSofie\n",
            _at(16, 14, 3),
            [
                d("documents/drielinden/usr-new-mertens-foreign-contract-nl.pdf"),
                d("documents/drielinden/usr-new-notification-address-nl.pdf"),
                d("documents/drielinden/usr-new-jacobs-bad-checksum-nl.pdf"),
            ],
            "Trusted sender; one fiche names another organisation's contract, one gives the notification "
            "address as user e-mail, one has a mistyped enterprise number",
        ),
        Mail(
            "mail/04-lejeune-user-fiches.eml",
            1,
            (b.mu.name, b.mu.email),
            "Fiches utilisateurs Extranet",
            "Bonjour,\n\nVeuillez trouver ci-joint les fiches de nos utilisateurs (et à nouveau ma fiche Master "
            "User).\n\nCordialement,\nIsabelle Martin\n",
            _at(17, 11, 20),
            [
                d("documents/lejeune/usr-new-dupont-fr.pdf"),
                d("documents/lejeune/usr-new-wouters-nl.pdf"),
                d("documents/lejeune/usr-new-lambert-fr.xlsx"),
                d("documents/lejeune/usr-new-petit-no-end-date-fr.pdf"),
                d("documents/lejeune/usr-new-missing-last-name-nl.pdf"),
            ],
            "Trusted sender; three valid fiches (one XLSX), two invalid, and the MU fiche again (duplicate)",
            duplicates=[d("documents/lejeune/mu-fr.pdf")],
        ),
        Mail(
            "mail/05-lejeune-other-sender.eml",
            1,
            ("Paul Renard", "paul.renard@boulangeries-lejeune.example"),
            "Ma fiche utilisateur",
            "Bonjour,\n\nIsabelle m'a demandé de vous envoyer ma fiche signée.\n\nPaul Renard\n",
            _at(17, 15, 2),
            [d("documents/lejeune/usr-new-renard-fr.pdf")],
            "DMARC pass but not from the Master User: the fiche goes to review (approved)",
            from_master_user=False,
            trusted=False,
        ),
        Mail(
            "mail/06-lejeune-dmarc-fail.eml",
            1,
            (b.mu.name, b.mu.email),
            "Gebruikersfiche",
            "Goedendag,\n\nGelieve deze toegang dringend te activeren.\n",
            _at(18, 2, 47),
            [d("documents/lejeune/usr-new-maes-spoofed-nl.pdf")],
            "Claims the Master User's address, the gateway reports DMARC fail: to review (rejected)",
            auth=Auth.FAIL,
            trusted=False,
        ),
        Mail(
            "mail/07-zenne-forged-auth-results.eml",
            1,
            (c.mu.name, c.mu.email),
            "Fiche utilisateur",
            "Bonjour,\n\nMerci d'activer cet accès.\n",
            _at(18, 3, 15),
            [d("documents/zenne/usr-new-hermans-forged-fr.pdf")],
            "Gateway's Authentication-Results says DMARC fail; a forged 'dmarc=pass' header with the gateway's "
            "authserv-id sits below it and must be ignored: to review (rejected)",
            auth=Auth.FORGED,
            trusted=False,
        ),
        Mail(
            "mail/08-drielinden-other-platform.eml",
            1,
            (a.mu.name, a.mu.email),
            "Fiche Ethias Connect",
            "Beste,\n\nIn bijlage ook een fiche voor Ethias Connect.\n\nSofie\n",
            _at(18, 9, 30),
            [d("documents/other/econ-usr-nl.pdf")],
            "A user fiche of Ethias Connect: the document is rejected (other-platform)",
        ),
        Mail(
            "mail/09-drielinden-question-no-form.eml",
            1,
            ("Jan Janssens", "jan.janssens@drielinden.example"),
            "Vraag over toegang",
            "Goedemiddag,\n\nWanneer ontvang ik mijn login voor het Extranet Aanvullend Pensioen?\n\nJan\n",
            _at(18, 13, 55),
            [],
            "A question without any attachment: message outcome no-form-attachment",
            from_master_user=False,
            trusted=False,
            html=True,
        ),
        Mail(
            "mail/10-drielinden-changes.eml",
            2,
            (a.mu.name, a.mu.email),
            "Wijziging en intrekking",
            "Beste,\n\nIn bijlage een wijziging voor Jan Janssens en de intrekking voor Pieter Claes.\n\nSofie\n",
            _at(20, 9, 5),
            [
                d("documents/drielinden/usr-modify-janssens-nl-flattened.pdf"),
                d("documents/drielinden/usr-revoke-claes-nl.pdf"),
            ],
            "Wave 2, trusted: modify (flattened PDF) and revoke",
        ),
        Mail(
            "mail/11-lejeune-revoke.eml",
            2,
            (b.mu.name, b.mu.email),
            "Retrait d'accès",
            "Bonjour,\n\nLuc Dupont a quitté l'entreprise ; merci de retirer son accès.\n\nIsabelle Martin\n",
            _at(20, 9, 40),
            [d("documents/lejeune/usr-revoke-dupont-fr.pdf")],
            "Wave 2, trusted: revoke",
        ),
        Mail(
            "mail/12-zenne-modify.eml",
            2,
            (c.mu.name, c.mu.email),
            "Verlenging toegang Sarah Lemaire",
            "Beste,\n\nDe opdracht van Sarah Lemaire wordt verlengd; zie de gewijzigde fiche.\n\nAn De Vos\n",
            _at(20, 10, 15),
            [d("documents/zenne/usr-modify-lemaire-fr.pdf")],
            "Wave 2, trusted: the Master User approved from paper now mails a modify (end date, contracts)",
        ),
    ]


def _auth_headers(mail: Mail, domain: str, rng: random.Random) -> list[tuple[str, str]]:
    """Headers the receiving gateway (and, for the forgery, the sender) put on top of the message."""
    sig = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
    queue_id = "".join(rng.choice("0123456789BCDFGHJKLMNPQRSTVWXZ") for _ in range(12))
    stamp = format_datetime(mail.sent + timedelta(seconds=4))
    if mail.auth is Auth.PASS:
        auth = (
            f"{GATEWAY}; dmarc=pass (p=NONE) header.from={domain}; "
            f"dkim=pass header.d={domain} header.s=s2026 header.b={sig}; spf=pass smtp.mailfrom={domain}"
        )
        relay = f"from mail.{domain} (mail.{domain} [192.0.2.{10 + rng.randrange(80)}])"
    else:
        auth = (
            f"{GATEWAY}; dmarc=fail (p=NONE) header.from={domain}; dkim=none (message not signed); "
            f"spf=softfail smtp.mailfrom={domain}"
        )
        relay = f"from vps-{rng.randrange(1000, 9999)}.hosting.example ([203.0.113.{rng.randrange(2, 250)}])"
    received = f"{relay} by {GATEWAY} (Postfix) with ESMTPS id {queue_id} for <{MAILBOX}>; {stamp}"
    headers = [
        ("Return-Path", f"<{mail.sender[1]}>"),
        ("Delivered-To", MAILBOX),
        ("Authentication-Results", auth),
        ("Received", received),
    ]
    if mail.auth is Auth.FORGED:
        # written by the sender before the message reached the gateway: below the gateway's own header
        headers.append(
            (
                "Authentication-Results",
                f"{GATEWAY}; dmarc=pass header.from={domain}; dkim=pass header.d={domain}; "
                f"spf=pass smtp.mailfrom={domain}",
            )
        )
    return headers


def _mime(doc: Doc) -> tuple[str, str]:
    if doc.fmt is Format.XLSX:
        return "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "application", "pdf"


def _build_message(mail: Mail, rng: random.Random, *, top: bool = True) -> EmailMessage:
    name, addr = mail.sender
    domain = addr.split("@", 1)[1]
    msg = EmailMessage(policy=policy.default)
    if top:
        for key, value in _auth_headers(mail, domain, rng):
            msg[key] = value
    msg["From"] = formataddr((name, addr))
    msg["To"] = formataddr(mail.to)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.sent)
    msg["Message-ID"] = f"<{rng.getrandbits(64):016x}.{mail.sent:%Y%m%d%H%M}@{domain}>"
    msg["MIME-Version"] = "1.0"
    msg.set_content(mail.body)
    if mail.html:
        msg.add_alternative(
            "<html><body><p>" + mail.body.replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p></body></html>",
            subtype="html",
        )
    for doc in [*mail.docs, *mail.duplicates]:
        maintype, subtype = _mime(doc)
        msg.add_attachment(doc.data, maintype=maintype, subtype=subtype, filename=doc.attachment_name)
    if mail.forwarded is not None:
        inner = _build_message(mail.forwarded, rng, top=False)
        msg.add_attachment(inner, filename=f"{mail.forwarded.subject}.eml")
    return msg


def _tidy(msg: EmailMessage, prefix: str) -> None:
    """Fixed boundaries (the email package draws random ones) and no MIME-Version on body parts."""
    keep = {id(msg)}
    count = 0
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            keep.update(id(inner) for inner in part.iter_parts())
        if id(part) not in keep:
            del part["MIME-Version"]
        if part.get_content_maintype() == "multipart":
            count += 1
            part.set_boundary(f"=_{prefix}_{count}")


# --------------------------------------------------------------------------- the manifest


@dataclass(frozen=True)
class SampleSet:
    #: path relative to samples/ → bytes, the manifest included
    files: dict[str, bytes]
    manifest: dict[str, Any]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _issues(items: Sequence[tuple[str, str | None]]) -> list[dict[str, str | None]]:
    return [{"code": code, "field": fld} for code, fld in items]


def _in_form_order(form_id: str, fields: Mapping[str, FieldValue] | None) -> dict[str, FieldValue] | None:
    if fields is None:
        return None
    names = [f.name for f in FORMS[FormId(form_id)].fields if f.name not in CONTRACT_FIELDS]
    if "contracts" in fields:
        names.insert(names.index("mu_name"), "contracts")
    assert set(fields) <= set(names), set(fields) - set(names)
    return {name: fields[name] for name in names if name in fields}


def _doc_entry(doc: Doc) -> dict[str, Any]:
    method = _METHOD.get(doc.fmt)
    return {
        "path": doc.path,
        "sha256": doc.sha256,
        "description": doc.description,
        "organisation": doc.org.number if doc.org else None,
        "form_id": doc.form_id,
        "language": str(doc.lang),
        "format": str(doc.fmt),
        "method": str(method) if method and doc.fmt is not Format.FOREIGN else None,
        "channel": (
            str(Channel.POST) if doc.path.startswith("drop/") else str(Channel.EMAIL) if doc.delivered_by else None
        ),
        "delivered_by": doc.delivered_by,
        "outcome": str(doc.outcome),
        "errors": _issues(doc.errors),
        "warnings": _issues(doc.warnings),
        "fields": _in_form_order(doc.form_id, doc.fields),
        "provisioning_error": doc.provisioning_error,
        "review": {"queued": doc.review_queued, "decision": doc.review_decision, "reason": doc.review_reason},
    }


def _attachment_entries(mail: Mail, depth: int = 0) -> list[dict[str, Any]]:
    out = [
        {
            "filename": doc.attachment_name,
            "sha256": doc.sha256,
            "document": doc.path,
            "depth": depth,
            "duplicate": doc in mail.duplicates,
        }
        for doc in [*mail.docs, *mail.duplicates]
    ]
    if mail.forwarded is not None:
        out.extend(_attachment_entries(mail.forwarded, depth + 1))
    return out


def _mail_entry(mail: Mail) -> dict[str, Any]:
    return {
        "path": mail.path,
        "sha256": _sha(mail.data),
        "wave": mail.wave,
        "description": mail.description,
        "from": mail.sender[1],
        "subject": mail.subject,
        "date": mail.sent.isoformat(),
        "channel": str(Channel.EMAIL),
        # what the topmost Authentication-Results of authserv-id mx.ethias.be says
        "dmarc": "pass" if mail.auth is Auth.PASS else "fail",
        "authenticated": mail.auth is Auth.PASS,
        "from_master_user": mail.from_master_user,
        "trusted": mail.trusted,
        "forwarded": mail.forwarded is not None,
        "outcome": mail.outcome,
        "for_people": mail.for_people,
        "attachments": _attachment_entries(mail),
    }


def _org_entry(org: Org) -> dict[str, Any]:
    return {
        "key": org.key,
        "name": org.name,
        "enterprise_number": org.number,
        "language": str(org.language),
        "channel": str(org.channel),
        "notification_email": org.notification_email,
        "master_user": {
            "name": org.mu.name,
            "email": org.mu.email,
            "phone": org.mu.phone,
            "language": str(org.mu.language),
        },
        "contracts": [{"number": n, "name": name} for n, name in org.contracts],
        "legacy_logins": [lg.login for lg in org.legacy],
    }


def _account(org: Org, doc: Doc, *, status: str, final: Doc | None = None) -> dict[str, Any]:
    """The account created from ``doc`` as it stands at the end (``final``: the last modify or revoke)."""
    src = (final if final is not None and final.fields and final.fields.get("action") == "modify" else doc).fields
    assert src is not None
    return {
        "organisation": org.number,
        "name": f"{src['user_first_name']} {src['user_last_name']}",
        "user_email": src["user_email"],
        "user_language": src["user_language"],
        "user_type": src["user_type"],
        "external_company": src.get("external_company"),
        "access_end_date": src.get("access_end_date"),
        "profile": src["profile"],
        "scope": src["scope"],
        "contracts": src["contracts"],
        "status": status,
        "created_from": doc.path,
        "changed_by": final.path if final is not None else None,
    }


def _expected(docs: Mapping[str, Doc], mails: Sequence[Mail]) -> dict[str, Any]:
    d = docs.__getitem__
    a, b, c = DRIELINDEN, LEJEUNE, ZENNE
    accounts = [
        _account(
            a,
            d("documents/drielinden/usr-new-janssens-nl.pdf"),
            status="active",
            final=d("documents/drielinden/usr-modify-janssens-nl-flattened.pdf"),
        ),
        _account(a, d("documents/drielinden/usr-new-dubois-fr.pdf"), status="active"),
        _account(
            a,
            d("documents/drielinden/usr-new-claes-nl.xlsx"),
            status="revoked",
            final=d("documents/drielinden/usr-revoke-claes-nl.pdf"),
        ),
        _account(
            b,
            d("documents/lejeune/usr-new-dupont-fr.pdf"),
            status="revoked",
            final=d("documents/lejeune/usr-revoke-dupont-fr.pdf"),
        ),
        _account(b, d("documents/lejeune/usr-new-wouters-nl.pdf"), status="active"),
        _account(b, d("documents/lejeune/usr-new-lambert-fr.xlsx"), status="active"),
        _account(b, d("documents/lejeune/usr-new-renard-fr.pdf"), status="active"),
        _account(c, d("drop/zenne-usr-new-vermeulen-nl.pdf"), status="active"),
        _account(
            c,
            d("drop/zenne-usr-new-lemaire-fr.pdf"),
            status="active",
            final=d("documents/zenne/usr-modify-lemaire-fr.pdf"),
        ),
    ]
    credentials = [
        {"purpose": "credentials", "recipient": acc["user_email"], "language": acc["user_language"]} for acc in accounts
    ]
    users = {acc["user_email"] for acc in accounts}
    # everyone else named anywhere in the samples must never receive anything
    named = {str(doc.fields.get("user_email")) for doc in docs.values() if doc.fields and doc.fields.get("user_email")}
    named |= {m.sender[1] for m in mails} | {"marc.lejeune@boulangeries-lejeune.example"}
    named |= {lg.email for org in ORGS for lg in org.legacy} | {DECLERCQ_LEGACY.email}
    allowed = users | {o.notification_email for o in ORGS} | {o.mu.email for o in ORGS}
    return {
        "procedure": [
            f"Load {CONTRACTS_FILE} (contract register) and {LEGACY_FILE} (accounts of the old Extranet).",
            "Wave 1: deliver the messages of wave 1 in path order and the files of drop/ (channel post); run.",
            "Review: decide every queued document as its documents[].review.decision says (match by sha256). "
            "A document with review.queued true must be in the queue, false must never be; null: either.",
            "Run again (approvals take effect, the three organisations open).",
            "Wave 2: deliver the messages of wave 2 in path order; run; decide any queued document; run.",
            "Compare with the lists below. Dates are judged against reference_date. Every mail sent must be one "
            "of mails.exactly_once or mails.at_least_once (purpose and recipient).",
        ],
        "organisations_open": [o.number for o in ORGS],
        "accounts": accounts,
        "legacy_accounts": {
            "revoked": [lg.login for org in ORGS for lg in org.legacy],
            "active": [DECLERCQ_LEGACY.login],
        },
        "provisioning_errors": [
            {"document": doc.path, "sha256": doc.sha256, "code": doc.provisioning_error}
            for doc in docs.values()
            if doc.provisioning_error
        ],
        "duplicates": [
            {"document": dup.path, "sha256": dup.sha256, "message": m.path, "code": "duplicate-document"}
            for m in mails
            for dup in m.duplicates
        ],
        "mails": {
            "exactly_once": [
                *credentials,
                *(
                    {"purpose": "org_notice", "recipient": o.notification_email, "language": str(o.language)}
                    for o in ORGS
                ),
            ],
            "at_least_once": [{"purpose": "master_user_notice", "recipient": o.mu.email} for o in ORGS],
            # a distribution list or a Master User must never get a login (the MUs here have no account)
            "never_credentials_to": sorted({o.notification_email for o in ORGS} | {o.mu.email for o in ORGS}),
            "allowed_recipients": sorted(allowed),
            "never_recipients": sorted(named - allowed),
        },
    }


def build_samples() -> SampleSet:
    """Every sample file and the manifest, as bytes: the same on every call."""
    rng = random.Random(SEED)
    docs = _documents()
    by_path = {doc.path: doc for doc in docs}
    with _invariant_pdf():
        for doc in docs:
            doc.data = _render(doc)
    mails = _mails(by_path)
    for mail in mails:
        for doc in mail.docs + mail.duplicates + (mail.forwarded.docs if mail.forwarded else []):
            doc.delivered_by.append(mail.path)
        msg = _build_message(mail, rng)
        _tidy(msg, f"sample{mail.path[5:7]}")
        mail.data = msg.as_bytes()
    for doc in docs:
        if doc.path.startswith("drop/"):
            doc.delivered_by.append(doc.path)
    register_rows = [(o.number, n, name) for o in ORGS for n, name in o.contracts]
    register_rows.append((DECLERCQ_NUMBER, *DECLERCQ_CONTRACT))
    legacy_rows = [(lg.login, o.number, lg.last, lg.first, lg.email) for o in ORGS for lg in o.legacy]
    legacy_rows.append(
        (DECLERCQ_LEGACY.login, DECLERCQ_NUMBER, DECLERCQ_LEGACY.last, DECLERCQ_LEGACY.first, DECLERCQ_LEGACY.email)
    )
    reference = {
        CONTRACTS_FILE: _xlsx_table(
            ("enterprise_number", "contract_number", "contract_name"), register_rows, title="contracts"
        ),
        LEGACY_FILE: _xlsx_table(
            ("login", "enterprise_number", "last_name", "first_name", "email"), legacy_rows, title="legacy_accounts"
        ),
    }
    files: dict[str, bytes] = {doc.path: doc.data for doc in docs}
    files.update({mail.path: mail.data for mail in mails})
    files.update(reference)
    manifest: dict[str, Any] = {
        "about": "Expected outcome of every sample; see samples/README.md. Regenerate with "
        "`python -m samplekit generate --out samples`.",
        "reference_date": REFERENCE_DATE.isoformat(),
        "seed": SEED,
        "form_version": FORM_VERSION,
        "trust": {"mailbox": MAILBOX, "trusted_authserv_id": GATEWAY, "require_dmarc": True},
        "organisations": [_org_entry(o) for o in ORGS],
        "reference": [
            {
                "path": CONTRACTS_FILE,
                "sha256": _sha(reference[CONTRACTS_FILE]),
                "kind": "contract_register",
                "columns": ["enterprise_number", "contract_number", "contract_name"],
                "rows": len(register_rows),
            },
            {
                "path": LEGACY_FILE,
                "sha256": _sha(reference[LEGACY_FILE]),
                "kind": "legacy_accounts",
                "columns": ["login", "enterprise_number", "last_name", "first_name", "email"],
                "rows": len(legacy_rows),
            },
        ],
        "documents": [_doc_entry(doc) for doc in docs],
        "messages": [_mail_entry(mail) for mail in mails],
        "drop": [{"path": doc.path, "sha256": doc.sha256, "wave": 1} for doc in docs if doc.path.startswith("drop/")],
        "expected": _expected(by_path, mails),
    }
    files[MANIFEST_NAME] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return SampleSet(files=files, manifest=manifest)


@dataclass(frozen=True)
class WriteReport:
    out: Path
    written: int
    unchanged: int
    removed: int
    total_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "total_bytes": self.total_bytes,
        }


def write_samples(out: Path, sample: SampleSet | None = None) -> WriteReport:
    """Write the sample set under ``out`` (files that did not change are left untouched)."""
    sample = sample or build_samples()
    written = unchanged = removed = 0
    for rel, data in sorted(sample.files.items()):
        target = out / rel
        if target.is_file() and target.read_bytes() == data:
            unchanged += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written += 1
    for sub in OWNED_DIRS:
        folder = out / sub
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*"), reverse=True):
            rel = path.relative_to(out).as_posix()
            if path.is_file() and rel not in sample.files:
                path.unlink()
                removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return WriteReport(
        out=out,
        written=written,
        unchanged=unchanged,
        removed=removed,
        total_bytes=sum(len(v) for v in sample.files.values()),
    )
