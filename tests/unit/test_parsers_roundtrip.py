"""Property: for random valid field sets, render → parse gives back exactly the normalised fields."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers import parse_document
from extranet_intake.parsers.forms import FormId, Lang
from extranet_intake.parsers.result import Method
from extranet_intake.parsers.validate import validate
from samplekit.xlsx_fiche import write_user_fiche_xlsx
from tests.fixtures.forms import TODAY, field_sets

_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _expected(form_id: FormId, values: dict[str, Any]) -> dict[str, Any]:
    fields, errors, _ = validate(form_id, values, today=TODAY)
    assert errors == [], f"the strategy made an invalid set: {errors}"
    return fields


def _check(data: bytes, form_id: FormId, lang: Lang, method: Method, values: dict[str, Any]) -> None:
    parsed = parse_document(data, today=TODAY)
    assert (parsed.form_id, parsed.language, parsed.method) == (str(form_id), str(lang), method)
    assert parsed.errors == ()
    assert parsed.fields == _expected(form_id, values)


@pytest.mark.parametrize("lang", list(Lang))
@pytest.mark.parametrize("form_id", list(FormId))
class TestRoundTrip:
    @_SETTINGS
    @given(data=st.data())
    def test_acroform(self, form_id: FormId, lang: Lang, data: st.DataObject) -> None:
        values = data.draw(field_sets(form_id))
        _check(render_form(form_id, lang, values), form_id, lang, Method.ACROFORM, values)

    @_SETTINGS
    @given(data=st.data())
    def test_flattened_text(self, form_id: FormId, lang: Lang, data: st.DataObject) -> None:
        values = data.draw(field_sets(form_id))
        _check(render_form(form_id, lang, values, flatten=True, signed=True), form_id, lang, Method.TEXT, values)


@pytest.mark.parametrize("lang", list(Lang))
@_SETTINGS
@given(data=st.data())
def test_xlsx_user_fiche(lang: Lang, data: st.DataObject) -> None:
    values = data.draw(field_sets(FormId.USR))
    _check(write_user_fiche_xlsx(values, lang=lang), FormId.USR, lang, Method.XLSX, values)


@_SETTINGS
@given(data=st.data())
def test_validate_accepts_its_own_output(data: st.DataObject) -> None:
    # the review queue re-validates normalised fields with one value corrected: that must be a no-op
    for form_id in FormId:
        fields = _expected(form_id, data.draw(field_sets(form_id)))
        again, errors, _ = validate(form_id, fields, today=TODAY)
        assert errors == []
        assert again == fields
