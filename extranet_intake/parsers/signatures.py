"""Digital signatures (PAdES) of a PDF form checked offline: ``check_signatures(bytes, roots) -> verdicts``.

Pure: the PDF's bytes and the trusted root certificates (PEM or DER bytes) in, one
``SignatureVerdict`` per signature out; never a network access (``allow_fetching=False``).

What is checked, offline:

- integrity: the signed bytes still hash to the signed digest, and the signed byte range covers
  the whole file; if not, which revisions came after and which field values they changed (the
  values read are then not the values signed, even when PAdES tolerates the change as form filling);
- the signer's certificate chain up to one of the configured trusted roots, with the certificates
  the signature and the document carry;
- the certificate's validity at signing time: the time of an embedded timestamp token when there
  is one, otherwise the signing time the signer itself wrote (a claim: nothing proves it);
- revocation, only from data the document embeds (its Document Security Store): missing
  revocation data is no failure ("soft-fail").

What is not checked: revocation data that is not embedded (no OCSP responder or CRL is ever
asked), whether the signer is entitled to sign for the organisation (a person decides that), and
the signature's appearance on the page.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from extranet_intake.parsers.result import FieldChange, Issue, SignatureVerdict, shown

__all__ = ["check_signatures", "has_signature_value", "same_name"]


def has_signature_value(data: bytes) -> bool:
    """A cheap test before pyhanko loads: does the file hold a signature dictionary at all?"""
    return b"/ByteRange" in data and b"/Contents" in data


def same_name(a: str, b: str) -> bool:
    """Two person names are the same, ignoring case, accents, punctuation and word order."""
    return _words(a) == _words(b) and bool(_words(a))


def _words(name: str) -> list[str]:
    bare = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalnum() else " " for c in bare.casefold())
    return sorted(cleaned.split())


def check_signatures(
    data: bytes,
    trusted_roots: Sequence[bytes],
    *,
    expected_name: str | None = None,
) -> tuple[SignatureVerdict, ...]:
    """One verdict per signature of the PDF (empty when it has none, e.g. an empty /Sig field).

    ``expected_name`` is the representative the form names (EAP-AGR ``signatory_name``, EAP-MU
    ``rep_name``): the signer's certificate common name must be the same person.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = list(reader.embedded_signatures)
    except Exception as exc:  # pyhanko raises many types on a damaged file: each is this file's failure
        return (
            SignatureVerdict(
                field="?",
                problems=(
                    Issue("signature-invalid", f"the document's signatures cannot be read: {type(exc).__name__}"),
                ),
            ),
        )
    roots = _load_roots(trusted_roots)
    total = reader.xrefs.total_revisions
    return tuple(_check(reader, sig, data, roots, total, expected_name) for sig in sigs)


def _load_roots(trusted_roots: Sequence[bytes]) -> list[Any]:
    from pyhanko.keys import load_certs_from_pemder_data

    out: list[Any] = []
    for blob in trusted_roots:
        out.extend(load_certs_from_pemder_data(blob))
    return out


def _check(
    reader: Any, sig: Any, data: bytes, roots: list[Any], total: int, expected_name: str | None
) -> SignatureVerdict:
    name = str(sig.field_name)
    try:
        return _validate(reader, sig, data, roots, total, expected_name)
    except Exception as exc:  # a malformed signature is this signature's failure, not the run's
        return SignatureVerdict(
            field=name,
            problems=(
                Issue(
                    "signature-invalid",
                    f"signature {name!r} cannot be validated: {type(exc).__name__}: {shown(str(exc))}",
                    field=name,
                ),
            ),
        )


