"""The result types of parsing: ``ParsedForm`` and its coded ``Issue``s (shared with provisioning)."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["ACTIVE_CONTENT_CODES", "STRAY_PAGE_CODES", "Channel", "FieldValue", "Issue", "Method", "OcrSettings",
           "Outcome", "ParsedForm",
           "Severity"]

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


class Outcome(StrEnum):
    VALID = "valid"        # one of the three forms, no blocking error
    INVALID = "invalid"    # one of the three forms, with blocking errors (a person must act)
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

    @property
    def outcome(self) -> Outcome:
        if self.rejected:
            return Outcome.REJECTED
        return Outcome.INVALID if self.errors else Outcome.VALID

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.VALID

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outcome"] = self.outcome.value
        d["errors"] = [i.as_dict() for i in self.errors]
        d["warnings"] = [i.as_dict() for i in self.warnings]
        return d

    @classmethod
    def reject(cls, code: str, message: str, *, method: Method | None = None, form_id: str | None = None,
               sha256: str | None = None) -> ParsedForm:
        return cls(form_id=form_id, version=None, language=None, method=method,
                   errors=(Issue(code, message),), rejected=True, sha256=sha256)


#: warning codes of a PDF that carries active content (never run, opened or extracted): a form
#: that arrives this way is read, but goes to a person before it takes effect (issue 13.6) — the
#: same file may do something else in the viewer of whoever signed or forwarded it
ACTIVE_CONTENT_CODES = frozenset({
    "pdf-javascript-ignored", "pdf-launch-action-ignored", "pdf-embedded-files-ignored", "pdf-xfa-ignored",
})


#: longest part of a read value an issue message quotes (a hostile value can be megabytes)
SHOWN_CHARS = 80


def shown(value: object) -> str:
    """A read value as an issue message quotes it: ``repr``, cut to ``SHOWN_CHARS`` characters."""
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…")
