"""Parsing one document: ``parse_document(bytes) -> ParsedForm`` — sniff, classify, extract, validate.

Pure and in process; untrusted bytes go through ``parsers.sandbox.SandboxedParser``, which runs
this same function in a worker under memory and time limits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
from collections.abc import Callable, Sequence
from datetime import date

from extranet_intake.errors import ParseError
from extranet_intake.parsers.acroform import hidden_ids, open_pdf, resolve_fields
from extranet_intake.parsers.classify import Classification, DocType, classify_ids, sniff
from extranet_intake.parsers.forms import FormId, Lang
from extranet_intake.parsers.result import Issue, Method, OcrSettings, ParsedForm, shown
from extranet_intake.parsers.signatures import check_signatures, has_signature_value
from extranet_intake.parsers.textlayer import read_text_layer
from extranet_intake.parsers.validate import RawValue, validate
from extranet_intake.parsers.xlsx import read_xlsx

__all__ = ["parse_document"]


def parse_document(
    data: bytes,
    *,
    today: date,
    filename: str | None = None,
    ocr: OcrSettings = OcrSettings(),  # noqa: B008 - frozen, shared safely
    trusted_roots: Sequence[bytes] = (),
) -> ParsedForm:
    """Read one document as one of the three forms; every failure is a coded rejection, never an exception.

    The digital signatures of an agreement or a Master User fiche are checked against
    ``trusted_roots`` (PEM or DER certificates; see ``parsers.signatures``).
    """
    sha = hashlib.sha256(data).hexdigest()
    try:
        parsed = _parse(data, today=today, filename=filename, ocr=ocr)
        parsed = _with_signatures(parsed, data, trusted_roots)
    except ParseError as exc:
        return ParsedForm.reject(exc.code, exc.message, sha256=sha)
    except RecursionError:
        return ParsedForm.reject(
            "hostile-structure", "the document nests its objects too deeply to be read safely", sha256=sha
        )
    except MemoryError:
        return ParsedForm.reject("parse-memory", "the document needs more memory than a form can need", sha256=sha)
    return dataclasses.replace(parsed, sha256=sha)


#: the field that names the person who must have signed, per form that needs a signature
_REPRESENTATIVE = {FormId.AGR: "signatory_name", FormId.MU: "rep_name"}


def _with_signatures(parsed: ParsedForm, data: bytes, trusted_roots: Sequence[bytes]) -> ParsedForm:
    """The verdicts on the digital signatures of a PDF agreement or Master User fiche, and their problems as
    warnings. A scan (handwritten signature) or an empty /Sig field has none: a person looks, as before."""
    if parsed.rejected or parsed.method not in (Method.ACROFORM, Method.TEXT) or not has_signature_value(data):
        return parsed
    form_id = FormId(parsed.form_id) if parsed.form_id in set(FormId) else None
    if form_id not in _REPRESENTATIVE:
        return parsed
    assert form_id is not None
    expected = parsed.fields.get(_REPRESENTATIVE[form_id])
    verdicts = check_signatures(data, trusted_roots, expected_name=expected if isinstance(expected, str) else None)
    problems = tuple(p for v in verdicts for p in v.problems)
    return dataclasses.replace(parsed, signatures=verdicts, warnings=(*parsed.warnings, *problems))


def _parse(data: bytes, *, today: date, filename: str | None, ocr: OcrSettings) -> ParsedForm:
    kind = sniff(data)
    if kind is DocType.EMPTY:
        raise ParseError("file-empty", "the file is empty")
    if kind is DocType.UNKNOWN:
        named = f" although it is named {shown(filename)}" if filename else ""
        raise ParseError("unsupported-type", f"the file is not a PDF, an XLSX sheet or an image{named}")
    if kind is DocType.XLSX:
        return _parse_xlsx(data, today=today)
    if kind is DocType.PDF:
        return _parse_pdf(data, today=today, ocr=ocr)
    return _ocr(data, today=today, ocr=ocr)


def _ocr(data: bytes, *, today: date, ocr: OcrSettings) -> ParsedForm:
    try:
        # lazy, and by name: tesseract and image libraries load only when a scan arrives
        reader = importlib.import_module("extranet_intake.parsers.ocr")
    except ImportError:
        return ParsedForm.reject("ocr-failed", "scans cannot be read: OCR is not available")
    read_scan: Callable[..., ParsedForm] = reader.read_scan
    return read_scan(data, today=today, page_timeout=ocr.page_timeout, min_confidence=ocr.min_confidence)


def _finish(
    cls: Classification, method: Method, raw: dict[str, RawValue], *, today: date, warnings: list[Issue]
) -> ParsedForm:
    assert cls.form_id is not None
    fields, errors, more = validate(cls.form_id, raw, today=today)
    return ParsedForm(
        form_id=str(cls.form_id),
        version=cls.version,
        language=str(cls.language) if cls.language else None,
        method=method,
        fields=fields,
        errors=tuple(errors),
        warnings=(*warnings, *more),
    )


def _parse_pdf(data: bytes, *, today: date, ocr: OcrSettings) -> ParsedForm:
    doc = open_pdf(data)
    form_id, version, lang = hidden_ids(doc.fields)
    if form_id:
        cls = classify_ids(form_id, version, lang)
        if cls.rejection is not None:
            return ParsedForm.reject(cls.rejection.code, cls.rejection.message)
        if cls.language is None:
            # hidden language lost by some tool: the printed title still says it
            cls = dataclasses.replace(cls, language=read_text_layer(data).classification.language)
        assert cls.form_id is not None
        return _finish(
            cls,
            Method.ACROFORM,
            resolve_fields(doc.fields, cls.form_id, cls.language),
            today=today,
            warnings=doc.warnings,
        )
    layer = read_text_layer(data)
    cls = layer.classification
    if cls.rejection is not None or cls.form_id is None:
        if not layer.has_text:
            scan = _ocr(data, today=today, ocr=ocr)
            return dataclasses.replace(scan, warnings=(*doc.warnings, *scan.warnings)) if not scan.rejected else scan
        issue = cls.rejection or Issue("not-a-form", "not a form of Extranet Aanvullend Pensioen")
        return ParsedForm.reject(issue.code, issue.message)
    stored = resolve_fields(doc.fields, cls.form_id, cls.language)
    if any(v not in (None, "", False) for v in stored.values()):
        # fillable form whose hidden id fields a tool dropped: its fields still hold the values
        return _finish(cls, Method.ACROFORM, stored, today=today, warnings=doc.warnings)
    return _finish(cls, Method.TEXT, layer.raw, today=today, warnings=doc.warnings)


def _parse_xlsx(data: bytes, *, today: date) -> ParsedForm:
    fiche = read_xlsx(data)
    form_id = fiche.ids.get("form_id", "")
    if not form_id:
        raise ParseError(
            "not-a-form", "the spreadsheet has no form_id row: not a user fiche of Extranet Aanvullend Pensioen"
        )
    cls = classify_ids(form_id, fiche.ids.get("form_version") or None, fiche.ids.get("form_lang") or None)
    if cls.rejection is not None:
        return ParsedForm.reject(cls.rejection.code, cls.rejection.message)
    if cls.form_id is not None and str(cls.form_id) != "EAP-USR":
        # the agreement and the Master User fiche need a signature: they only exist as PDF
        raise ParseError("not-a-form", f"{cls.form_id} is only accepted as a signed PDF, not as a spreadsheet")
    if cls.language is None:
        # no form_lang row: the fiche is in the language its user reads
        typed = fiche.raw.get("user_language")
        language = typed.strip().lower() if isinstance(typed, str) else ""
        if language in {str(lg) for lg in Lang}:
            cls = dataclasses.replace(cls, language=Lang(language))
    return _finish(cls, Method.XLSX, fiche.raw, today=today, warnings=[])
