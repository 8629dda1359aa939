"""The PAdES signature validator (parsers.signatures): one verdict per signature, over a test PKI."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers.document import parse_document
from extranet_intake.parsers.result import ParsedForm, SignatureVerdict
from extranet_intake.parsers.signatures import check_signatures, same_name
from tests.fixtures.forms import TODAY, valid_values
from tests.fixtures.pki import Pki, add_page_text_revision, change_field_revision, sign_pdf


@dataclass(frozen=True)
class Expected:
    signer: str
    intact: bool  # cryptographically intact AND covering the whole file
    trusted: bool
    expired: bool
    name_matches: bool
    codes: tuple[str, ...]


def _agr() -> bytes:
    return render_form("EAP-AGR", "nl", valid_values("EAP-AGR"))


def _case(pki: Pki, name: str) -> bytes:
    agr = _agr()
    if name == "valid":
        return sign_pdf(agr, pki.person("Marie Dupont"))
    if name == "modified-after-signing":
        return change_field_revision(sign_pdf(agr, pki.person("Marie Dupont")), "org_name", "Autre Société SA")
    if name == "untrusted-root":
        return sign_pdf(agr, pki.person("Marie Dupont", untrusted=True))
    if name == "expired":
        return sign_pdf(agr, pki.person("Marie Dupont", expired=True))
    if name == "name-mismatch":
        return sign_pdf(agr, pki.person("Jan Peeters"))
    if name == "earlier-revision-only":
        return add_page_text_revision(sign_pdf(agr, pki.person("Marie Dupont")))
    raise AssertionError(name)


#: the verdict table (kept in the report): case -> expected verdict of its one signature
TABLE = {
    "valid": Expected("Marie Dupont", True, True, False, True, ()),
    "modified-after-signing": Expected("Marie Dupont", False, True, False, True, ("signature-modified-after-signing",)),
    "untrusted-root": Expected("Marie Dupont", True, False, False, True, ("signature-untrusted",)),
    "expired": Expected("Marie Dupont", True, False, True, True, ("signature-expired",)),
    "name-mismatch": Expected("Jan Peeters", True, True, False, False, ("signature-name-mismatch",)),
    "earlier-revision-only": Expected("Marie Dupont", False, True, False, True, ("signature-modified-after-signing",)),
}


def _summary(v: SignatureVerdict) -> Expected:
    return Expected(
        v.signer or "",
        v.intact and v.covers_whole_file,
        v.trusted,
        v.expired,
        bool(v.name_matches),
        tuple(p.code for p in v.problems),
    )


@pytest.mark.parametrize("case", sorted(TABLE))
def test_verdict_table(pki: Pki, case: str) -> None:
    (verdict,) = check_signatures(_case(pki, case), [pki.root.pem], expected_name="Marie Dupont")
    assert _summary(verdict) == TABLE[case]
    assert verdict.intact  # the signed bytes themselves always hash right in these cases
    assert verdict.serial
    assert verdict.issuer
    assert ("Rogue Root CA" if case == "untrusted-root" else "Test Citizen CA") in verdict.issuer


def test_modified_after_signing_names_the_field_and_both_values(pki: Pki) -> None:
    (verdict,) = check_signatures(_case(pki, "modified-after-signing"), [pki.root.pem], expected_name="Marie Dupont")
    assert verdict.later_revisions == (2,)
    assert [(c.field, c.signed, c.read) for c in verdict.changed_fields] == [
        ("org_name", "Brasserie Dupont & Fils SRL", "Autre Société SA")
    ]
    assert "Brasserie Dupont & Fils SRL" in verdict.problems[0].message
    assert "Autre Société SA" in verdict.problems[0].message


def test_earlier_revision_only_changes_no_field(pki: Pki) -> None:
    (verdict,) = check_signatures(_case(pki, "earlier-revision-only"), [pki.root.pem], expected_name="Marie Dupont")
    assert verdict.changed_fields == ()
    assert verdict.later_revisions == (2,)
    assert "revision 2 of 3" in verdict.problems[0].message


def test_two_signatures_each_get_a_verdict(pki: Pki) -> None:
    once = sign_pdf(_agr(), pki.person("Marie Dupont"))
    twice = sign_pdf(once, pki.person("DUPONT Marie"), field="signature2")
    first, second = check_signatures(twice, [pki.root.pem], expected_name="Marie Dupont")
    # the second signature (form filling PAdES allows) changes no value: the first stays good
    assert (first.field, first.later_revisions, first.covers_whole_file, first.problems) == (
        "signature",
        (2,),
        False,
        (),
    )
    assert (second.field, second.signer, second.covers_whole_file, second.problems) == (
        "signature2",
        "DUPONT Marie",
        True,
        (),
    )


def test_second_signature_does_not_hide_a_changed_value(pki: Pki) -> None:
    changed = change_field_revision(sign_pdf(_agr(), pki.person("Marie Dupont")), "org_name", "Autre SA")
    first, second = check_signatures(
        sign_pdf(changed, pki.person("Marie Dupont"), field="signature2"), [pki.root.pem], expected_name="Marie Dupont"
    )
    assert [p.code for p in first.problems] == ["signature-modified-after-signing"]
    assert second.problems == ()


def test_no_roots_configured_is_untrusted(pki: Pki) -> None:
    (verdict,) = check_signatures(_case(pki, "valid"), [], expected_name="Marie Dupont")
    assert [p.code for p in verdict.problems] == ["signature-untrusted"]


def test_tampered_signed_bytes_are_invalid(pki: Pki) -> None:
    signed = bytearray(_case(pki, "valid"))
    at = signed.index(b"Brasserie Dupont")
    signed[at] = ord("b")
    (verdict,) = check_signatures(bytes(signed), [pki.root.pem], expected_name="Marie Dupont")
    assert "signature-invalid" in [p.code for p in verdict.problems]
    assert not verdict.intact


def test_empty_signature_field_has_no_verdict() -> None:
    assert check_signatures(_agr(), []) == ()


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Marie Dupont", "DUPONT Marie", True),
        ("Élise Lefèvre", "elise lefevre", True),
        ("Jean-Luc Dehaene", "Dehaene Jean Luc", True),
        ("Marie Dupont", "Marie Dupond", False),
        ("Marie Dupont", "Marie", False),
        ("", "", False),
    ],
)
def test_same_name(a: str, b: str, same: bool) -> None:
    assert same_name(a, b) is same


class TestParseDocument:
    def test_mu_fiche_carries_verdict_and_warnings(self, pki: Pki) -> None:
        mu = render_form("EAP-MU", "fr", valid_values("EAP-MU", "fr"))
        signed = sign_pdf(mu, pki.person("Paul Martin"))
        parsed = parse_document(signed, today=TODAY, trusted_roots=[pki.root.pem])
        assert parsed.ok
        (verdict,) = parsed.signatures
        assert verdict.name_matches is False
        assert verdict.trusted
        assert [w.code for w in parsed.warnings] == ["signature-name-mismatch"]
        # survives the trip through the worker's JSON
        assert tuple(SignatureVerdict.from_dict(d) for d in parsed.as_dict()["signatures"]) == parsed.signatures

    def test_unsigned_form_and_scan_stay_as_today(self) -> None:
        agr = parse_document(_agr(), today=TODAY, trusted_roots=[])
        flat = parse_document(
            render_form("EAP-AGR", "nl", valid_values("EAP-AGR"), flatten=True, signed=True), today=TODAY
        )
        for parsed in (agr, flat):
            assert parsed.ok
            assert parsed.signatures == ()
            assert parsed.warnings == ()

    def test_sandbox_carries_the_verdict(self, pki: Pki) -> None:
        from extranet_intake.parsers.sandbox import SandboxedParser

        signed = _case(pki, "modified-after-signing")
        with SandboxedParser(timeout=60, memory_mb=1024, max_bytes=10**7, trusted_roots=[pki.root.pem]) as p:
            parsed = p.parse(signed, today=TODAY)
        assert isinstance(parsed, ParsedForm)
        (verdict,) = parsed.signatures
        assert verdict.changed_fields[0].read == "Autre Société SA"
        assert "signature-modified-after-signing" in [w.code for w in parsed.warnings]