def _validate(
    reader: Any, sig: Any, data: bytes, roots: list[Any], total: int, expected_name: str | None
) -> SignatureVerdict:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import NoDSSFoundError
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
    from pyhanko_certvalidator import ValidationContext

    name = str(sig.field_name)
    cert = sig.signer_cert
    # the time the certificate must be valid at: a timestamp token's if any, else the signer's claim
    when: datetime | None = None
    # an unverified timestamp token's time is used only as the moment to validate at; pyhanko checks the token
    for tst in extract_tst_data_iter(sig.signer_info, signed=False):
        when = tst["encap_content_info"]["content"].parsed["gen_time"].native
    if when is None:
        when = sig.self_reported_timestamp
    kwargs: dict[str, Any] = {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "soft-fail"}
    if when is not None:
        kwargs["moment"] = when
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        # embedded revocation data and certificates (PAdES-LT): the only revocation data ever used
        vc = dss.as_validation_context(kwargs)
    except NoDSSFoundError:
        vc = ValidationContext(**kwargs)
    status = validate_pdf_signature(sig, vc)

    not_before, not_after = (
        cert["tbs_certificate"]["validity"]["not_before"].native,
        cert["tbs_certificate"]["validity"]["not_after"].native,
    )
    moment = when or datetime.now(UTC)
    expired = not (not_before <= moment <= not_after)
    signer = cert.subject.native.get("common_name")
    signer = str(signer) if signer is not None else None
    br = list(sig.byte_range)
    covers = br[0] == 0 and br[2] + br[3] == len(data)
    signed_rev = int(sig.signed_revision)
    later = tuple(range(signed_rev + 1, total))
    changed = _changed_fields(data[: br[2] + br[3]], data) if later else ()

    problems: list[Issue] = []
    if not (status.intact and status.valid):
        problems.append(
            Issue(
                "signature-invalid",
                f"signature {name!r}: the signed bytes do not match the signature (damaged or forged)",
                field=name,
            )
        )
    if changed:
        what = "; ".join(f"{c.field}: signed {shown(c.signed or '')}, now {shown(c.read or '')}" for c in changed)
        problems.append(
            Issue(
                "signature-modified-after-signing",
                f"signature {name!r}: field values were changed after signing, the values read are "
                f"not the values signed ({what})",
                field=name,
            )
        )
    elif later and not _tolerated(status):
        problems.append(
            Issue(
                "signature-modified-after-signing",
                f"signature {name!r} covers only revision {signed_rev + 1} of {total}: the "
                f"{len(later)} revision(s) added after signing change more than signatures and "
                f"form fields ({_level(status)})",
                field=name,
            )
        )
    if expired:
        problems.append(
            Issue(
                "signature-expired",
                f"signature {name!r}: the certificate of {signer} was not valid "
                f"at signing time {moment:%Y-%m-%d %H:%M} UTC (valid "
                f"{not_before:%Y-%m-%d} to {not_after:%Y-%m-%d})",
                field=name,
            )
        )
    elif not status.trusted:
        problems.append(
            Issue(
                "signature-untrusted",
                f"signature {name!r}: the certificate of {signer} (issuer "
                f"{cert.issuer.human_friendly}) does not chain up to a "
                "configured trusted root",
                field=name,
            )
        )
    matches: bool | None = None
    if expected_name:
        matches = bool(signer) and same_name(signer or "", expected_name)
        if not matches:
            problems.append(
                Issue(
                    "signature-name-mismatch",
                    f"signature {name!r} is by {shown(signer or '')}, but the form names "
                    f"{shown(expected_name)} as the representative",
                    field=name,
                )
            )
    return SignatureVerdict(
        field=name,
        signer=signer,
        serial=format(cert.serial_number, "X"),
        issuer=cert.issuer.human_friendly,
        signed_at=moment.isoformat() if when is not None else None,
        intact=bool(status.intact and status.valid),
        covers_whole_file=covers,
        later_revisions=later,
        changed_fields=changed,
        trusted=bool(status.trusted) and not expired,
        expired=expired,
        name_matches=matches,
        problems=tuple(problems),
    )


def _tolerated(status: Any) -> bool:
    """Later revisions that only add signatures or validation data (what a second signer adds)."""
    from pyhanko.sign.diff_analysis import ModificationLevel

    level = status.modification_level
    return level is not None and level <= ModificationLevel.FORM_FILLING and status.docmdp_ok is not False


def _level(status: Any) -> str:
    level = status.modification_level
    return "unknown changes" if level is None else f"pyhanko modification level {level.name.lower()}"


def _changed_fields(signed: bytes, now: bytes) -> tuple[FieldChange, ...]:
    """The text/choice/tick-box values that differ between the signed revision and the whole file."""
    before, after = _field_values(signed), _field_values(now)
    return tuple(
        FieldChange(k, before.get(k), after.get(k))
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    )


def _field_values(data: bytes) -> dict[str, str | None]:
    from extranet_intake.parsers.acroform import open_pdf

    out: dict[str, str | None] = {}
    for full, f in open_pdf(data).fields.items():
        if f.ft == "/Sig":
            continue  # a signature field is filled by signing: not a value the form states
        out[full] = None if f.value is None else str(f.value)
    return out
