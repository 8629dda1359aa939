"""Field validation and normalisation of the three forms (docs/forms.md): raw values in, coded issues out.

Every extractor (AcroForm, text layer, XLSX, OCR) hands its raw strings here, and the review
queue re-validates corrected values through the same function, so a value means the same thing
whatever channel it came through. ``validate`` accepts its own output as input (ISO dates,
10-digit enterprise numbers, the ``contracts`` list), so re-validating a parsed form is a no-op.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TypedDict

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.be import vat
from stdnum.exceptions import InvalidChecksum, ValidationError

from extranet_intake.errors import ConfigError, ParseError
from extranet_intake.parsers.forms import CONTRACT_FIELDS, FORMS, FieldDef, FieldKind, FormDef, FormId
from extranet_intake.parsers.result import FieldValue, Issue, shown

__all__ = [
    "EMAIL_OPTIONS",
    "RawValue",
    "email_address",
    "enterprise_number",
    "normalise_text",
    "parse_date",
    "validate",
]

#: what an extractor hands over: text as typed, a tick box state, nothing, or (re-validation) a list
RawValue = str | bool | list[str] | None

_DATE_RE = re.compile(r"^(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{4})$")
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
#: contract numbers of the policy administration: letters, digits and the usual separators
_CONTRACT_RE = re.compile(r"^[A-Z0-9][A-Z0-9./\-]{0,19}$")
_TRUE = frozenset({"true", "1", "yes", "y", "ja", "j", "oui", "o", "x", "on", "waar", "vrai"})
_FALSE = frozenset({"", "false", "0", "no", "n", "nee", "non", "off", "onwaar", "faux"})
_SIGNED_OLD_MONTHS = 6


class _EmailOptions(TypedDict):
    allow_smtputf8: bool
    allow_empty_local: bool
    allow_quoted_local: bool
    allow_domain_literal: bool
    allow_display_name: bool
    strict: bool
    check_deliverability: bool
    test_environment: bool
    globally_deliverable: bool


#: email-validator's options for every address a form gives. The mailer may not import this package
#: (nor this package the mailer), so it makes the same call with the same options in ``mailer.render``; the
#: test ``tests/unit/test_email_agreement.py`` pins both to equal options and equal verdicts, so an
#: address kept here is always one the mailer sends to (issue 13.2: no account whose credentials
#: cannot be sent). SMTPUTF8 is refused rather than supported end to end: the relay is not required
#: to offer it, and a refusal at parse is a coded error a person sees, where a refusal at send time
#: came after the account existed. Every option is spelled out so a library default cannot drift.
EMAIL_OPTIONS: _EmailOptions = {
    "allow_smtputf8": False,
    "allow_empty_local": False,
    "allow_quoted_local": False,
    "allow_domain_literal": False,
    "allow_display_name": False,
    "strict": False,
    "check_deliverability": False,  # no DNS: parsing must stay pure and offline
    "test_environment": False,
    "globally_deliverable": True,
}


def normalise_text(value: str) -> str:
    """NFC, trimmed, runs of white space folded to one space (a printed copy cannot keep more)."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def enterprise_number(value: str) -> str:
    """Any common spelling of an enterprise number (``0812.345.603``, ``BE0812345603``, ``812345603``,
    spaces) as its ten digits; anything else — a typo above all — is refused with a code, never
    looked up as typed (an empty answer to a typo would read as a clean one).
    """
    try:
        return str(vat.validate(value))
    except ValidationError as exc:
        raise ConfigError(
            "enterprise-number-invalid",
            f"{shown(value)} is not a valid enterprise number (10 digits, mod-97 check): {exc}",
            value=value[:40],
        ) from exc


def parse_date(value: str) -> date | None:
    """``dd/mm/yyyy``, ``dd.mm.yyyy``, ``dd-mm-yyyy`` (what people write) or ISO (our own output)."""
    text = value.strip()
    m = _DATE_RE.match(text)
    try:
        if m:
            return date(int(m.group(4)), int(m.group(3)), int(m.group(1)))
        m = _ISO_RE.match(text)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


