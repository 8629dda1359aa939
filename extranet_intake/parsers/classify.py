"""What a document is: its type by magic bytes, and which form (id, version, language) it carries.

Classification reads what the form itself prints or stores — the hidden AcroForm fields
``form_id``/``form_version``/``form_lang``, else the footer ``EAP-USR v2026.1`` and the title in
the text — never the file name, which senders change at will.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from extranet_intake.parsers.forms import FOOTER_RE, FOREIGN_PLATFORM_PREFIXES, FORM_VERSION, FORMS, FormId, Lang
from extranet_intake.parsers.result import Issue, shown

__all__ = ["Classification", "DocType", "classify_ids", "classify_text", "sniff"]


class DocType(StrEnum):
    PDF = "pdf"
    XLSX = "xlsx"
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"
    EMPTY = "empty"
    UNKNOWN = "unknown"


def sniff(data: bytes) -> DocType:
    """The document type from its first bytes (the name and the MIME type of a mail are not trusted)."""
    if not data.strip():
        return DocType.EMPTY
    # the PDF header may follow some junk, within the first 1024 bytes (ISO 32000 §7.5.2 readers allow it)
    if b"%PDF-" in data[:1024]:
        return DocType.PDF
    if data.startswith(b"PK\x03\x04"):
        return DocType.XLSX  # a zip; xlsx.read checks it really is a workbook
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocType.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return DocType.JPEG
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return DocType.TIFF
    return DocType.UNKNOWN


@dataclass(frozen=True)
class Classification:
    """A recognised form, or the rejection saying why the document is not one of ours."""

    form_id: FormId | None = None
    version: str | None = None
    language: Lang | None = None
    rejection: Issue | None = None


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _check_id(form_id: str, version: str | None) -> Classification | None:
    """The rejection for a foreign, unknown or other-version form; None when it is one of ours."""
    if form_id.startswith(FOREIGN_PLATFORM_PREFIXES):
        return Classification(
            rejection=Issue(
                "other-platform",
                f"{shown(form_id)} is a form of another Ethias platform "
                "(Ethias Connect / Extranet Wettelijk Pensioen); "
                "access to Extranet Aanvullend Pensioen is requested separately",
            )
        )
    if form_id not in {str(f) for f in FormId}:
        return Classification(
            rejection=Issue("not-a-form", f"{shown(form_id)} is not a form of Extranet Aanvullend Pensioen")
        )
    if version is not None and version != FORMS[FormId(form_id)].version:
        return Classification(
            rejection=Issue(
                "unsupported-version", f"{form_id} version {shown(version)} is not supported (expected {FORM_VERSION})"
            )
        )
    return None


def classify_ids(form_id: str, version: str | None, lang: str | None) -> Classification:
    """From the hidden fields of a fillable form (or the id rows of an XLSX fiche)."""
    form_id = form_id.strip().upper()
    bad = _check_id(form_id, version.strip() if version else None)
    if bad is not None:
        return bad
    language = lang.strip().lower() if lang else ""
    return Classification(
        FormId(form_id),
        version.strip() if version else FORMS[FormId(form_id)].version,
        Lang(language) if language in {str(x) for x in Lang} else None,
    )


def classify_text(lines: Iterable[str]) -> Classification:
    """From the printed text of a page: the footer gives id and version, the title the language."""
    text = "\n".join(lines)
    # In reading order the printed title heads the page and the printed footer ends it; a value typed
    # in a box (another form's title or footer, by mistake or on purpose) comes in between.
    footers = list(FOOTER_RE.finditer(text))
    m = footers[-1] if footers else None
    if m is None:
        return Classification(
            rejection=Issue(
                "not-a-form",
                "no form footer (e.g. 'EAP-USR v2026.1') found: not a form of Extranet Aanvullend Pensioen",
            )
        )
    form_id, version = m.group(1), m.group(2)
    bad = _check_id(form_id, version)
    if bad is not None:
        return bad
    form = FORMS[FormId(form_id)]
    folded = _fold(text)
    # the first title found is the printed one; at the same place the longer (one title must never
    # be taken for another that contains it)
    found = sorted(
        (at, -len(title), lang) for lang in Lang if (at := folded.find(title := _fold(form.title(lang)))) >= 0
    )
    return Classification(form.form_id, version, found[0][2] if found else None)
