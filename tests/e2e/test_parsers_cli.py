"""``extranet-intake parse`` as a user runs it: output, JSON, exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from extranet_intake.intake.form_pdf import render_form
from samplekit.xlsx_fiche import write_user_fiche_xlsx
from tests.fixtures.forms import TODAY, valid_values

CLI = [sys.executable, "-c", "import sys; from extranet_intake.intake.cli import main; sys.exit(main())"]


def _run(*args: str | Path, cwd: Path, today: str = TODAY.isoformat()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "parse", *map(str, args), "--today", today],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "usr.pdf": render_form("EAP-USR", "fr", valid_values("EAP-USR", "fr")),
        "agr-flat.pdf": render_form("EAP-AGR", "nl", valid_values("EAP-AGR", "nl"), flatten=True, signed=True),
        "usr.xlsx": write_user_fiche_xlsx(valid_values("EAP-USR", "nl"), lang="nl"),
        "bad.pdf": render_form("EAP-MU", "nl", valid_values("EAP-MU", "nl", org_enterprise_number="0644695948")),
        "renamed.pdf": b"GIF89a not a pdf at all",
    }
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in made}


def test_valid_documents_exit_0_with_normalised_fields(files: dict[str, Path], tmp_path: Path) -> None:
    proc = _run(files["usr.pdf"], files["agr-flat.pdf"], files["usr.xlsx"], "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert [(d["form_id"], d["language"], d["method"], d["outcome"]) for d in docs] == [
        ("EAP-USR", "fr", "acroform", "valid"),
        ("EAP-AGR", "nl", "text", "valid"),
        ("EAP-USR", "nl", "xlsx", "valid"),
    ]
    usr = docs[0]
    assert usr["version"] == "2026.1"
    assert usr["fields"]["org_enterprise_number"] == "0644695949"
    assert usr["fields"]["signed_date"] == "2026-06-12"
    assert usr["fields"]["contracts"] == ["GA-104512", "GA-104513"]
    assert usr["errors"] == []
    assert usr["warnings"] == []


def test_invalid_or_rejected_exit_1_with_coded_issues(files: dict[str, Path], tmp_path: Path) -> None:
    proc = _run(files["usr.pdf"], files["bad.pdf"], files["renamed.pdf"], "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    docs = json.loads(proc.stdout)
    assert [d["outcome"] for d in docs] == ["valid", "invalid", "rejected"]
    assert docs[1]["errors"] == [
        {
            "code": "enterprise-number-checksum",
            "field": "org_enterprise_number",
            "message": "enterprise number '0644695948' fails the mod-97 check",
        }
    ]
    assert docs[2]["errors"][0]["code"] == "unsupported-type"


def test_human_output_names_each_document(files: dict[str, Path], tmp_path: Path) -> None:
    proc = _run(files["bad.pdf"], cwd=tmp_path)
    assert proc.returncode == 1
    assert "EAP-MU" in proc.stdout
    assert "acroform" in proc.stdout
    assert "enterprise-number-checksum" in proc.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert _run(tmp_path / "missing.pdf", cwd=tmp_path).returncode == 2
    proc = subprocess.run(
        [*CLI, "parse"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2


def test_active_content_is_listed_in_the_json_warnings(tmp_path: Path) -> None:
    # issue 13.6: JavaScript, a launch action, embedded files and XFA each appear, in words
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(render_form("EAP-USR", "nl", valid_values("EAP-USR", "nl")))))
    root = writer._root_object
    root[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    root["/AcroForm"][NameObject("/XFA")] = ArrayObject([TextStringObject("template"), TextStringObject("<t/>")])
    first = root["/AcroForm"]["/Fields"][0].get_object()
    first[NameObject("/A")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")}
    )
    writer.add_attachment("payload.exe", b"MZ")
    out = io.BytesIO()
    writer.write(out)
    (tmp_path / "active.pdf").write_bytes(out.getvalue())
    proc = _run(tmp_path / "active.pdf", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [doc] = json.loads(proc.stdout)
    warnings = {w["code"]: w["message"] for w in doc["warnings"]}
    assert set(warnings) == {
        "pdf-javascript-ignored",
        "pdf-launch-action-ignored",
        "pdf-embedded-files-ignored",
        "pdf-xfa-ignored",
    }
    assert all(message for message in warnings.values())


def test_a_stack_is_read_as_the_run_reads_it_one_result_per_form(tmp_path: Path) -> None:
    stacks = Path(__file__).resolve().parents[2] / "samples" / "stacks"
    manifest = json.loads((stacks / "manifest.json").read_text(encoding="utf-8"))
    wanted = {s["file"]: s for s in manifest["stacks"][:2]}  # a scan with a blank and an upside-down page
    proc = _run(*(stacks / f for f in wanted), "--json", cwd=tmp_path, today=manifest["today"])
    results = json.loads(proc.stdout)
    for name, stack in wanted.items():
        got = [r for r in results if Path(r["file"]).name == name]
        assert [(r["pages"], r["form_id"]) for r in got] == [(p["pages"], p["form_id"]) for p in stack["parts"]]
        for r, part in zip(got, stack["parts"], strict=True):
            if part["kind"] == "form":
                assert r["outcome"] == "valid", (name, r["pages"], r["errors"])
            else:  # a page holding no form: refused with its code, never dropped
                assert r["outcome"] == "rejected"
                assert r["errors"][0]["code"] in ("stack-blank-page", "stack-page-without-form")
    assert proc.returncode == 1  # the blank page is refused