def _months_before(day: date, months: int) -> date:
    month0 = day.year * 12 + day.month - 1 - months
    year, month = divmod(month0, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


class _Checker:
    def __init__(self, form: FormDef, today: date) -> None:
        self.form = form
        self.today = today
        self.fields: dict[str, FieldValue] = {}
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def error(self, code: str, field: str, message: str) -> None:
        self.errors.append(Issue(code, message, field))

    def warn(self, code: str, field: str, message: str) -> None:
        self.warnings.append(Issue(code, message, field))


def _as_text(raw: RawValue) -> str:
    if raw is None or isinstance(raw, bool):
        return ""
    if isinstance(raw, list):
        return " ".join(raw)
    return normalise_text(raw)


def _control_character(text: str) -> str | None:
    """The first control (Cc) or lone-surrogate (Cs) character of ``text``, or None.

    White-space controls (tab, CR, LF …) are already folded to spaces by ``normalise_text``; what is
    left has no place in a name or an address, and a NUL or a lone surrogate cannot even be stored
    (PostgreSQL refuses NUL in text and JSON; UTF-8 cannot encode a surrogate), which once blocked
    a document on every run. Format characters (Cf) are left alone: some names need a joiner.
    """
    return next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Cs")), None)


def _enterprise(ck: _Checker, f: FieldDef, text: str) -> None:
    try:
        ck.fields[f.name] = vat.validate(text)
    except InvalidChecksum:
        ck.error("enterprise-number-checksum", f.name, f"enterprise number {shown(text)} fails the mod-97 check")
    except ValidationError:
        ck.error(
            "enterprise-number-format", f.name, f"enterprise number {shown(text)} is not 10 digits starting with 0 or 1"
        )


def email_address(text: str) -> str:
    """The address as it is kept, or ``ParseError`` ``email-not-ascii`` / ``email-invalid``.

    Only ASCII addresses are kept (before and after normalisation: email-validator writes an
    IDNA ``xn--`` domain back in Unicode in ``normalized``, so the ASCII form is the one kept).
    """
    if not text.isascii():
        raise ParseError(
            "email-not-ascii",
            f"e-mail address {shown(text)} has characters outside ASCII, to which credentials "
            "cannot be mailed: give the address in plain ASCII letters",
        )
    try:
        return validate_email(text, **EMAIL_OPTIONS).ascii_email or ""
    except EmailNotValidError as exc:
        raise ParseError("email-invalid", f"e-mail address {shown(text)} is not valid: {str(exc)[:200]}") from exc


def _email(ck: _Checker, f: FieldDef, text: str) -> None:
    try:
        ck.fields[f.name] = email_address(text)
    except ParseError as exc:
        ck.error(exc.code, f.name, exc.message)


def _phone(ck: _Checker, f: FieldDef, text: str) -> None:
    try:
        number = phonenumbers.parse(text, "BE")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        ck.error("phone-invalid", f.name, f"phone number {shown(text)} is not a valid Belgian or international number")
        return
    if not phonenumbers.is_valid_number(number):
        # A possible number in a range phonenumbers' metadata does not know (yet) is still kept:
        # a phone is contact data, not an access decision, so it must not block an opening.
        ck.warn(
            "phone-unknown-range",
            f.name,
            f"phone number {shown(text)} has a plausible length but is in a range not known to be in use",
        )
    ck.fields[f.name] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _date(ck: _Checker, f: FieldDef, text: str) -> None:
    day = parse_date(text)
    if day is None:
        ck.error("date-invalid", f.name, f"date {shown(text)} is not a date written dd/mm/yyyy")
        return
    ck.fields[f.name] = day.isoformat()
    if f.name == "signed_date":
        if day > ck.today:
            ck.error("date-in-future", f.name, f"signing date {day:%d/%m/%Y} is in the future")
        elif day < _months_before(ck.today, _SIGNED_OLD_MONTHS):
            ck.warn("signed-date-old", f.name, f"signing date {day:%d/%m/%Y} is more than six months ago")
    elif f.name == "access_end_date" and day <= ck.today:
        ck.error("end-date-past", f.name, f"end of access {day:%d/%m/%Y} is not in the future")


def _choice(ck: _Checker, f: FieldDef, text: str) -> None:
    key = text.lstrip("/").strip().casefold()
    for opt in f.options:
        # the machine value (radio export value, or typed in a text field / XLSX), or a label
        if key in (opt.value.casefold(), opt.nl.casefold(), opt.fr.casefold()):
            ck.fields[f.name] = opt.value
            return
    ck.error("choice-invalid", f.name, f"{shown(text)} is not one of {', '.join(f.values)} for {f.name}")


_CHECKERS: dict[FieldKind, Callable[[_Checker, FieldDef, str], None]] = {
    FieldKind.ENTERPRISE: _enterprise,
    FieldKind.EMAIL: _email,
    FieldKind.PHONE: _phone,
    FieldKind.DATE: _date,
    FieldKind.CHOICE: _choice,
}


def _checkbox(ck: _Checker, f: FieldDef, raw: RawValue) -> None:
    if isinstance(raw, bool) or raw is None:
        ticked = bool(raw)
    else:
        key = _as_text(raw).lstrip("/").casefold()
        if key in _TRUE:
            ticked = True
        elif key in _FALSE:
            ticked = False
        else:
            ck.error("choice-invalid", f.name, f"{shown(raw)} is not a tick-box value for {f.name}")
            return
    ck.fields[f.name] = ticked
    if f.required and not ticked:
        ck.error("terms-not-accepted", f.name, "the terms of the agreement are not accepted (box not ticked)")


def _contracts(ck: _Checker, raw: Mapping[str, RawValue]) -> None:
    numbers: list[str] = []
    given = raw.get("contracts")
    items: Sequence[RawValue]
    if isinstance(given, list):
        items = given
    elif isinstance(given, str):
        items = re.split(r"[,;\s]+", given)
    else:
        items = []
    items = [*items, *(raw.get(name) for name in CONTRACT_FIELDS)]
    for item in items:
        text = _as_text(item).replace(" ", "").upper()
        if not text:
            continue
        if not _CONTRACT_RE.match(text) or not any(c.isdigit() for c in text):
            ck.error("contract-invalid", "contracts", f"contract number {shown(text)} is not a valid contract number")
            continue
        if text not in numbers:
            numbers.append(text)
    scope = ck.fields.get("scope")
    if scope == "all" and numbers:
        ck.warn("contracts-ignored", "contracts", "scope is all contracts: the contract numbers given are ignored")
        numbers = []
    elif scope == "selected" and not numbers and not any(i.field == "contracts" for i in ck.errors):
        ck.error("contracts-required", "contracts", "scope is selected contracts but no contract number is given")
    ck.fields["contracts"] = numbers


def _cross_rules(ck: _Checker) -> None:
    if ck.form.form_id is not FormId.USR:
        return
    action = ck.fields.get("action")
    if action in ("new", "modify") and "user_email" not in ck.fields and not _has_error(ck, "user_email"):
        ck.error("user-email-required", "user_email", "a new or modified access needs the user's personal e-mail")
    if ck.fields.get("user_type") == "external":
        if "external_company" not in ck.fields and not _has_error(ck, "external_company"):
            ck.error("external-company-required", "external_company", "an external user needs the firm's name")
        if "access_end_date" not in ck.fields and not _has_error(ck, "access_end_date"):
            ck.error(
                "external-end-date-required",
                "access_end_date",
                "an external user needs an end date of access (end of the assignment)",
            )


def _has_error(ck: _Checker, field: str) -> bool:
    return any(i.field == field for i in ck.errors)


def _optional_for(form: FormDef, raw: Mapping[str, RawValue]) -> frozenset[str]:
    # A revocation names the person; profile and scope of an access being withdrawn mean nothing.
    if form.form_id is FormId.USR and _as_text(raw.get("action")).lstrip("/").casefold() in (
        "revoke",
        "intrekking",
        "retrait",
    ):
        return frozenset({"profile", "scope"})
    return frozenset()


def validate(
    form_id: str,
    raw: Mapping[str, RawValue],
    *,
    today: date,
) -> tuple[dict[str, FieldValue], list[Issue], list[Issue]]:
    """Normalise and check the raw values of one form: ``(fields, errors, warnings)``.

    Empty optional fields are left out of ``fields``; tick boxes are always there (bool), and an
    ``EAP-USR`` always has its ``contracts`` list. Keys that are not fields of the form are ignored.
    """
    try:
        form = FORMS[FormId(form_id)]
    except ValueError as exc:
        raise ParseError("not-a-form", f"{shown(form_id)} is not one of the forms", form_id=form_id[:80]) from exc
    ck = _Checker(form, today)
    optional = _optional_for(form, raw)
    for f in form.fields:
        if f.kind is FieldKind.CONTRACT:
            continue
        value = raw.get(f.name)
        if f.kind is FieldKind.SIGNATURE:
            if isinstance(value, bool):
                ck.fields[f.name] = value
            continue
        if f.kind is FieldKind.CHECKBOX:
            _checkbox(ck, f, value)
            continue
        text = _as_text(value)
        bad = _control_character(text)
        if bad is not None:
            # refused here, at the boundary every extractor (AcroForm, text layer, XLSX, OCR) and the
            # review queue's corrections pass through; the value is not kept, so nothing downstream
            # (database, audit, mail) ever holds it, and the message quotes it escaped
            ck.error(
                "field-control-character",
                f.name,
                f"{f.name} holds the control character U+{ord(bad):04X}: {shown(text)}; "
                "type the value again without it",
            )
            continue
        if not text:
            if f.required and f.name not in optional:
                ck.error("field-required", f.name, f"{f.name} ({f.nl} / {f.fr}) is required")
            continue
        # dates, numbers and choices have their own format checks; length only bounds free text
        if f.kind in (FieldKind.TEXT, FieldKind.EMAIL) and len(text) > f.max_len:
            ck.error("field-too-long", f.name, f"{f.name} is longer than {f.max_len} characters")
            continue
        checker = _CHECKERS.get(f.kind)
        if checker is None:
            ck.fields[f.name] = text
        else:
            checker(ck, f, text)
    if form.form_id is FormId.USR:
        _contracts(ck, raw)
    _cross_rules(ck)
    return ck.fields, [_with_value(e, ck.fields, raw) for e in ck.errors], ck.warnings


#: longest value as read an error keeps (a hostile value can be megabytes)
_READ_CHARS = 200


def _with_value(issue: Issue, fields: Mapping[str, FieldValue], raw: Mapping[str, RawValue]) -> Issue:
    """An error on a refused field carries the text as read: the audit of a correction names it."""
    name = issue.field
    if name is None or name in fields or name == "contracts":
        return issue
    value = raw.get(name)
    # cut before cleaning: a hostile value can be megabytes and only its start is kept
    value = value[: _READ_CHARS * 4] if isinstance(value, str) else value
    text = "".join(ch for ch in _as_text(value)[: _READ_CHARS * 4] if ch.isprintable())[:_READ_CHARS]
    return replace(issue, value=text) if text else issue
