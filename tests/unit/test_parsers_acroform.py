"""AcroForm reading: tick boxes and radios against each field's own on-states, as other tools save them."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers import parse_document
from extranet_intake.parsers.result import ACTIVE_CONTENT_CODES, Method, ParsedForm
from tests.fixtures.forms import TODAY, valid_values

Fields = dict[str, DictionaryObject]


def _edit(pdf: bytes, change: Callable[[Fields, PdfWriter], None]) -> bytes:
    """Edit a rendered form the way another PDF tool would have saved it."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    acro = writer._root_object["/AcroForm"]
    fields = {str(f.get_object()["/T"]): f.get_object() for f in acro["/Fields"]}
    change(fields, writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _rename_state(widget: DictionaryObject, old: str, new: str) -> None:
    for key in ("/N", "/D", "/R"):
        states = widget["/AP"].get(key)
        if states is not None and old in states:
            states[NameObject(new)] = states.pop(old)
    if widget.get("/AS") == old:
        widget[NameObject("/AS")] = NameObject(new)


def _agreement(ticked: bool = True) -> bytes:
    return render_form("EAP-AGR", "fr", valid_values("EAP-AGR", "fr", accept_terms=ticked))


def _user(**overrides: object) -> bytes:
    return render_form("EAP-USR", "nl", valid_values("EAP-USR", "nl", **overrides))


def _parse(pdf: bytes) -> ParsedForm:
    parsed = parse_document(pdf, today=TODAY)
    assert parsed.method is Method.ACROFORM, parsed
    return parsed


def test_rendered_form_reads_back() -> None:
    parsed = _parse(_agreement())
    assert parsed.ok, parsed.errors
    assert parsed.fields["accept_terms"] is True
    assert parsed.fields["org_enterprise_number"] == "0644695949"
    assert (parsed.form_id, parsed.version, parsed.language) == ("EAP-AGR", "2026.1", "fr")


@pytest.mark.parametrize("state", ["/1", "/Ja", "/Oui", "/On", "/Yes"])
def test_checkbox_with_its_own_on_state(state: str) -> None:
    def change(fields: Fields, _: PdfWriter) -> None:
        box = fields["accept_terms"]
        _rename_state(box, "/Yes", state)
        box[NameObject("/V")] = NameObject(state)

    parsed = _parse(_edit(_agreement(), change))
    assert parsed.fields["accept_terms"] is True
    assert parsed.ok


@pytest.mark.parametrize("state", ["/1", "/Ja", "/Oui"])
def test_unticked_checkbox_with_own_on_state_is_not_ticked(state: str) -> None:
    def change(fields: Fields, _: PdfWriter) -> None:
        _rename_state(fields["accept_terms"], "/Yes", state)

    parsed = _parse(_edit(_agreement(ticked=False), change))
    assert parsed.fields["accept_terms"] is False
    assert [e.code for e in parsed.errors] == ["terms-not-accepted"]


def test_checkbox_value_naming_a_state_it_lacks_follows_the_appearance() -> None:
    # /V /Yes on a box whose only on-state is /Ja, showing /Off: a viewer shows it blank
    def change(fields: Fields, _: PdfWriter) -> None:
        box = fields["accept_terms"]
        _rename_state(box, "/Yes", "/Ja")
        box[NameObject("/AS")] = NameObject("/Off")
        box[NameObject("/V")] = NameObject("/Yes")

    assert _parse(_edit(_agreement(), change)).fields["accept_terms"] is False


def test_checkbox_appearance_only() -> None:
    def change(fields: Fields, _: PdfWriter) -> None:
        box = fields["accept_terms"]
        _rename_state(box, "/Yes", "/Oui")
        del box["/V"]
        box[NameObject("/AS")] = NameObject("/Oui")

    assert _parse(_edit(_agreement(ticked=False), change)).fields["accept_terms"] is True


def test_need_appearances_without_appearance_streams() -> None:
    # a tool that writes only values and asks the viewer to draw them
    def change(fields: Fields, writer: PdfWriter) -> None:
        writer._root_object["/AcroForm"][NameObject("/NeedAppearances")] = BooleanObject(True)
        box = fields["accept_terms"]
        del box["/AP"]
        del box["/AS"]
        box[NameObject("/V")] = NameObject("/1")
        lang = fields["correspondence_language"]
        lang[NameObject("/V")] = NameObject("/nl")
        for kid in lang["/Kids"]:
            kid.get_object().pop("/AS", None)

    parsed = _parse(_edit(_agreement(ticked=False), change))
    assert parsed.fields["accept_terms"] is True
    assert parsed.fields["correspondence_language"] == "nl"


def test_radio_appearance_only() -> None:
    def change(fields: Fields, _: PdfWriter) -> None:
        group = fields["action"]
        del group["/V"]
        for kid in group["/Kids"]:
            widget = kid.get_object()
            on = next(k for k in widget["/AP"]["/N"] if k != "/Off")
            widget[NameObject("/AS")] = NameObject(on if on == "/revoke" else "/Off")

    assert _parse(_edit(_user(action="new"), change)).fields["action"] == "revoke"


def test_radio_with_opt_index_states() -> None:
    # states /0 /1 /2 with the export values in /Opt (what several editors write)
    def change(fields: Fields, _: PdfWriter) -> None:
        group = fields["profile"]
        group[NameObject("/Opt")] = ArrayObject([TextStringObject("consult"), TextStringObject("consult_input")])
        for i, kid in enumerate(group["/Kids"]):
            widget = kid.get_object()
            on = next(k for k in widget["/AP"]["/N"] if k != "/Off")
            _rename_state(widget, on, f"/{i}")
        group[NameObject("/V")] = NameObject("/1")

    assert _parse(_edit(_user(profile="consult"), change)).fields["profile"] == "consult_input"


@pytest.mark.parametrize("names", [("/1", "/2", "/3"), ("/Ja", "/Oui", "/Choice3")])
def test_radio_with_tool_named_states_reads_by_place(names: tuple[str, ...]) -> None:
    def change(fields: Fields, _: PdfWriter) -> None:
        group = fields["action"]
        for kid, name in zip(group["/Kids"], names, strict=True):
            widget = kid.get_object()
            on = next(k for k in widget["/AP"]["/N"] if k != "/Off")
            _rename_state(widget, on, name)
        group[NameObject("/V")] = NameObject(names[1])

    assert _parse(_edit(_user(action="new"), change)).fields["action"] == "modify"


def test_text_field_holding_the_machine_value_for_a_choice() -> None:
    def change(fields: Fields, _: PdfWriter) -> None:
        group = fields["user_type"]
        group[NameObject("/FT")] = NameObject("/Tx")
        group[NameObject("/Ff")] = NumberObject(0)
        group[NameObject("/V")] = TextStringObject(" External ")

    parsed = _parse(_edit(_user(user_type="internal"), change))
    assert parsed.fields["user_type"] == "external"
    assert "external-company-required" in [e.code for e in parsed.errors]


def test_unticked_radio_group_is_a_missing_required_field() -> None:
    parsed = _parse(_user(profile=None))
    assert "profile" not in parsed.fields
    assert [(e.code, e.field) for e in parsed.errors] == [("field-required", "profile")]


def test_hierarchical_names_from_other_tools() -> None:
    # org_name moved under a parent "page1" (tools write "page1.org_name")
    def change(fields: Fields, writer: PdfWriter) -> None:
        acro = writer._root_object["/AcroForm"]
        org = fields["org_name"]
        ref = next(r for r in acro["/Fields"] if r.get_object() is org)
        parent = DictionaryObject(
            {NameObject("/T"): TextStringObject("page1"), NameObject("/Kids"): ArrayObject([ref])}
        )
        parent_ref = writer._add_object(parent)
        org[NameObject("/Parent")] = parent_ref
        acro["/Fields"][acro["/Fields"].index(ref)] = parent_ref
        org[NameObject("/V")] = TextStringObject("Moved NV")

    assert _parse(_edit(_agreement(), change)).fields["org_name"] == "Moved NV"


def test_hidden_ids_dropped_by_a_tool_are_classified_by_the_printed_footer() -> None:
    def change(fields: Fields, writer: PdfWriter) -> None:
        acro = writer._root_object["/AcroForm"]
        acro[NameObject("/Fields")] = ArrayObject(
            r for r in acro["/Fields"] if r.get_object()["/T"] not in ("form_id", "form_version", "form_lang")
        )

    parsed = _parse(_edit(_user(), change))
    assert (parsed.form_id, parsed.language) == ("EAP-USR", "nl")
    assert parsed.ok, parsed.errors


def test_unsupported_version_in_hidden_fields() -> None:
    def change(fields: Fields, _: PdfWriter) -> None:
        fields["form_version"][NameObject("/V")] = TextStringObject("2024.2")

    parsed = parse_document(_edit(_user(), change), today=TODAY)
    assert parsed.rejected
    assert parsed.errors[0].code == "unsupported-version"


def test_owner_password_only_is_read_normally() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_agreement())))
    writer.encrypt(user_password="", owner_password="insurer-permissions", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    parsed = _parse(out.getvalue())
    assert parsed.ok, parsed.errors
    assert parsed.fields["accept_terms"] is True


def test_user_password_is_rejected() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_agreement())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    parsed = parse_document(out.getvalue(), today=TODAY)
    assert parsed.rejected
    assert parsed.errors[0].code == "pdf-encrypted"


