"""Per-field OCR confidence calibrated by field kind: a value that proves itself is trusted, others keep their doubt.

Tesseract's word confidences are poor judges of typed values: on clean scans a quarter of the
right values score under 0.9 (an ``@`` or a ``.`` between words costs a lot), while a wrong
value both models agree on can score 0.85. So a field is trusted on evidence that a misread
cannot fake, per kind:

- enterprise numbers: both models read the same ten digits (``O`` is a 0 in a number) and they
  pass the mod-97 check;
- dates: both models read the same date, and it is a real calendar date;
- phone numbers: both read the same digits;
- e-mail addresses: both read the same address, its syntax holds, and its local part is the
  person's name as written in the name boxes of the same form (``first.last``), or a functional
  mailbox (``rh``, ``personeel`` …) for the organisation's notification address — a misread
  letter then has to happen twice, in two boxes, the same way;
- names: both models read the same letters, and either tesseract is sure or the e-mail address
  of the same person spells them. ``ç`` read as ``g`` by the Dutch model (it has no ``ç``) and an
  accent one model dropped are the known disagreements that are reconciled — except where an
  ``i`` after a vowel could have lost its diaeresis too (Éloïse, Loïc, Benoît), which stays a
  question for a person, as does any runner-up ``ï``/``î`` tesseract reports there.

Values the validator refuses, hand-writing and unreadable ink are flagged elsewhere whatever
this module says (:func:`parsers.ocr._result`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from extranet_intake.parsers.forms import FORMS, FieldKind, FormId
from extranet_intake.parsers.validate import parse_date

if TYPE_CHECKING:
    from extranet_intake.parsers.ocr import _Reading

__all__ = ["LETTER_DOUBT", "PLAUSIBLE", "ROLE_MAILBOXES", "TRUSTED", "calibrate", "email_matches_name"]

#: the confidence given to a value that proved itself (over ParsingConfig.ocr_min_confidence's 0.90)
TRUSTED = 0.95
#: a runner-up letter this likely (tesseract's choice confidence / 100) makes a reading doubtful
LETTER_DOUBT = 0.05
#: the weakest word of a self-validating value may score this low (an "@" alone often scores 0.5)
SELF_VALIDATED_FLOOR = 0.5
DATE_FLOOR = 0.6

PLAUSIBLE: dict[FieldKind, re.Pattern[str]] = {
    FieldKind.ENTERPRISE: re.compile(r"^(BE)?[01][0-9. ]{9,13}$"),
    FieldKind.DATE: re.compile(r"^\d{2}[/.\-]\d{2}[/.\-]\d{4}$"),
    FieldKind.EMAIL: re.compile(r"^[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}$"),
    FieldKind.PHONE: re.compile(r"^\+?[0-9 ./()\-]{8,20}$"),
    FieldKind.CONTRACT: re.compile(r"^[A-Z0-9][A-Z0-9./\-]{2,19}$"),
    # names, functions, streets, towns: letters (with accents), digits, the usual punctuation
    FieldKind.TEXT: re.compile(r"^[\w&'’().,/ \-]+$"),
}

#: local parts of an organisation's functional mailboxes (the notification address of an agreement)
ROLE_MAILBOXES = frozenset(
    {
        "rh",
        "hr",
        "hrm",
        "personeel",
        "personnel",
        "extranet",
        "info",
        "admin",
        "administratie",
        "administration",
        "pension",
        "pensions",
        "pensioen",
        "pensioenen",
        "secretariaat",
        "secretariat",
        "payroll",
        "salaris",
        "salaires",
        "loonadministratie",
        "boekhouding",
        "comptabilite",
        "direction",
        "directie",
        "contact",
        "sociaal",
        "social",
    }
)

#: the e-mail address of the person whose name boxes are (first name, last name)
_PERSON_EMAIL: dict[str, tuple[str, str]] = {
    "user_email": ("user_first_name", "user_last_name"),
    "mu_email": ("mu_first_name", "mu_last_name"),
}
_ROLE_EMAIL = frozenset({"notification_email"})
#: an i after a vowel is where a diaeresis or circumflex can be lost (Loïc, Éloïse, Benoît)
_VOWEL_I = re.compile(r"[aeiouyàâäéèêëîïôöûüù]i", re.IGNORECASE)
_LOOKALIKE_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1"})


def _fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)).casefold()


def _name_key(text: str) -> str:
    """A name as it appears in an address: accents off, lower case, no spaces, hyphens or apostrophes."""
    return re.sub(r"[\s'’\-]", "", _fold(text))


def email_matches_name(email: str, first: str, last: str) -> bool:
    """Is the local part of ``email`` ``first.last`` (as people's addresses at these organisations are)?"""
    local = email.partition("@")[0]
    return bool(first and last) and local == f"{_name_key(first)}.{_name_key(last)}"


def _digits(kind: FieldKind, text: str) -> str:
    body = text.replace(" ", "").replace(".", "")
    prefix = ""
    if kind is FieldKind.ENTERPRISE and body[:2].upper() == "BE":
        body = body[2:]
    elif kind is FieldKind.PHONE and body.startswith("+"):
        prefix, body = "+", body[1:]
    body = body.translate(_LOOKALIKE_DIGITS)
    return prefix + body if body.isdigit() else ""


def _marks(text: str) -> int:
    return sum(1 for ch in unicodedata.normalize("NFKD", text) if unicodedata.combining(ch))


def _reconcile(texts: list[str]) -> tuple[str | None, bool]:
    """The reading the models agree on, modulo the known slips: ``(text, lost_accent)``.

    ``ç`` read as ``g`` (the Dutch model has no ``ç``) and an accent one model dropped are
    reconciled to the richer reading; ``lost_accent`` says an accent other than the cedilla was
    dropped by a model (so another one may have been dropped by both). None: a real disagreement.
    """
    if any(not t for t in texts):
        return None, False
    if len(set(texts)) == 1:
        return texts[0], False

    def shape(t: str) -> str:
        return _fold(t.replace("ç", "g").replace("Ç", "G"))

    if len({shape(t) for t in texts}) != 1 or len({len(t) for t in texts}) != 1:
        return None, False
    best = max(texts, key=lambda t: (_marks(t), t.count("ç") + t.count("Ç")))

    def uncedilla(t: str) -> str:  # the cedilla (or the g nld reads for it) set aside
        return "".join("c" if b in "çÇ" else ch for ch, b in zip(t, best, strict=True))

    dropped = any(_marks(uncedilla(t)) != _marks(uncedilla(best)) for t in texts)
    return best, dropped


def _vowel_i_doubt(words: list[list[tuple[str, float]]]) -> bool:
    return any(doubt >= LETTER_DOUBT and _VOWEL_I.search(text) for model in words for text, doubt in model)


def calibrate(form_id: FormId, reading: _Reading) -> None:
    """Replace tesseract's confidence of each read text field by the kind's evidence (in place)."""
    kinds = {f.name: f.kind for f in FORMS[form_id].fields}
    skip = set(reading.handwritten) | set(reading.unreadable)
    agreed: dict[str, str] = {}
    lost: set[str] = set()
    for name, texts in reading.texts.items():
        kind = kinds.get(name)
        if name in skip or kind is None or len(texts) < 2:
            continue  # one model's reading agrees with nothing: tesseract's own confidence stands
        if kind in (FieldKind.ENTERPRISE, FieldKind.PHONE):
            canon = {_digits(kind, t) for t in texts}
            value = canon.pop() if len(canon) == 1 else ""
            if value:
                agreed[name] = value
            continue
        text, dropped = _reconcile(texts)
        if text is not None:
            agreed[name] = text
            if dropped:
                lost.add(name)
    confirmed: set[str] = set()
    for email, (first, last) in _PERSON_EMAIL.items():
        if (
            email in agreed
            and first in agreed
            and last in agreed
            and email_matches_name(agreed[email], agreed[first], agreed[last])
        ):
            confirmed |= {email, first, last}
    for email in _ROLE_EMAIL:
        if email in agreed and agreed[email].partition("@")[0] in ROLE_MAILBOXES:
            confirmed.add(email)
    for name, value in agreed.items():
        kind = kinds[name]
        best = max(reading.confs.get(name) or [0.0])
        words = reading.words.get(name, [])
        trusted = False
        if kind is FieldKind.ENTERPRISE:
            trusted = _mod97(value)
        elif kind is FieldKind.PHONE:
            trusted = best >= SELF_VALIDATED_FLOOR and len(value.lstrip("+")) >= 9
        elif kind is FieldKind.DATE:
            trusted = best >= DATE_FLOOR and bool(PLAUSIBLE[kind].match(value)) and parse_date(value) is not None
        elif kind is FieldKind.EMAIL:
            trusted = name in confirmed and best >= SELF_VALIDATED_FLOOR and bool(PLAUSIBLE[kind].match(value))
        elif kind is FieldKind.TEXT:
            doubtful = _vowel_i_doubt(words) or (name in lost and _VOWEL_I.search(value) is not None)
            plausible = bool(PLAUSIBLE[kind].match(value))
            trusted = plausible and not doubtful and (best >= 0.9 or name in confirmed)
        # the reconciled reading is the better prefill for a person even when it is not trusted
        reading.raw[name] = value
        if trusted:
            reading.confidence[name] = max(reading.confidence.get(name, 0.0), TRUSTED)


def _mod97(digits: str) -> bool:
    return len(digits) == 10 and digits[0] in "01" and 97 - int(digits[:8]) % 97 == int(digits[8:])
