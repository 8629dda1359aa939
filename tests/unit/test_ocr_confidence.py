"""OCR confidence calibrated by field kind: self-validating values are trusted, doubtful ones still go to a person."""

from __future__ import annotations

from datetime import date

import pytest

from extranet_intake.parsers.forms import FORMS, FieldKind, FormId
from extranet_intake.parsers.ocr import _Reading, _result, _text_field
from extranet_intake.parsers.ocr_confidence import calibrate, email_matches_name
from extranet_intake.parsers.ocr_tess import Word, ZoneText

TODAY = date(2026, 11, 24)


def _zone(text: str, conf: float = 96.0, doubt: float = 0.0) -> ZoneText:
    return ZoneText(tuple(Word(w, conf, i * 10, doubt) for i, w in enumerate(text.split())))


def _flags(form_id: FormId, reads: dict[str, list[ZoneText]]) -> tuple[set[str], dict[str, object]]:
    """Read the given text boxes of a form as two models did; the fields flagged for a person, and the values."""
    kinds = {f.name: f.kind for f in FORMS[form_id].fields}
    reading = _Reading()
    for name, zones in reads.items():
        _text_field(reading, kinds[name], name, 0.05, zones)
    calibrate(form_id, reading)
    form = _result(form_id, _lang(), reading, today=TODAY, min_confidence=0.9)
    return {w.field for w in form.warnings if w.code.startswith("ocr-") and w.field}, dict(form.fields)


def _lang():  # type: ignore[no-untyped-def]
    from extranet_intake.parsers.forms import Lang

    return Lang.NL


def _user(**over: list[ZoneText]) -> dict[str, list[ZoneText]]:
    base = {
        "org_name": [_zone("Acme NV"), _zone("Acme NV")],
        "org_enterprise_number": [_zone("BE0644695949", 89.0), _zone("BEO644695949", 54.0)],
        "user_last_name": [_zone("Lambert", 93.0), _zone("Lambert", 91.0)],
        "user_first_name": [_zone("Nathalie", 93.0), _zone("Nathalie", 95.0)],
        "user_email": [_zone("nathalie.lambert @ stluc.be", 61.0), _zone("nathalie.lambert@ stluc.be", 55.0)],
        "mu_name": [_zone("François Renard", 95.0), _zone("Frangois Renard", 91.0)],
        "signed_date": [_zone("09/10/2026", 48.0), _zone("09/10/2026", 63.0)],
    }
    return {**base, **over}


def test_values_that_prove_themselves_are_not_flagged() -> None:
    flagged, fields = _flags(FormId.USR, _user())
    # O for 0 in one model, mod-97 holds: the number; the address spells the name boxes; ç for g
    assert flagged == set()
    assert fields["org_enterprise_number"] == "0644695949"
    assert fields["user_email"] == "nathalie.lambert@stluc.be"
    assert fields["mu_name"] == "François Renard"
    assert fields["signed_date"] == "2026-10-09"


@pytest.mark.parametrize(
    ("field", "zones"),
    [
        # both models agree on a valid address whose local part is not the name in the boxes
        ("user_email", [_zone("nathalie.tambert@stluc.be", 80.0), _zone("nathalie.tambert@stluc.be", 80.0)]),
        # a dot read as a space by one model: the models disagree
        ("user_email", [_zone("nathalie.lambert@stluc.be", 58.0), _zone("nathalie lambert@stluc.be", 61.0)]),
        # ten digits that fail mod-97
        ("org_enterprise_number", [_zone("BE0644695948"), _zone("BE0644695948")]),
        # a month that does not exist
        ("signed_date", [_zone("29/19/2026"), _zone("29/19/2026")]),
        # a runner-up ï on an i after a vowel: the diaeresis may be lost (Benoît, Loïc)
        ("mu_name", [_zone("Benoit Jacobs", 67.0, 69.0), _zone("Benoit Jacobs", 54.0)]),
        # one model dropped the É: the ï of Éloïse may be lost by both
        ("mu_name", [_zone("Éloise Mathieu", 89.0), _zone("Eloise Mathieu", 96.0, 5.2)]),
        ("mu_name", [_zone("Éloise Mathieu", 96.0), _zone("Eloise Mathieu", 96.0)]),
        # agreement at tesseract's low confidence with nothing else to vouch for it
        ("org_name", [_zone("Commune d'Uccie", 46.0), _zone("Commune d'Uccie", 85.0)]),
    ],
)
def test_doubtful_values_are_still_flagged(field: str, zones: list[ZoneText]) -> None:
    flagged, _ = _flags(FormId.USR, _user(**{field: zones}))
    assert field in flagged


def test_one_model_alone_proves_nothing() -> None:
    flagged, _ = _flags(FormId.USR, {name: zones[:1] for name, zones in _user().items()})
    assert {"user_email", "signed_date"} <= flagged


def test_a_runner_up_i_after_a_consonant_is_no_doubt() -> None:
    flagged, _ = _flags(
        FormId.MU, {"mu_function": [_zone("Administrateur délégué", 95.0, 34.0), _zone("Administrateur délégué", 94.0)]}
    )
    assert flagged == set()


def test_a_role_mailbox_vouches_for_a_notification_address() -> None:
    flagged, _ = _flags(
        FormId.AGR, {"notification_email": [_zone("rh @ delvaux.be", 35.0), _zone("rh@delvaux.be", 89.0)]}
    )
    assert "notification_email" not in flagged
    flagged, _ = _flags(
        FormId.AGR, {"notification_email": [_zone("jan@delvaux.be", 70.0), _zone("jan@delvaux.be", 70.0)]}
    )
    assert "notification_email" in flagged


def test_email_matches_name_folds_accents_spaces_and_apostrophes() -> None:
    assert email_matches_name("eloise.dhondt@x.be", "Éloïse", "D'Hondt")
    assert email_matches_name("jan.vanacker@x.be", "Jan", "Van Acker")
    assert not email_matches_name("jan.vanacker@x.be", "Jan", "Van Ackers")
    assert not email_matches_name("vanacker@x.be", "", "Van Acker")
    assert FieldKind.EMAIL  # the kind the check belongs to