def test_javascript_is_a_warning_and_never_run() -> None:
    def change(fields: Fields, writer: PdfWriter) -> None:
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('hi');")}
        )
        fields["org_name"][NameObject("/AA")] = DictionaryObject(
            {
                NameObject("/K"): DictionaryObject(
                    {
                        NameObject("/S"): NameObject("/JavaScript"),
                        NameObject("/JS"): TextStringObject("event.value='x'"),
                    }
                )
            }
        )

    parsed = _parse(_edit(_agreement(), change))
    assert parsed.ok
    assert [w.code for w in parsed.warnings] == ["pdf-javascript-ignored"]


def test_embedded_files_are_a_warning_and_never_extracted() -> None:
    def change(_: Fields, writer: PdfWriter) -> None:
        writer.add_attachment("payload.exe", b"MZ" + b"\0" * 64)

    parsed = _parse(_edit(_agreement(), change))
    assert parsed.ok
    assert [w.code for w in parsed.warnings] == ["pdf-embedded-files-ignored"]


def test_a_launch_action_is_its_own_warning_and_never_run() -> None:
    # issue 13.6: the reason must say what the PDF carries, in words: a launch is not JavaScript
    def change(fields: Fields, _: PdfWriter) -> None:
        fields["org_name"][NameObject("/A")] = DictionaryObject(
            {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")}
        )

    parsed = _parse(_edit(_agreement(), change))
    assert parsed.ok
    assert [w.code for w in parsed.warnings] == ["pdf-launch-action-ignored"]
    assert "launch" in parsed.warnings[0].message


def test_an_xfa_form_is_a_warning_and_only_the_acroform_fields_are_read() -> None:
    def change(_: Fields, writer: PdfWriter) -> None:
        writer._root_object["/AcroForm"][NameObject("/XFA")] = ArrayObject(
            [TextStringObject("template"), TextStringObject("<template/>")]
        )

    parsed = _parse(_edit(_agreement(), change))
    assert parsed.ok
    assert [w.code for w in parsed.warnings] == ["pdf-xfa-ignored"]
    assert "XFA" in parsed.warnings[0].message


def test_active_content_warnings_are_the_codes_that_need_a_person() -> None:
    assert {
        "pdf-javascript-ignored",
        "pdf-launch-action-ignored",
        "pdf-embedded-files-ignored",
        "pdf-xfa-ignored",
    } == ACTIVE_CONTENT_CODES
