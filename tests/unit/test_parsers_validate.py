"""Validation and normalisation of field values: each stable code, each accepted spelling."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from extranet_intake.errors import ParseError
from extranet_intake.parsers.classify import classify_ids
from extranet_intake.parsers.validate import normalise_text, parse_date, validate
from tests.fixtures.forms import TODAY, enterprise_numbers, valid_values


def _run(form_id: str, **overrides: Any) -> tuple[dict[str, Any], list[str], list[str]]:
    fields, errors, warnings = validate(form_id, valid_values(form_id, **overrides), today=TODAY)
    return fields, [f"{e.code}:{e.field}" for e in errors], [f"{w.code}:{w.field}" for w in warnings]


@pytest.mark.parametrize("form_id", ["EAP-AGR", "EAP-MU", "EAP-USR"])
def test_valid_values_are_valid(form_id: str) -> None:
    _, errors, warnings = _run(form_id)
    assert errors == []
    assert warnings == []


@pytest.mark.parametrize("typed", ["0644.695.949", "BE0644695949", "0644 695 949", "be 0644-695-949", "644695949"])
def test_enterprise_number_spellings(typed: str) -> None:
    fields, errors, _ = _run("EAP-MU", org_enterprise_number=typed)
    assert errors == []
    assert fields["org_enterprise_number"] == "0644695949"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("0644.695.948", "enterprise-number-checksum"),
        ("2644.695.949", "enterprise-number-format"),
        ("06446959", "enterprise-number-format"),
        ("ABC", "enterprise-number-format"),
    ],
)
def test_enterprise_number_errors(typed: str, code: str) -> None:
    fields, errors, _ = _run("EAP-MU", org_enterprise_number=typed)
    assert errors == [f"{code}:org_enterprise_number"]
    assert "org_enterprise_number" not in fields


@settings(max_examples=50)
@given(enterprise_numbers())
def test_every_valid_enterprise_number_normalises_to_ten_digits(typed: str) -> None:
    fields, errors, _ = _run("EAP-MU", org_enterprise_number=typed)
    assert errors == []
    assert len(fields["org_enterprise_number"]) == 10
    assert fields["org_enterprise_number"][0] in "01"


@pytest.mark.parametrize(
    ("typed", "iso"),
    [
        ("01/03/2026", "2026-03-01"),
        ("1.3.2026", "2026-03-01"),
        ("01-03-2026", "2026-03-01"),
        ("2026-03-01", "2026-03-01"),
        (" 01 / 03 / 2026 ", "2026-03-01"),
    ],
)
def test_date_spellings(typed: str, iso: str) -> None:
    fields, errors, _ = _run("EAP-MU", signed_date=typed)
    assert errors == []
    assert fields["signed_date"] == iso


@pytest.mark.parametrize("typed", ["31/02/2026", "2026/03/01", "01/03/26", "01/03.2026", "tomorrow"])
def test_date_invalid(typed: str) -> None:
    assert _run("EAP-MU", signed_date=typed)[1] == ["date-invalid:signed_date"]


def test_signed_date_rules() -> None:
    assert _run("EAP-MU", signed_date=f"{TODAY + timedelta(days=1):%d/%m/%Y}")[1] == ["date-in-future:signed_date"]
    assert _run("EAP-MU", signed_date=f"{TODAY:%d/%m/%Y}")[1] == []
    old = _run("EAP-MU", signed_date="14/12/2025")
    assert (old[1], old[2]) == ([], ["signed-date-old:signed_date"])
    assert _run("EAP-MU", signed_date="15/12/2025")[2] == []


def test_end_date_must_be_after_today() -> None:
    assert _run("EAP-USR", access_end_date=f"{TODAY:%d/%m/%Y}")[1] == ["end-date-past:access_end_date"]
    assert _run("EAP-USR", access_end_date=f"{TODAY + timedelta(days=1):%d/%m/%Y}")[1] == []


def test_email_and_phone() -> None:
    fields, errors, _ = _run("EAP-MU", mu_email=" Sophie.Lambert@DUPONT.be ", mu_phone="0470/12.34.56")
    assert errors == []
    assert fields["mu_email"] == "Sophie.Lambert@dupont.be"
    assert fields["mu_phone"] == "+32470123456"
    assert _run("EAP-MU", mu_email="sophie@@dupont")[1] == ["email-invalid:mu_email"]
    assert _run("EAP-MU", mu_email="sophie@dupont")[1] == ["email-invalid:mu_email"]
    assert _run("EAP-MU", mu_phone="12")[1] == ["phone-invalid:mu_phone"]
    assert _run("EAP-MU", mu_phone="+33 1 42 68 53 00")[0]["mu_phone"] == "+33142685300"


@pytest.mark.parametrize(("form_id", "field"), [("EAP-MU", "mu_phone"), ("EAP-USR", "user_phone")])
@pytest.mark.parametrize("typed", ["+32 4 1234 5678", "+32 30 12 34 56", "+1 555 0100 123"])
def test_a_possible_but_not_valid_phone_is_a_warning(form_id: str, field: str, typed: str) -> None:
    # issue 13.9: a number of a range phonenumbers does not know yet is contact data, not a reason
    # to block an opening; it is kept (E.164) and flagged for a person to see
    fields, errors, warnings = _run(form_id, **{field: typed})
    assert errors == []
    assert warnings == [f"phone-unknown-range:{field}"]
    assert fields[field].startswith("+")
    assert fields[field][1:].isdigit()


def test_an_impossible_phone_is_still_an_error() -> None:
    assert _run("EAP-MU", mu_phone="+32 12 34")[1] == ["phone-invalid:mu_phone"]
    assert _run("EAP-MU", mu_phone="not a number")[1] == ["phone-invalid:mu_phone"]


def test_required_and_too_long() -> None:
    assert _run("EAP-MU", rep_name="   ")[1] == ["field-required:rep_name"]
    assert _run("EAP-MU", mu_function="x" * 121)[1] == ["field-too-long:mu_function"]


def test_text_is_nfc_and_single_spaced() -> None:
    fields, _, _ = _run("EAP-MU", mu_last_name="  Lambe\u0301rt   van  Dijk ")
    assert fields["mu_last_name"] == "Lambért van Dijk"
    assert normalise_text("a\tb\n c") == "a b c"


@pytest.mark.parametrize(
    ("typed", "value"), [("NEW", "new"), ("/modify", "modify"), ("Intrekking", "revoke"), ("Nouvel accès", "new")]
)
def test_choice_machine_values_and_labels(typed: str, value: str) -> None:
    assert _run("EAP-USR", action=typed, login="u123")[0]["action"] == value


def test_choice_invalid() -> None:
    assert _run("EAP-USR", profile="admin")[1] == ["choice-invalid:profile"]


@pytest.mark.parametrize(
    ("typed", "ticked"),
    [(True, True), ("Ja", True), ("/Oui", True), ("x", True), (False, False), ("", False), (None, False)],
)
def test_terms_tick_box(typed: Any, ticked: bool) -> None:
    values = valid_values("EAP-AGR")
    values["accept_terms"] = typed
    fields, errors, _ = validate("EAP-AGR", values, today=TODAY)
    assert fields["accept_terms"] is ticked
    assert [e.code for e in errors] == ([] if ticked else ["terms-not-accepted"])


def test_user_cross_field_rules() -> None:
    assert _run("EAP-USR", user_email=None)[1] == ["user-email-required:user_email"]
    assert _run("EAP-USR", action="revoke", user_email=None, profile=None, scope=None, contracts=None)[1] == []
    assert _run("EAP-USR", user_type="external")[1] == [
        "external-company-required:external_company",
        "external-end-date-required:access_end_date",
    ]
    assert (
        _run(
            "EAP-USR",
            user_type="external",
            external_company="Conseil SA",
            access_end_date=f"{TODAY + timedelta(days=90):%d/%m/%Y}",
        )[1]
        == []
    )


def test_contracts_are_folded_upper_cased_and_checked() -> None:
    values = valid_values("EAP-USR", contracts=None)
    values.update(contract_1=" ga-104512 ", contract_3="GA 104513", contract_4="ga-104512")
    fields, errors, _ = validate("EAP-USR", values, today=TODAY)
    assert errors == []
    assert fields["contracts"] == ["GA-104512", "GA104513"]
    assert "contract_1" not in fields
    assert _run("EAP-USR", contracts=[])[1] == ["contracts-required:contracts"]
    assert _run("EAP-USR", contracts=["GA-1", "§$%"])[1] == ["contract-invalid:contracts"]
    fields, errors, warnings = _run("EAP-USR", scope="all")
    assert (fields["contracts"], errors, warnings) == ([], [], ["contracts-ignored:contracts"])


def test_unknown_form_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        validate("ECON-USR", {}, today=TODAY)
    assert info.value.code == "not-a-form"


def test_parse_date_helper() -> None:
    assert parse_date("29/02/2028") is not None
    assert parse_date("29/02/2027") is None


_CONTROLS = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x9b", "\ud800"]


@pytest.mark.parametrize("form_id", ["EAP-AGR", "EAP-MU", "EAP-USR"])
@pytest.mark.parametrize("char", _CONTROLS)
def test_a_control_character_in_any_field_is_refused_with_a_code(form_id: str, char: str) -> None:
    # issue 13.3: every extractor hands its strings to validate, so this is the one boundary; no
    # field of any form may carry such a character into the database, and no message either
    good = valid_values(form_id)
    for name, value in good.items():
        if not isinstance(value, str):
            continue
        raw = {**good, name: value[:2] + char + value[2:]}
        fields, errors, warnings = validate(form_id, raw, today=TODAY)
        codes = {(e.code, e.field) for e in errors}
        assert codes, f"{name} accepted {char!r}"
        for value_kept in fields.values():
            assert char not in str(value_kept)
        for issue in (*errors, *warnings):
            assert char not in issue.message
        if name != "contracts":
            assert ("field-control-character", name) in codes or all(c[1] == name for c in codes)


def test_a_control_character_in_a_contract_number_is_refused() -> None:
    _, errors, _ = _run("EAP-USR", contracts=["GA-1\x0004512"])
    assert errors == ["contract-invalid:contracts"]


def test_white_space_controls_are_folded_not_refused() -> None:
    fields, errors, _ = _run("EAP-MU", mu_last_name="Lam\tbert\r\nX")
    assert errors == []
    assert fields["mu_last_name"] == "Lam bert X"


@pytest.mark.parametrize(
    ("form_id", "version", "code"),
    [
        ("EWP-\x00USR", "1", "other-platform"),
        ("EAP-USR", "2026.1\x00", "unsupported-version"),
        ("EAP-\x1bUSR", None, "not-a-form"),
    ],
)
def test_a_control_character_in_the_form_ids_never_reaches_the_message(
    form_id: str, version: str | None, code: str
) -> None:
    # issue 13.3: the hidden id fields are read from the document too; the refusal quotes them escaped
    found = classify_ids(form_id, version, "nl")
    assert found.rejection is not None
    assert found.rejection.code == code
    assert not any(unicodedata.category(ch) == "Cc" for ch in found.rejection.message)
