"""``extranet-intake parse --json`` shows the verdict on each digital signature, with the configured roots."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.intake.cli import main
from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers.signatures import check_signatures
from extranet_intake.provisioning.service import process_form
from tests.fixtures.forms import TODAY, valid_values
from tests.fixtures.pki import Pki, change_field_revision, sign_pdf
from tests.fixtures.provisioning import agr, clock, prov

CLI = [sys.executable, "-c", "import sys; from extranet_intake.intake.cli import main; sys.exit(main())"]


def _parse(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "parse", *map(str, args), "--today", TODAY.isoformat()],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )


def test_parse_json_shows_signature_verdicts(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "root.pem").write_bytes(pki.root.pem)
    config = tmp_path / "extranet_intake.intake.toml"
    config.write_text('[signatures]\ntrusted_roots = ["roots/root.pem"]\n', encoding="utf-8")
    agr = render_form("EAP-AGR", "nl", valid_values("EAP-AGR"))
    marie = pki.person("Marie Dupont")
    good = sign_pdf(agr, marie)
    (tmp_path / "good.pdf").write_bytes(good)
    (tmp_path / "changed.pdf").write_bytes(change_field_revision(good, "signatory_name", "Jan Peeters"))
    (tmp_path / "rogue.pdf").write_bytes(sign_pdf(agr, pki.person("Marie Dupont", untrusted=True)))
    (tmp_path / "unsigned.pdf").write_bytes(agr)

    proc = _parse("good.pdf", "changed.pdf", "rogue.pdf", "unsigned.pdf", "--json", "--config", config, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    good_doc, changed_doc, rogue_doc, unsigned_doc = json.loads(proc.stdout)

    (v,) = good_doc["signatures"]
    assert (v["signer"], v["intact"], v["covers_whole_file"], v["trusted"], v["name_matches"], v["ok"]) == (
        "Marie Dupont",
        True,
        True,
        True,
        True,
        True,
    )
    assert v["serial"] == format(marie.cert.serial_number, "X")
    assert "Test Citizen CA" in v["issuer"]
    assert good_doc["warnings"] == []

    (v,) = changed_doc["signatures"]
    assert v["changed_fields"] == [{"field": "signatory_name", "signed": "Marie Dupont", "read": "Jan Peeters"}]
    # the form now names someone else than the signer: both problems, in words
    assert [p["code"] for p in v["problems"]] == ["signature-modified-after-signing", "signature-name-mismatch"]
    assert [w["code"] for w in changed_doc["warnings"]] == [p["code"] for p in v["problems"]]

    (v,) = rogue_doc["signatures"]
    assert (v["trusted"], [p["code"] for p in v["problems"]]) == (False, ["signature-untrusted"])
    assert "Rogue Root CA" in v["issuer"]

    assert unsigned_doc["signatures"] == []

    human = _parse("changed.pdf", "--config", config, cwd=tmp_path)
    assert "signature signature: by Marie Dupont" in human.stdout
    assert "signature-modified-after-signing" in human.stdout


def test_unreadable_root_stops_with_a_coded_error(tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_text("not a certificate", encoding="utf-8")
    config = tmp_path / "extranet_intake.intake.toml"
    config.write_text('[signatures]\ntrusted_roots = ["root.pem"]\n', encoding="utf-8")
    (tmp_path / "a.pdf").write_bytes(render_form("EAP-AGR", "nl", valid_values("EAP-AGR")))
    proc = _parse("a.pdf", "--config", config, cwd=tmp_path)
    assert proc.returncode == 2
    assert "signatures-root-unreadable" in proc.stderr + proc.stdout


def test_review_show_lists_the_signature_verdict(
    capsys: pytest.CaptureFixture[str], db_url: str, engine: sa.Engine, pki: Pki, tmp_path: Path
) -> None:
    pdf = render_form("EAP-AGR", "nl", valid_values("EAP-AGR"))
    signed = sign_pdf(pdf, pki.person("Jan Peeters"))
    verdicts = check_signatures(signed, [pki.root.pem], expected_name="Piet Acme")
    form = dataclasses.replace(agr(), signatures=verdicts, warnings=tuple(p for v in verdicts for p in v.problems))
    with Session(engine) as session:
        process_form(session, form, prov(form), clock=clock)
        session.commit()
    cfg = tmp_path / "extranet_intake.intake.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")

    assert main(["review", "show", "1", "-c", str(cfg), "--json"]) == 0
    item = json.loads(capsys.readouterr().out)
    assert item["reasons"] == ["signature-name-mismatch", "human-approval-required"]
    assert [(v["signer"], v["trusted"], v["name_matches"]) for v in item["signatures"]] == [
        ("Jan Peeters", True, False)
    ]
    assert main(["review", "show", "1", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "signature signature: by Jan Peeters" in out
    assert "name matches=no" in out
    # people read the reason's words, not its code (the table may wrap them)
    assert "Signer is not the" in out
    assert "signature-name-mismatch" not in out.split("via")[0]
