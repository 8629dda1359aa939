"""The result types of parsing: ``ParsedForm`` and its coded ``Issue``s (shared with provisioning)."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "ACTIVE_CONTENT_CODES",
    "SIGNATURE_CODES",
    "STRAY_PAGE_CODES",
    "Channel",
    "FieldChange",
    "FieldValue",
    "Issue",
    "Method",
    "OcrSettings",
    "ParseOutcome",
    "ParsedForm",
    "Severity",
    "SignatureVerdict",
]

#: a normalised field value: text (dates ISO 8601, enterprise number 10 digits), a tick box, or
#: the list of contract numbers (key ``contracts``)
FieldValue = str | bool | list[str]


#: a page of a stack (several forms in one PDF) that holds no form: blank, or something else. Never
#: dropped: such a page goes to a person (the review queue) with this code
STRAY_PAGE_CODES = frozenset({"stack-blank-page", "stack-page-without-form"})


class Method(StrEnum):
    ACROFORM = "acroform"
    TEXT = "text"
    OCR = "ocr"
    XLSX = "xlsx"


class Channel(StrEnum):
    EMAIL = "email"
    POST = "post"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class ParseOutcome(StrEnum):
    VALID = "valid"  # one of the three forms, no blocking error
    INVALID = "invalid"  # one of the three forms, with blocking errors (a person must act)
    REJECTED = "rejected"  # not readable as one of the three forms: corrupt, hostile, other platform …


@dataclass(frozen=True)
class OcrSettings:
    """How scans are read: the time limit per page, and the confidence under which a field goes to review."""

    page_timeout: float = 20.0
    min_confidence: float = 0.90


@dataclass(frozen=True)
class Issue:
    """An error (blocking) or a warning, with a stable code and the field it concerns."""

    code: str
    message: str
    field: str | None = None
    #: the value as read, for an error whose field the validator refused (so it is not among the
    #: fields): what a reviewer's correction replaced. Not part of the issue's identity or output.
    value: str | None = dataclasses.field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class FieldChange:
    """A field whose value a revision after the signature changed: the value signed, the value read."""

    field: str
    signed: str | None
    read: str | None


@dataclass(frozen=True)
class SignatureVerdict:
    """What ``parsers.signatures.check_signatures`` found about one digital signature of a PDF."""

    #: the signature field's name
    field: str
    #: the signer's certificate subject common name (None: no readable certificate)
    signer: str | None = None
    #: the certificate's serial number (hexadecimal) and its issuer (distinguished name, human-readable)
    serial: str | None = None
    issuer: str | None = None
    #: when the signer says it signed (ISO 8601), or the time of an embedded timestamp token
    signed_at: str | None = None
    #: the signed bytes still hash to what was signed (the cryptographic signature holds)
    intact: bool = False
    #: the signed byte range covers the whole file: nothing was added after signing
    covers_whole_file: bool = False
    #: the revisions (0 = the first) added after the signed one
    later_revisions: tuple[int, ...] = ()
    #: field values a later revision changed: the values read are not the values signed
    changed_fields: tuple[FieldChange, ...] = ()
    #: the certificate chains up to one of the configured trusted roots (valid at signing time)
    trusted: bool = False
    #: the certificate was outside its validity period at signing time
    expired: bool = False
    #: the signer's name is the representative's on the form (None: the form names nobody to compare)
    name_matches: bool | None = None
    #: the coded problems (codes of ``SIGNATURE_CODES``), in words
    problems: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line for a person: by whom, which certificate, intact, trusted, name matching."""

        def yn(v: bool | None) -> str:
            return "-" if v is None else "yes" if v else "no"

        intact = yn(self.intact and self.covers_whole_file)
        return (
            f"signature {self.field}: by {self.signer or '?'} (serial {self.serial or '?'}, issuer "
            f"{self.issuer or '?'}), signed {self.signed_at or '?'}; intact={intact} trusted={yn(self.trusted)} "
            f"name matches={yn(self.name_matches)}"
        )

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["problems"] = [i.as_dict() for i in self.problems]
        d["ok"] = self.ok
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SignatureVerdict:
        return cls(
            field=str(d["field"]),
            signer=d.get("signer"),
            serial=d.get("serial"),
            issuer=d.get("issuer"),
            signed_at=d.get("signed_at"),
            intact=bool(d.get("intact")),
            covers_whole_file=bool(d.get("covers_whole_file")),
            later_revisions=tuple(int(r) for r in d.get("later_revisions") or ()),
            changed_fields=tuple(
                FieldChange(str(c["field"]), c.get("signed"), c.get("read")) for c in d.get("changed_fields") or ()
            ),
            trusted=bool(d.get("trusted")),
            expired=bool(d.get("expired")),
            name_matches=d.get("name_matches"),
            problems=tuple(Issue(str(i["code"]), str(i["message"]), i.get("field")) for i in d.get("problems") or ()),
        )


#: the codes of a digital signature's problems: each is a warning of the form and a reason of its
#: review item (an agreement or Master User fiche always goes to a person; these say what to look at)
SIGNATURE_CODES = frozenset(
    {
        "signature-modified-after-signing",
        "signature-untrusted",
        "signature-expired",
        "signature-name-mismatch",
        "signature-invalid",
    }
)


@dataclass(frozen=True)
class ParsedForm:
    form_id: str | None
    version: str | None
    language: str | None
    method: Method | None
    fields: dict[str, FieldValue] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    #: set when the document is not readable as one of the three forms (its code is errors[0])
    rejected: bool = False
    sha256: str | None = None
    channel: Channel | None = None
    #: one verdict per digital signature of the PDF (empty: none, e.g. an empty /Sig field or a scan)
    signatures: tuple[SignatureVerdict, ...] = ()

    @property
    def outcome(self) -> ParseOutcome:
        if self.rejected:
            return ParseOutcome.REJECTED
        return ParseOutcome.INVALID if self.errors else ParseOutcome.VALID

    @property
    def ok(self) -> bool:
        return self.outcome is ParseOutcome.VALID

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outcome"] = self.outcome.value
        d["errors"] = [i.as_dict() for i in self.errors]
        d["warnings"] = [i.as_dict() for i in self.warnings]
        d["signatures"] = [v.as_dict() for v in self.signatures]
        return d

    @classmethod
    def reject(
        cls,
        code: str,
        message: str,
        *,
        method: Method | None = None,
        form_id: str | None = None,
        sha256: str | None = None,
    ) -> ParsedForm:
        return cls(
            form_id=form_id,
            version=None,
            language=None,
            method=method,
            errors=(Issue(code, message),),
            rejected=True,
            sha256=sha256,
        )


#: warning codes of a PDF that carries active content (never run, opened or extracted): a form
#: that arrives this way is read, but goes to a person before it takes effect (issue 13.6) — the
#: same file may do something else in the viewer of whoever signed or forwarded it
ACTIVE_CONTENT_CODES = frozenset(
    {
        "pdf-javascript-ignored",
        "pdf-launch-action-ignored",
        "pdf-embedded-files-ignored",
        "pdf-xfa-ignored",
    }
)


#: longest part of a read value an issue message quotes (a hostile value can be megabytes)
SHOWN_CHARS = 80


def shown(value: object) -> str:
    """A read value as an issue message quotes it: ``repr``, cut to ``SHOWN_CHARS`` characters."""
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…")
