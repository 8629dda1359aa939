"""Stacks of forms in one PDF (issue 13.1), the pure part: pages classified by their text layer, parts cut.

The scanned stacks (OCR of the footer, a page upside down) are in tests/integration/test_stack_pipeline.py.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from extranet_intake.errors import ParseError
from extranet_intake.parsers.document import parse_document
from extranet_intake.parsers.stack import MAX_STACK_PAGES, PageKind, split_stack
from samplekit.scans import StackKind, make_stack, stack_specs

STACKS = Path(__file__).resolve().parents[2] / "samples" / "stacks"
TODAY = date(2026, 11, 20)


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((STACKS / "manifest.json").read_text(encoding="utf-8"))
    return data


def _want(entry: dict[str, Any]) -> list[tuple[str, str, str | None, bool]]:
    return [(p["pages"], p["kind"], p["form_id"], p["rotated"]) for p in entry["parts"]]


@pytest.mark.parametrize("name", ["stack-03-flat-mixed.pdf", "stack-04-fillable.pdf"])
def test_text_layer_stacks_split_as_the_manifest_says(name: str) -> None:
    entry = next(e for e in _manifest()["stacks"] if e["file"] == name)
    parts = split_stack((STACKS / name).read_bytes())
    assert [(p.pages, p.kind.value, p.form_id, p.rotated) for p in parts] == _want(entry)
    for part, want in zip(parts, entry["parts"], strict=True):
        parsed = parse_document(part.data, today=TODAY)
        assert len(PdfReader(io.BytesIO(part.data)).pages) == 1
        if want["kind"] == "form":
            # each part is read as its own form, in its own language
            assert (parsed.form_id, parsed.language) == (want["form_id"], want["lang"])
        else:
            assert part.stray_code == "stack-blank-page"


def test_fillable_parts_keep_their_own_values() -> None:
    parts = split_stack((STACKS / "stack-04-fillable.pdf").read_bytes())
    users = [parse_document(p.data, today=TODAY) for p in parts if p.form_id == "EAP-USR"]
    assert [u.method for u in users] == ["acroform", "acroform"]
    assert users[0].fields["user_email"] != users[1].fields["user_email"]


def test_no_stack_is_parsed_as_it_is() -> None:
    one = (STACKS / "stack-03-flat-mixed.pdf").read_bytes()
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(one)), pages=[0])
    buf = io.BytesIO()
    writer.write(buf)
    assert split_stack(buf.getvalue()) == []  # one page
    assert split_stack(b"PK\x03\x04 not a pdf") == []
    assert split_stack(b"%PDF-1.7 broken") == []  # the parser says what is wrong with it


def test_a_form_and_a_page_of_something_else_are_two_parts() -> None:
    one = (STACKS / "stack-03-flat-mixed.pdf").read_bytes()
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(one)), pages=[0])
    writer.append(PdfReader(io.BytesIO(_letter_pdf())))
    buf = io.BytesIO()
    writer.write(buf)
    parts = split_stack(buf.getvalue())
    assert [(p.pages, p.kind) for p in parts] == [("1", PageKind.FORM), ("2", PageKind.UNKNOWN)]
    assert parts[1].stray_code == "stack-page-without-form"


def _letter_pdf() -> bytes:
    """A page with text but no form footer: a covering letter."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 842))
    c.drawString(72, 770, "Beste, in bijlage onze formulieren. Met vriendelijke groeten.")
    c.save()
    return buf.getvalue()


def test_a_stack_too_long_is_refused_with_a_code() -> None:
    writer = PdfWriter()
    for _ in range(MAX_STACK_PAGES + 1):
        writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(ParseError) as err:
        split_stack(buf.getvalue())
    assert err.value.code == "stack-too-many-pages"


def test_committed_text_layer_stacks_are_what_the_generator_builds() -> None:
    """(The scanned ones take seconds to build: tests/integration checks them.)"""
    entries = {e["file"]: e for e in _manifest()["stacks"]}
    for spec in stack_specs():
        if spec.kind is StackKind.SCAN:
            continue
        data, entry = make_stack(spec, today=TODAY)
        assert (STACKS / entry["file"]).read_bytes() == data, "samples/stacks is stale: python -m samplekit stacks"
        assert entries[entry["file"]] == entry
    kinds = {e["kind"] for e in entries.values()}
    assert kinds == {"scan", "flat", "fillable"}
    assert any(p["kind"] == "blank" for e in entries.values() for p in e["parts"])
    assert any(p["rotated"] for e in entries.values() for p in e["parts"])
    assert {p["lang"] for e in entries.values() for p in e["parts"] if p["lang"]} == {"nl", "fr"}
